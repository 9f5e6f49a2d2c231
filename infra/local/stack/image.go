package stack

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// OperatorEnv lists the env names the workload image lets the operator set (docs/contracts.md).
var OperatorEnv = []string{
	"CSPIPE_RUN_ID", "CSPIPE_SHARD_INDEX", "CSPIPE_SHARD_COUNT", "CSPIPE_INPUT_BUCKET",
	"CSPIPE_INPUT_PREFIX", "CSPIPE_BATCH_PREFIX", "CSPIPE_RESULTS_BUCKET", "CSPIPE_MODEL",
	"CSPIPE_MODEL_SHA256", "CSPIPE_WIP_PROVIDER", "CSPIPE_PRIMUS_SERVICE_ACCOUNT", "CSPIPE_STS_ENDPOINT",
	"CSPIPE_IAMCREDENTIALS_ENDPOINT", "CSPIPE_STORAGE_ENDPOINT", "CSPIPE_WORKERS", "CSPIPE_TOP_K",
}

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

// BuildWorkloadBinary compiles ./workload of the module at root into out as a static binary
// (CGO_ENABLED=0, -trimpath, no build id), with extra build tags if given.
func BuildWorkloadBinary(ctx context.Context, root, out string, tags ...string) error {
	args := []string{"build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	args = append(args, "./workload")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the workload: %w\n%s", err, out)
	}
	return nil
}

// WorkloadImage wraps a workload binary into a one-layer OCI image with the launch-policy labels
// of docs/contracts.md, fixed timestamps (same binary, same digest) and the given extra labels.
func WorkloadImage(binary []byte, extraLabels map[string]string) (v1.Image, error) {
	epoch := time.Unix(0, 0).UTC()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch},
		{Name: "app/workload", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(binary)), ModTime: epoch},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
	}
	if _, err := tw.Write(binary); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return nil, err
	}
	labels := map[string]string{
		"tee.launch_policy.allow_env_override": strings.Join(OperatorEnv, ","),
		"tee.launch_policy.log_redirect":       "always",
		"tee.launch_policy.allow_cmd_override": "false",
	}
	for k, v := range extraLabels {
		labels[k] = v
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", "amd64", v1.Time{Time: epoch}
	cf.Config.Entrypoint = []string{"/app/workload"}
	cf.Config.Labels = labels
	return mutate.ConfigFile(img, cf)
}

// Push writes img to repo:tag and returns its reference pinned by digest (repo@sha256:…).
func Push(ctx context.Context, img v1.Image, repo, tag string) (string, error) {
	ref, err := name.ParseReference(repo + ":" + tag)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return repo + "@" + d.String(), nil
}
