package gcsauth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/cspipe/cspipe/infra/local/iam"
	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
)

var (
	admin   = iam.User("stack-admin@local")
	owner   = iam.User("primus-admin@primus.example")
	reader  = iam.ServiceAccount("workload-sa@secundus.iam.gserviceaccount.com")
	creator = iam.ServiceAccount("uploader@secundus.iam.gserviceaccount.com")
)

func setup(t *testing.T) (*Server, *iam.Server) {
	t.Helper()
	ids, err := iam.New(iam.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ids.Close)
	s, err := New(ids, Options{AdminPrincipals: []string{admin}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.CreateBucket("models")
	s.CreateBucket("other")
	for member, role := range map[string]string{owner: "roles/storage.objectAdmin", reader: "roles/storage.objectViewer", creator: "roles/storage.objectCreator"} {
		if err := ids.SetBucketRoles("models", member, role); err != nil {
			t.Fatal(err)
		}
	}
	return s, ids
}

func client(t *testing.T, s *Server, ids *iam.Server, principal string) *storage.Client {
	t.Helper()
	c, err := storage.NewClient(t.Context(), option.WithEndpoint(s.JSONEndpoint()),
		option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: ids.MintAccessToken(principal)})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func write(ctx context.Context, o *storage.ObjectHandle, data []byte, chunk int) (*storage.ObjectAttrs, error) {
	w := o.NewWriter(ctx)
	w.ChunkSize = chunk
	if _, err := w.Write(data); err != nil {
		w.Close()
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return w.Attrs(), nil
}

func read(ctx context.Context, o *storage.ObjectHandle) ([]byte, error) {
	r, err := o.NewReader(ctx)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func wantCode(t *testing.T, what string, err error, code int, msg string) {
	t.Helper()
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != code {
		t.Errorf("%s: error %v, want HTTP %d", what, err, code)
		return
	}
	if msg != "" && !strings.Contains(err.Error(), msg) {
		t.Errorf("%s: error %q lacks %q", what, err, msg)
	}
}

func TestOwnerReadWriteListPreconditions(t *testing.T) {
	s, ids := setup(t)
	ctx := t.Context()
	c := client(t, s, ids, owner)
	o := c.Bucket("models").Object("pins/latest.json")
	a, err := write(ctx, o.If(storage.Conditions{DoesNotExist: true}), []byte("v1"), 0)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := write(ctx, o.If(storage.Conditions{GenerationMatch: a.Generation}), []byte("v2"), 0); err != nil {
		t.Fatalf("compare-and-swap: %v", err)
	}
	_, err = write(ctx, o.If(storage.Conditions{GenerationMatch: a.Generation}), []byte("v3"), 0)
	wantCode(t, "stale generation", err, http.StatusPreconditionFailed, "")
	got, err := read(ctx, o)
	if err != nil || string(got) != "v2" {
		t.Fatalf("read = %q, %v; want v2", got, err)
	}
	it := c.Bucket("models").Objects(ctx, &storage.Query{Prefix: "pins/"})
	var names []string
	for {
		oa, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, oa.Name)
	}
	if len(names) != 1 || names[0] != "pins/latest.json" {
		t.Errorf("list = %v", names)
	}
	if err := o.Delete(ctx); err != nil {
		t.Errorf("delete: %v", err)
	}
}

func TestRolesEnforced(t *testing.T) {
	s, ids := setup(t)
	ctx := t.Context()
	own := client(t, s, ids, owner).Bucket("models")
	if _, err := write(ctx, own.Object("model.tar.gz"), []byte("model"), 0); err != nil {
		t.Fatal(err)
	}
	rd := client(t, s, ids, reader).Bucket("models")
	if got, err := read(ctx, rd.Object("model.tar.gz")); err != nil || string(got) != "model" {
		t.Errorf("viewer read = %q, %v", got, err)
	}
	if _, err := rd.Object("model.tar.gz").Attrs(ctx); err != nil {
		t.Errorf("viewer attrs: %v", err)
	}
	_, err := write(ctx, rd.Object("x"), []byte("x"), 0)
	wantCode(t, "viewer write", err, http.StatusForbidden, "workload-sa@secundus.iam.gserviceaccount.com does not have storage.objects.create access")
	wantCode(t, "viewer delete", rd.Object("model.tar.gz").Delete(ctx), http.StatusForbidden, "storage.objects.delete")

	cr := client(t, s, ids, creator).Bucket("models")
	if _, err := write(ctx, cr.Object("inputs/a.jpg"), []byte("a"), 0); err != nil {
		t.Errorf("creator create: %v", err)
	}
	_, err = write(ctx, cr.Object("model.tar.gz"), []byte("evil"), 0)
	wantCode(t, "creator overwrite", err, http.StatusForbidden, "does not have storage.objects.delete access")
	_, err = write(ctx, cr.Object("model.tar.gz").If(storage.Conditions{DoesNotExist: true}), []byte("evil"), 0)
	wantCode(t, "creator create-only onto an existing object", err, http.StatusPreconditionFailed, "")
	_, err = write(ctx, cr.Object("model.tar.gz").If(storage.Conditions{GenerationMatch: 1}), []byte("evil"), 0)
	wantCode(t, "creator overwrite with generation", err, http.StatusForbidden, "storage.objects.delete")
	_, err = read(ctx, cr.Object("model.tar.gz"))
	wantCode(t, "creator read", err, http.StatusForbidden, "storage.objects.get")
	if got, _ := read(ctx, own.Object("model.tar.gz")); string(got) != "model" {
		t.Errorf("model overwritten: %q", got)
	}
	// A large object goes through a resumable upload session (several chunks).
	big := bytes.Repeat([]byte("0123456789abcdef"), 40<<10) // 640 KiB
	if _, err := write(ctx, cr.Object("inputs/big.bin"), big, 256<<10); err != nil {
		t.Errorf("creator resumable upload: %v", err)
	}
	if got, _ := read(ctx, own.Object("inputs/big.bin")); !bytes.Equal(got, big) {
		t.Errorf("resumable upload content differs (%d bytes)", len(got))
	}
	// Roles on one bucket give nothing on another.
	_, err = read(ctx, client(t, s, ids, owner).Bucket("other").Object("x"))
	wantCode(t, "owner on other bucket", err, http.StatusForbidden, "")
	// Creating buckets is for admins only.
	err = client(t, s, ids, owner).Bucket("newbucket").Create(ctx, "primus", nil)
	wantCode(t, "owner creates bucket", err, http.StatusForbidden, "")
	if err := client(t, s, ids, admin).Bucket("newbucket").Create(ctx, "primus", nil); err != nil {
		t.Errorf("admin creates bucket: %v", err)
	}
}

func TestUnauthenticated(t *testing.T) {
	s, ids := setup(t)
	ctx := t.Context()
	anon, err := storage.NewClient(ctx, option.WithEndpoint(s.JSONEndpoint()), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	_, err = anon.Bucket("models").Object("x").Attrs(ctx)
	wantCode(t, "anonymous attrs", err, http.StatusUnauthorized, "Anonymous caller")
	forged, err := storage.NewClient(ctx, option.WithEndpoint(s.JSONEndpoint()),
		option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "ya29.forged"})))
	if err != nil {
		t.Fatal(err)
	}
	defer forged.Close()
	_, err = forged.Bucket("models").Object("x").Attrs(ctx)
	wantCode(t, "forged token", err, http.StatusUnauthorized, "Invalid Credentials")
	_ = ids
}

// TestEmulatorHostStyle uses STORAGE_EMULATOR_HOST, as a person would with `cspipe local up`.
// The client then turns authentication off, so the token travels through the HTTP client.
func TestEmulatorHostStyle(t *testing.T) {
	s, ids := setup(t)
	t.Setenv("STORAGE_EMULATOR_HOST", s.Host())
	ctx := t.Context()
	hc := oauth2.NewClient(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: ids.MintAccessToken(owner)}))
	c, err := storage.NewClient(ctx, option.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	o := c.Bucket("models").Object("labels.txt")
	if _, err := write(ctx, o.If(storage.Conditions{DoesNotExist: true}), []byte("cat\ndog\n"), 0); err != nil {
		t.Fatalf("write: %v", err)
	}
	if got, err := read(ctx, o); err != nil || string(got) != "cat\ndog\n" {
		t.Fatalf("read = %q, %v", got, err)
	}
	plain, err := storage.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	_, err = read(ctx, plain.Bucket("models").Object("labels.txt"))
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("tokenless emulator client read: %v, want 401", err)
	}
}

// TestVirtualHostRefused: fake-gcs-server would take the bucket from the Host header, which
// the front's path-based authorization does not look at, so such requests must not pass.
func TestVirtualHostRefused(t *testing.T) {
	s, ids := setup(t)
	if _, err := write(t.Context(), client(t, s, ids, owner).Bucket("models").Object("secret"), []byte("s"), 0); err != nil {
		t.Fatal(err)
	}
	// The attacker may list a bucket named like the object it wants.
	s.CreateBucket("secret")
	if err := ids.SetBucketRoles("secret", creator, "roles/storage.objectViewer"); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"models", "models." + s.Host(), "example.com"} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+"/secret", nil)
		req.Host = host
		req.Header.Set("Authorization", "Bearer "+ids.MintAccessToken(creator))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || bytes.Contains(body, []byte("s")) && len(body) == 1 {
			t.Errorf("Host %q: status %d body %q, want 400", host, resp.StatusCode, body)
		}
	}
}

// TestResumableBodyBucket: a resumable upload started on a permitted bucket must not name
// another bucket in its JSON body (fake-gcs-server would write there).
func TestResumableBodyBucket(t *testing.T) {
	s, ids := setup(t)
	if err := ids.SetBucketRoles("other", creator, "roles/storage.objectCreator"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		body string
		want int
	}{
		{`{"bucket":"models","name":"evil"}`, http.StatusBadRequest},
		{`{"bucket":"other","name":"fine"}`, http.StatusOK},
		{`{"name":"fine2"}`, http.StatusOK},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost,
			s.URL()+"/upload/storage/v1/b/other/o?uploadType=resumable", strings.NewReader(tt.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+ids.MintAccessToken(creator))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("body %s: status %d, want %d", tt.body, resp.StatusCode, tt.want)
		}
	}
}

// TestClassify: each route names the resource Cloud Storage checks: the object (for object
// methods, so an IAM Condition sees projects/_/buckets/B/objects/O) or the bucket (bucket methods
// and objects.list). Paths with literal slashes resolve to the object fake-gcs-server acts on.
func TestClassify(t *testing.T) {
	b := bucketCheck
	o := objectCheck
	get, list, create, del, update := iam.PermObjectsGet, iam.PermObjectsList, iam.PermObjectsCreate, iam.PermObjectsDelete, iam.PermObjectsUpdate
	tests := []struct {
		method, target, body string
		want                 []check
	}{
		{"GET", "/storage/v1/b/m/o", "", []check{b("m", list)}},
		{"GET", "/storage/v1/b/m/o/", "", []check{b("m", list)}},
		{"GET", "/storage/v1/b/m/o/a%2Fb.json", "", []check{o("m", "a/b.json", get)}},
		{"HEAD", "/storage/v1/b/m/o/a%2Facl", "", []check{o("m", "a/acl", get)}},
		{"DELETE", "/storage/v1/b/m/o/a", "", []check{o("m", "a", del)}},
		{"PATCH", "/storage/v1/b/m/o/a", "", []check{o("m", "a", update)}},
		// Literal slashes: the object is what fake-gcs-server's routes capture.
		{"GET", "/storage/v1/b/m/o/x/acl", "", []check{o("m", "x", get)}},
		{"GET", "/storage/v1/b/m/o/x/acl/allUsers", "", []check{o("m", "x", get)}},
		{"PATCH", "/storage/v1/b/m/o/x/acl", "", []check{o("m", "x/acl", update)}},
		{"DELETE", "/storage/v1/b/m/o/x/acl/e", "", []check{o("m", "x", update)}},
		{"DELETE", "/storage/v1/b/m/o/runs/a/b", "", []check{o("m", "runs/a/b", del)}},
		{"POST", "/storage/v1/b/src/o/a/rewriteTo/b/dst/o/b", "", []check{o("src", "a", get), o("dst", "b", create)}},
		{"POST", "/storage/v1/b/src/o/a/copyTo/b/x/o/y/copyTo/b/dst/o/z", "", []check{o("src", "a/copyTo/b/x/o/y", get), o("dst", "z", create)}},
		{"POST", "/storage/v1/b/m/o/out/compose", `{"sourceObjects":[{"name":"p1"},{"name":"p2"}]}`, []check{o("m", "p1", get), o("m", "p2", get), o("m", "out", create)}},
		{"GET", "/storage/v1/b/m", "", []check{b("m", iam.PermBucketsGet)}},
		{"POST", "/storage/v1/b/m/notificationConfigs", "", []check{b("m", iam.PermBucketsUpdate)}},
		{"POST", "/storage/v1/b?project=p", "", []check{b(adminOnly, "storage.buckets.list")}},
		{"POST", "/upload/storage/v1/b/m/o?uploadType=media&name=runs%2Fx", "", []check{o("m", "runs/x", create)}},
		{"POST", "/upload/storage/v1/b/m/o?uploadType=resumable", `{"name":"runs/y"}`, []check{o("m", "runs/y", create)}},
		{"GET", "/download/storage/v1/b/m/o/a", "", []check{o("m", "a", get)}},
		{"GET", "/m/a/b.jpg", "", []check{o("m", "a/b.jpg", get)}},
		{"PUT", "/m/a", "", []check{o("m", "a", create)}},
		{"DELETE", "/m/a", "", []check{o("m", "a", del)}},
		{"GET", "/m", "", []check{b("m", list)}},
		{"GET", "/m/", "", []check{b("m", list)}},
		{"POST", "/_internal/reseed", "", []check{b(adminOnly, "storage.admin")}},
		{"POST", "/batch/storage/v1", "", []check{b(adminOnly, "storage.admin")}},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
		if tt.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		asXMLPut(req) // as the handler does first
		rt := classify(req)
		if rt.problem != "" {
			t.Errorf("%s %s: problem %q", tt.method, tt.target, rt.problem)
		}
		if got := rt.checks; !slices.Equal(got, tt.want) {
			t.Errorf("%s %s: %v, want %v", tt.method, tt.target, got, tt.want)
		}
	}
	// Metadata the backend reads whatever the Content-Type says names the object checked.
	mp := "--b\r\nContent-Type: application/json\r\n\r\n{\"name\":\"evil\"}\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n"
	for _, tt := range []struct{ target, ct, body, want string }{
		{"/upload/storage/v1/b/m/o?uploadType=multipart", "text/plain; boundary=b", mp, "evil"},
		{"/upload/storage/v1/b/m/o?uploadType=resumable", "text/plain", `{"name":"evil"}`, "evil"},
		{"/upload/storage/v1/b/m/o?uploadType=resumable", "application/json", `{"name":"evil"} trailing`, "evil"},
		{"/upload/storage/v1/b/m/o?uploadType=resumable", "application/json-x", `{"bucket":"m","name":"evil"}`, "evil"},
	} {
		req := httptest.NewRequest("POST", tt.target, strings.NewReader(tt.body))
		req.Header.Set("Content-Type", tt.ct)
		rt := classify(req)
		if want := []check{o("m", tt.want, create)}; rt.problem != "" || !slices.Equal(rt.checks, want) {
			t.Errorf("%s (%s) %q: %v (problem %q), want %v", tt.target, tt.ct, tt.body, rt.checks, rt.problem, want)
		}
	}
	// Two different names for one upload are refused rather than guessed.
	req := httptest.NewRequest("POST", "/upload/storage/v1/b/m/o?uploadType=resumable&name=allowed", strings.NewReader(`{"bucket":"m","name":"other"}`))
	req.Header.Set("Content-Type", "application/json")
	if rt := classify(req); rt.problem == "" {
		t.Errorf("query name and body name differ: no problem reported (checks %v)", rt.checks)
	}
}
