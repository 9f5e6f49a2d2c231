package gcsauth

import (
	"log/slog"
	"net/http"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/cspipe/cspipe/infra/local/iam"
)

// TestAnonymousIsTheLocalOperator: Google's client in emulator mode (STORAGE_EMULATOR_HOST,
// no options) sends no credentials; the front treats it as the configured principal, with
// exactly that principal's grants.
func TestAnonymousIsTheLocalOperator(t *testing.T) {
	ids, err := iam.New(iam.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ids.Close)
	operator := iam.User("operator@secundus.example")
	s, err := New(ids, Options{AnonymousPrincipal: operator})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.CreateBucket("input")
	s.CreateBucket("models")
	if err := ids.SetBucketRoles("input", operator, "roles/storage.objectAdmin"); err != nil {
		t.Fatal(err)
	}
	owner := iam.User("primus@primus.example")
	if err := ids.SetBucketRoles("models", owner, "roles/storage.objectAdmin"); err != nil {
		t.Fatal(err)
	}
	if _, err := write(t.Context(), client(t, s, ids, owner).Bucket("models").Object("model.tar.gz"), []byte("model"), 0); err != nil {
		t.Fatal(err)
	}

	t.Setenv("STORAGE_EMULATOR_HOST", s.URL())
	c, err := storage.NewClient(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()
	if _, err := write(ctx, c.Bucket("input").Object("photos/a.jpg"), []byte("jpeg"), 0); err != nil {
		t.Fatalf("operator upload: %v", err)
	}
	if got, err := read(ctx, c.Bucket("input").Object("photos/a.jpg")); err != nil || string(got) != "jpeg" {
		t.Fatalf("operator read = %q, %v", got, err)
	}
	_, err = read(ctx, c.Bucket("models").Object("model.tar.gz"))
	wantCode(t, "operator reads the model", err, http.StatusForbidden, "operator@secundus.example does not have storage.objects.get access")
	_, err = write(ctx, c.Bucket("models").Object("model.tar.gz"), []byte("evil"), 0)
	wantCode(t, "operator overwrites the model", err, http.StatusForbidden, "storage.objects.create")
	_, err = c.Bucket("no-such-bucket").Object("x").Attrs(ctx)
	wantCode(t, "missing bucket", err, http.StatusNotFound, "The specified bucket does not exist.")
	// A malformed Authorization header is not anonymous.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/storage/v1/b/input/o", nil)
	req.Header.Set("Authorization", "Basic Zm9vOmJhcg==")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Basic credentials: status %d, want 401", resp.StatusCode)
	}
}

// TestJSONWithoutPrefix: /b/BUCKET/o is the JSON API (no bucket is named "b").
func TestJSONWithoutPrefix(t *testing.T) {
	s, ids := setup(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+"/b/models/o", nil)
	req.Header.Set("Authorization", "Bearer "+ids.MintAccessToken(owner))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") == "" || resp.Header.Get("Content-Type")[:16] != "application/json" {
		t.Errorf("GET /b/models/o: status %d, content type %q; want 200 JSON", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestObjectReads: the read counter counts successful reads by non-admin callers only.
func TestObjectReads(t *testing.T) {
	s, ids := setup(t)
	ctx := t.Context()
	own := client(t, s, ids, owner).Bucket("models")
	if _, err := write(ctx, own.Object("m/x.tar.gz"), []byte("model"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := read(ctx, own.Object("m/x.tar.gz")); err != nil {
		t.Fatal(err)
	}
	_, _ = read(ctx, client(t, s, ids, creator).Bucket("models").Object("m/x.tar.gz")) // refused
	if _, err := read(ctx, client(t, s, ids, admin).Bucket("models").Object("m/x.tar.gz")); err != nil {
		t.Fatal(err)
	}
	if n := s.ObjectReads("models", "m/x.tar.gz"); n != 1 {
		t.Errorf("ObjectReads = %d, want 1 (the owner's read only)", n)
	}
}
