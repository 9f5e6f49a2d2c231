package gcsauth

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/fsouza/fake-gcs-server/fakestorage"
)

const secret = "s3cr3t-model-bytes"

// hostile is a storage front with a victim bucket (models) that the attacker cannot touch and
// an attacker bucket it fully controls, on the memory or the filesystem backend.
type hostile struct {
	s     *Server
	root  string // "" for the memory backend
	token string
	seen  map[string]bool // files under root before the attack
}

func newHostile(t testing.TB, onDisk bool) *hostile {
	t.Helper()
	ids, err := iam.New(iam.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ids.Close)
	h := &hostile{}
	opts := Options{}
	if onDisk {
		h.root = filepath.Join(t.TempDir(), "gcs")
		if err := os.MkdirAll(h.root, 0o755); err != nil {
			t.Fatal(err)
		}
		opts.StorageRoot = h.root
	}
	if h.s, err = New(ids, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.s.Close)
	for _, b := range []string{"models", "attacker"} {
		h.s.CreateBucket(b)
	}
	for _, name := range []string{"secret", "pins/latest.json"} {
		h.s.Fake().CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "models", Name: name}, Content: []byte(secret)})
	}
	h.s.Fake().CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "attacker", Name: "seed"}, Content: []byte("seed")})
	attacker := iam.User("mallory@secundus.example")
	if err := ids.SetBucketRoles("attacker", attacker, "roles/storage.objectAdmin"); err != nil {
		t.Fatal(err)
	}
	h.token = ids.MintAccessToken(attacker)
	h.seen = h.files(t)
	return h
}

// files lists every file under the backend's root (relative paths), nil in memory.
func (h *hostile) files(t testing.TB) map[string]bool {
	t.Helper()
	if h.root == "" {
		return nil
	}
	out := map[string]bool{}
	err := filepath.WalkDir(filepath.Dir(h.root), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(h.root, p)
			out[rel] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (h *hostile) do(t testing.TB, method, target string, body io.Reader, header map[string]string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, h.s.URL()+target, body)
	if err != nil {
		return // not a request a client could send
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if bytes.Contains(b, []byte(secret)) {
		t.Errorf("%s %s leaked the victim's object: %.200q", method, target, b)
	}
	// The resumable upload's continuation.
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode == http.StatusOK {
		u, err := url.Parse(loc)
		if err == nil {
			h.do(t, http.MethodPut, u.RequestURI(), strings.NewReader("evil"), nil)
		}
	}
}

// attack sends name through every route that takes an object name.
func (h *hostile) attack(t testing.TB, name string) { h.attackIn(t, "attacker", "seed", name) }

// attackIn sends name through every route that takes an object name, in bucket, with seed as
// the source of copies.
func (h *hostile) attackIn(t testing.TB, bucket, seed, name string) {
	t.Helper()
	forms := []string{url.PathEscape(name), strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23", " ", "%20").Replace(name)}
	q := url.QueryEscape(name)
	js := func(v any) io.Reader { b, _ := json.Marshal(v); return bytes.NewReader(b) }
	jsonCT := map[string]string{"Content-Type": "application/json"}
	for _, p := range slices.Compact(forms) {
		h.do(t, "GET", "/storage/v1/b/"+bucket+"/o/"+p+"?alt=media", nil, nil)
		h.do(t, "GET", "/b/"+bucket+"/o/"+p+"?alt=media", nil, nil)
		h.do(t, "GET", "/download/storage/v1/b/"+bucket+"/o/"+p+"?alt=media", nil, nil)
		h.do(t, "GET", "/"+bucket+"/"+p, nil, nil)
		h.do(t, "PUT", "/"+bucket+"/"+p, strings.NewReader("evil"), nil)
		h.do(t, "DELETE", "/storage/v1/b/"+bucket+"/o/"+p, nil, nil)
		h.do(t, "PATCH", "/storage/v1/b/"+bucket+"/o/"+p, js(map[string]any{"metadata": map[string]string{"a": "b"}}), jsonCT)
		h.do(t, "POST", "/storage/v1/b/"+bucket+"/o/"+url.PathEscape(seed)+"/copyTo/b/"+bucket+"/o/"+p, js(map[string]any{}), jsonCT)
		h.do(t, "POST", "/storage/v1/b/"+bucket+"/o/"+url.PathEscape(seed)+"/rewriteTo/b/"+bucket+"/o/"+p, js(map[string]any{}), jsonCT)
		h.do(t, "POST", "/storage/v1/b/"+bucket+"/o/"+p+"/rewriteTo/b/"+bucket+"/o/copy", js(map[string]any{}), jsonCT)
		h.do(t, "POST", "/storage/v1/b/"+bucket+"/o/"+p+"/compose", js(map[string]any{"sourceObjects": []map[string]string{{"name": seed}}}), jsonCT)
		h.do(t, "POST", "/storage/v1/b/"+bucket+"/o/out/compose", js(map[string]any{"sourceObjects": []map[string]string{{"name": name}}, "destination": map[string]string{"name": name}}), jsonCT)
	}
	h.do(t, "POST", "/upload/storage/v1/b/"+bucket+"/o?uploadType=media&name="+q, strings.NewReader("evil"), nil)
	h.do(t, "POST", "/upload/storage/v1/b/"+bucket+"/o?uploadType=resumable", js(map[string]string{"name": name}), jsonCT)
	h.do(t, "POST", "/upload/storage/v1/b/"+bucket+"/o?uploadType=resumable&name="+q, nil, nil)
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	part, _ := w.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/json"}})
	_ = json.NewEncoder(part).Encode(map[string]string{"name": name})
	part, _ = w.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain"}})
	_, _ = part.Write([]byte("evil"))
	_ = w.Close()
	h.do(t, "POST", "/upload/storage/v1/b/"+bucket+"/o?uploadType=multipart", &mp, map[string]string{"Content-Type": "multipart/related; boundary=" + w.Boundary()})
	var form bytes.Buffer
	fw := multipart.NewWriter(&form)
	_ = fw.WriteField("key", name)
	ff, _ := fw.CreateFormFile("file", "x")
	_, _ = ff.Write([]byte("evil"))
	_ = fw.Close()
	h.do(t, "POST", "/"+bucket, &form, map[string]string{"Content-Type": fw.FormDataContentType()})
}

// verify checks that the victim's objects are intact and that nothing was written outside the
// attacker's bucket.
func (h *hostile) verify(t testing.TB, name string) {
	t.Helper()
	for _, o := range []string{"secret", "pins/latest.json"} {
		got, err := h.s.Fake().GetObject("models", o)
		if err != nil || string(got.Content) != secret {
			t.Fatalf("after name %q: victim object %s = %q, %v", name, o, got.Content, err)
		}
	}
	objs, _, err := h.s.Fake().ListObjects("models", "", "", false)
	if err != nil || len(objs) != 2 {
		t.Fatalf("after name %q: victim bucket lists %d objects (%v), want 2", name, len(objs), err)
	}
	for f := range h.files(t) {
		if !h.seen[f] && !strings.HasPrefix(f, "attacker"+string(filepath.Separator)) {
			t.Fatalf("after name %q: file %s written outside the attacker's bucket", name, f)
		}
	}
}

var hostileNames = []string{
	"../models/secret", "..%2Fmodels%2Fsecret", "%2e%2e/models/secret", "%2e%2e%2fmodels%2fsecret",
	"a/../../models/secret", "../models/pins/latest.json", "../../../../etc/passwd", "..", ".",
	"./seed", "a/./b", "a//b", "/abs", "x\x00y", "line\nfeed", "..\\models\\secret", "models/../secret",
	"seed/..", "../attacker/seed", "pins/latest.json", strings.Repeat("a", 1025), "\xff\xfe",
}

func fuzzNames(f *testing.F, onDisk bool) {
	for _, n := range hostileNames {
		f.Add(n)
	}
	h := newHostile(f, onDisk)
	f.Fuzz(func(t *testing.T, name string) {
		h.attack(t, name)
		h.verify(t, name)
	})
}

// FuzzObjectNamesMemory and FuzzObjectNamesFilesystem send hostile object names through every
// route of the front, on both backends: the victim's objects are never read, changed or
// joined by new ones, and nothing is written outside the attacker's bucket.
func FuzzObjectNamesMemory(f *testing.F)     { fuzzNames(f, false) }
func FuzzObjectNamesFilesystem(f *testing.F) { fuzzNames(f, true) }

// FuzzObjectConditions: in a bucket shared with the victim, the attacker holds objectAdmin only
// under an IAM Condition on object names (inbox/…). Whatever name and route it tries, it never
// reads, replaces or deletes an object outside inbox/, nor creates one there (Cloud Storage
// evaluates the condition against the object the call acts on).
func FuzzObjectConditions(f *testing.F) {
	for _, n := range append(hostileNames, "inbox/x", "inbox/x/acl", "inbox/x/compose", "inbox/../secret",
		"inbox/a/copyTo/b/shared/o/secret", "inbox", "inbox/", "secret", "runs/marker", "inbox%2F..%2Fsecret") {
		f.Add(n)
	}
	h := newHostile(f, false)
	h.s.CreateBucket("shared")
	for _, o := range []string{"secret", "runs/marker"} {
		h.s.Fake().CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "shared", Name: o}, Content: []byte(secret)})
	}
	h.s.Fake().CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "shared", Name: "inbox/seed"}, Content: []byte("seed")})
	cond := iam.Condition{Title: "inbox", Expression: `resource.name.startsWith("projects/_/buckets/shared/objects/inbox/")`}
	if err := h.s.ids.GrantIf(iam.BucketResource("shared").Name, iam.User("mallory@secundus.example"), "roles/storage.objectAdmin", cond); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string) {
		for _, n := range []string{name, "inbox/" + name} {
			h.attackIn(t, "shared", "inbox/seed", n)
			h.attackIn(t, "shared", "secret", n)
			for _, o := range []string{"secret", "runs/marker"} {
				got, err := h.s.Fake().GetObject("shared", o)
				if err != nil || string(got.Content) != secret {
					t.Fatalf("after name %q: shared object %s = %q, %v", n, o, got.Content, err)
				}
			}
			objs, _, err := h.s.Fake().ListObjects("shared", "", "", false)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				if o.Name != "secret" && o.Name != "runs/marker" && !strings.HasPrefix(o.Name, "inbox/") {
					t.Fatalf("after name %q: object %q created outside inbox/", n, o.Name)
				}
			}
			h.verify(t, n)
		}
	})
}
