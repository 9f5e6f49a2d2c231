package pin

import (
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cspipe/cspipe/internal/policy"
)

// TestRemoteRegistryResolves runs RemoteRegistry against go-containerregistry's registry: a
// pushed digest resolves, an absent one is ErrNotInRegistry, and a registry refusing the
// function's identity is a retryable error, not "absent".
func TestRemoteRegistryResolves(t *testing.T) {
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var denied bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if denied {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"DENIED","message":"denied"}]}`, http.StatusForbidden)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	repo := strings.TrimPrefix(srv.URL, "http://") + "/primus/workloads/inference"
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(repo + ":v1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	pushed, _ := policy.ParseDigest(d.String())
	absent, _ := policy.ParseDigest(digest(7))

	r := NewRemoteRegistry(remote.WithAuth(authn.Anonymous))
	if err := r.Resolve(t.Context(), repo, pushed); err != nil {
		t.Errorf("Resolve(pushed) = %v", err)
	}
	if err := r.Resolve(t.Context(), repo, absent); !errors.Is(err, ErrNotInRegistry) {
		t.Errorf("Resolve(absent) = %v, want ErrNotInRegistry", err)
	}
	if err := r.Resolve(t.Context(), repo+"-other", pushed); !errors.Is(err, ErrNotInRegistry) {
		t.Errorf("Resolve(pushed digest, other repository) = %v, want ErrNotInRegistry", err)
	}
	denied = true
	if err := r.Resolve(t.Context(), repo, pushed); err == nil || errors.Is(err, ErrNotInRegistry) {
		t.Errorf("Resolve() refused by the registry = %v, want a retryable error", err)
	}
}
