package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/google"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cspipe/cspipe/internal/imagebuild"
)

func init() {
	register("image", "build the workload's reproducible OCI image (image build [--push REF] [--out DIR])", runImage)
}

// labelFlags collects repeated --label k=v flags.
type labelFlags map[string]string

func (l labelFlags) String() string { return fmt.Sprint(map[string]string(l)) }
func (l labelFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("label %q is not key=value", s)
	}
	l[k] = v
	return nil
}

func runImage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "build" {
		fmt.Fprintln(stderr, "usage: cspipe image build [--push REGISTRY/REPO/IMAGE[:tag]] [--out LAYOUT_DIR] [--variant V] [--label k=v]...")
		return exitError{code: 2}
	}
	fs := flag.NewFlagSet("image build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	push := fs.String("push", "", "push to this reference (tag defaults to latest; loopback registries use http)")
	out := fs.String("out", "", "also write the image to this OCI layout directory")
	variant := fs.String("variant", "", "build a marked variant with a different digest (e.g. the demo's unauthorized image)")
	module := fs.String("module", ".", "module root to build from")
	labels := labelFlags{}
	fs.Var(labels, "label", "extra image label key=value (repeatable; launch-policy labels cannot be overridden)")
	if err := fs.Parse(args[1:]); err != nil {
		return exitError{code: 2}
	}
	if fs.NArg() != 0 {
		return exitError{code: 2, msg: fmt.Sprintf("unexpected arguments %q", fs.Args())}
	}
	img, err := imagebuild.Build(ctx, imagebuild.Options{ModuleDir: *module, Variant: *variant, ExtraLabels: labels})
	if err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	if *out != "" {
		p, err := layout.FromPath(*out)
		if err != nil {
			if p, err = layout.Write(*out, empty.Index); err != nil {
				return fmt.Errorf("creating layout %s: %w", *out, err)
			}
		}
		if err := p.AppendImage(img); err != nil {
			return fmt.Errorf("writing layout %s: %w", *out, err)
		}
		fmt.Fprintf(stdout, "wrote %s\n", *out)
	}
	if *push != "" {
		ref, err := imagebuild.Push(ctx, img, *push, remote.WithAuthFromKeychain(pushKeychain))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "pushed %s\n", ref)
	}
	if d.String() == "" {
		return errors.New("image has no digest")
	}
	fmt.Fprintln(stdout, d.String()) // the last line, always
	return nil
}

// pushKeychain finds registry credentials: for a loopback registry (the local stack's), an
// access token in CSPIPE_REGISTRY_TOKEN; then a docker config (docker login, credential
// helpers), then Google's (gcloud, or the metadata server inside Cloud Build and on GCE), so that
// cloudbuild.yaml's Go step can push to Artifact Registry without a Docker daemon or helper.
var pushKeychain = authn.NewMultiKeychain(localTokenKeychain{getenv: os.Getenv}, authn.DefaultKeychain, google.Keychain)

// localTokenKeychain presents CSPIPE_REGISTRY_TOKEN (a local IAM access token, as `cspipe
// local up` writes to its environment file) to loopback registries only, the way Artifact
// Registry takes an access token: Basic auth with user oauth2accesstoken.
type localTokenKeychain struct{ getenv func(string) string }

func (k localTokenKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	tok := k.getenv("CSPIPE_REGISTRY_TOKEN")
	host, _, err := net.SplitHostPort(r.RegistryStr())
	if err != nil {
		host = r.RegistryStr()
	}
	if tok == "" || (host != "127.0.0.1" && host != "localhost" && host != "::1") {
		return authn.Anonymous, nil
	}
	return &authn.Basic{Username: "oauth2accesstoken", Password: tok}, nil
}
