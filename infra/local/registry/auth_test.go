package registry

import (
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"context"

	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestRepositoryIAM: pushes and pulls are authorized by repository IAM, through
// go-containerregistry's remote as a client; anonymous requests are refused, and a refused
// push publishes nothing.
func TestRepositoryIAM(t *testing.T) {
	ids, err := iam.New(iam.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ids.Close)
	var pushes atomic.Int32
	s, err := Start(Options{IAM: ids, Logger: discard(), Publish: func(context.Context, string, []byte) error { pushes.Add(1); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	builder := iam.ServiceAccount("build@primus.iam.gserviceaccount.com")
	vm := iam.ServiceAccount("workload-sa@secundus.iam.gserviceaccount.com")
	operator := iam.User("admin@secundus.example")
	repo := iam.RepositoryResource("primus", "us-central1", "workloads").Name
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ids.Grant(repo, builder, "roles/artifactregistry.writer"))
	must(ids.Grant(repo, vm, "roles/artifactregistry.reader"))
	must(ids.Grant(iam.RepositoryResource("secundus", "us-central1", "workloads").Name, operator, "roles/artifactregistry.writer"))
	as := func(p string) remote.Option {
		if p == "" {
			return remote.WithAuth(authn.Anonymous)
		}
		return remote.WithAuth(&authn.Basic{Username: "oauth2accesstoken", Password: ids.MintAccessToken(p)})
	}
	img, err := random.Image(256, 1)
	must(err)
	primus, _ := name.ParseReference(s.Repository("primus", "cspipe-workload") + ":latest")
	secundus, _ := name.ParseReference(s.Repository("secundus", "cspipe-workload") + ":latest")

	tests := []struct {
		name    string
		write   bool
		ref     name.Reference
		who     string
		wantErr string
	}{
		// A push starts with HEAD requests (no body to carry the message).
		{"anonymous push", true, primus, "", "401 Unauthorized"},
		{"operator pushes into Primus's repository", true, primus, operator, "403 Forbidden"},
		{"reader pushes", true, primus, vm, `Permission "artifactregistry.repositories.uploadArtifacts" denied`},
		{"builder pushes", true, primus, builder, ""},
		{"operator pushes its own", true, secundus, operator, ""},
		{"anonymous pull", false, primus, "", `Unauthenticated requests do not have permission "artifactregistry.repositories.downloadArtifacts"`},
		{"operator pulls Primus's", false, primus, operator, `Permission "artifactregistry.repositories.downloadArtifacts" denied`},
		{"VM pulls", false, primus, vm, ""},
	}
	for _, tt := range tests {
		var err error
		if tt.write {
			err = remote.Write(tt.ref, img, as(tt.who), remote.WithContext(t.Context()))
		} else {
			_, err = remote.Image(tt.ref, as(tt.who), remote.WithContext(t.Context()))
		}
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
		}
	}
	if n := pushes.Load(); n != 2 {
		t.Errorf("%d gcr notifications, want 2 (the allowed pushes only)", n)
	}
}
