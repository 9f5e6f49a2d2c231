package main

import (
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// `cspipe image build` (what `make image` runs): the digest is the last line, the same on a
// second build, and it is what the registry holds after --push.
func TestImageBuildPrintsReproducibleDigestAndPushes(t *testing.T) {
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	repo := strings.TrimPrefix(reg.URL, "http://") + "/primus/workload"
	layoutDir := filepath.Join(t.TempDir(), "layout")

	build := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), append([]string{"image", "build", "--module", "../.."}, args...), &stdout, &stderr); code != 0 {
			t.Fatalf("image build exited %d: %s", code, stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		last := lines[len(lines)-1]
		if !strings.HasPrefix(last, "sha256:") || len(last) != len("sha256:")+64 {
			t.Fatalf("last line %q is not a digest; output:\n%s", last, stdout.String())
		}
		return last
	}
	first := build("--push", repo+":t1", "--out", layoutDir)
	second := build()
	if first != second {
		t.Fatalf("two builds of the same source gave %s and %s", first, second)
	}
	ref, err := name.ParseReference(repo + ":t1")
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest.String() != first {
		t.Errorf("registry holds %s, the command printed %s", desc.Digest, first)
	}
	if _, err := os.Stat(filepath.Join(layoutDir, "index.json")); err != nil {
		t.Errorf("--out wrote no OCI layout: %v", err)
	}
	var stderr bytes.Buffer
	if code := run(t.Context(), []string{"image", "build", "--push", repo + ":t2", "--label", "tee.launch_policy.allow_cmd_override=true", "--module", "../.."}, io.Discard, &stderr); code == 0 {
		t.Error("a --label overriding a launch-policy label was accepted")
	}
}

// TestLocalTokenKeychain: CSPIPE_REGISTRY_TOKEN goes to loopback registries only, as Artifact
// Registry takes an access token.
func TestLocalTokenKeychain(t *testing.T) {
	k := localTokenKeychain{getenv: func(string) string { return "ya29.local-x" }}
	for _, tt := range []struct {
		ref  string
		want string
	}{
		{"127.0.0.1:5000/p/r/i:t", "oauth2accesstoken:ya29.local-x"},
		{"localhost:5000/p/r/i:t", "oauth2accesstoken:ya29.local-x"},
		{"us-docker.pkg.dev/p/r/i:t", ""},
	} {
		ref, err := name.ParseReference(tt.ref)
		if err != nil {
			t.Fatal(err)
		}
		a, err := k.Resolve(ref.Context())
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := a.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Username + ":" + cfg.Password; (tt.want == "" && cfg.Password != "") || (tt.want != "" && got != tt.want) {
			t.Errorf("%s: credentials %q, want %q", tt.ref, got, tt.want)
		}
	}
}
