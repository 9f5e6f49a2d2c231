package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/cspipe/cspipe/internal/imagebuild"
)

// ModuleRoot finds the cspipe module root at or above dir.
func ModuleRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/cspipe/cspipe\n")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("stack: not inside the cspipe module (no go.mod naming github.com/cspipe/cspipe)")
		}
	}
}

// BuildWorkloadBinary compiles ./workload of the module at root into out, for this machine's
// architecture, with internal/imagebuild (the one builder: static, -trimpath, no build id, the
// build configuration `make run` shares), with extra build tags if given.
func BuildWorkloadBinary(ctx context.Context, root, out string, tags ...string) error {
	bin, err := imagebuild.Compile(ctx, imagebuild.Options{ModuleDir: root, GOARCH: runtime.GOARCH, Tags: tags})
	if err != nil {
		return fmt.Errorf("building the workload: %w", err)
	}
	return os.WriteFile(out, bin, 0o755)
}

// WorkloadImage wraps a workload binary into the same image `cspipe image build` makes
// (internal/imagebuild: one layer, launch-policy labels, fixed timestamps), with extra labels.
func WorkloadImage(binary []byte, extraLabels map[string]string) (v1.Image, error) {
	return imagebuild.Build(context.Background(), imagebuild.Options{Binary: binary, ExtraLabels: extraLabels})
}

// Push writes img to repo:tag with the given remote options (credentials) and returns its
// reference pinned by digest (repo@sha256:…).
func Push(ctx context.Context, img v1.Image, repo, tag string, opts ...remote.Option) (string, error) {
	ref, err := imagebuild.Push(ctx, img, repo+":"+tag, opts...)
	if err != nil {
		return "", err
	}
	return ref.String(), nil
}

// Push writes img to repo:tag as the party that owns repo (Cloud Build's account for Primus's
// repository, the local operator for any other) and returns its reference pinned by digest.
func (s *Stack) Push(ctx context.Context, img v1.Image, repo, tag string) (string, error) {
	who := iam.User(LocalOperator)
	if repo == s.PrimusRepository() {
		who = iam.ServiceAccount(PrimusBuildSA)
	}
	return s.PushAs(ctx, who, img, repo, tag)
}

// PushAs writes img to repo:tag with principal's access token.
func (s *Stack) PushAs(ctx context.Context, principal string, img v1.Image, repo, tag string) (string, error) {
	return Push(ctx, img, repo, tag, s.RegistryAuth(principal))
}

// RegistryAuth is the remote option that authenticates registry requests as principal (Basic
// with user oauth2accesstoken, as `docker login` does for Artifact Registry).
func (s *Stack) RegistryAuth(principal string) remote.Option {
	return remote.WithAuth(&authn.Basic{Username: "oauth2accesstoken", Password: s.IAM.MintAccessToken(principal)})
}
