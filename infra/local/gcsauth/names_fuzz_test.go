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
func (h *hostile) attack(t testing.TB, name string) {
	t.Helper()
	forms := []string{url.PathEscape(name), strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23", " ", "%20").Replace(name)}
	q := url.QueryEscape(name)
	js := func(v any) io.Reader { b, _ := json.Marshal(v); return bytes.NewReader(b) }
	jsonCT := map[string]string{"Content-Type": "application/json"}
	for _, p := range slices.Compact(forms) {
		h.do(t, "GET", "/storage/v1/b/attacker/o/"+p+"?alt=media", nil, nil)
		h.do(t, "GET", "/b/attacker/o/"+p+"?alt=media", nil, nil)
		h.do(t, "GET", "/download/storage/v1/b/attacker/o/"+p+"?alt=media", nil, nil)
		h.do(t, "GET", "/attacker/"+p, nil, nil)
		h.do(t, "PUT", "/attacker/"+p, strings.NewReader("evil"), nil)
		h.do(t, "DELETE", "/storage/v1/b/attacker/o/"+p, nil, nil)
		h.do(t, "PATCH", "/storage/v1/b/attacker/o/"+p, js(map[string]any{"metadata": map[string]string{"a": "b"}}), jsonCT)
		h.do(t, "POST", "/storage/v1/b/attacker/o/seed/copyTo/b/attacker/o/"+p, js(map[string]any{}), jsonCT)
		h.do(t, "POST", "/storage/v1/b/attacker/o/seed/rewriteTo/b/attacker/o/"+p, js(map[string]any{}), jsonCT)
		h.do(t, "POST", "/storage/v1/b/attacker/o/"+p+"/rewriteTo/b/attacker/o/copy", js(map[string]any{}), jsonCT)
		h.do(t, "POST", "/storage/v1/b/attacker/o/"+p+"/compose", js(map[string]any{"sourceObjects": []map[string]string{{"name": "seed"}}}), jsonCT)
		h.do(t, "POST", "/storage/v1/b/attacker/o/out/compose", js(map[string]any{"sourceObjects": []map[string]string{{"name": name}}, "destination": map[string]string{"name": name}}), jsonCT)
	}
	h.do(t, "POST", "/upload/storage/v1/b/attacker/o?uploadType=media&name="+q, strings.NewReader("evil"), nil)
	h.do(t, "POST", "/upload/storage/v1/b/attacker/o?uploadType=resumable", js(map[string]string{"name": name}), jsonCT)
	h.do(t, "POST", "/upload/storage/v1/b/attacker/o?uploadType=resumable&name="+q, nil, nil)
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	part, _ := w.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/json"}})
	_ = json.NewEncoder(part).Encode(map[string]string{"name": name})
	part, _ = w.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain"}})
	_, _ = part.Write([]byte("evil"))
	_ = w.Close()
	h.do(t, "POST", "/upload/storage/v1/b/attacker/o?uploadType=multipart", &mp, map[string]string{"Content-Type": "multipart/related; boundary=" + w.Boundary()})
	var form bytes.Buffer
	fw := multipart.NewWriter(&form)
	_ = fw.WriteField("key", name)
	ff, _ := fw.CreateFormFile("file", "x")
	_, _ = ff.Write([]byte("evil"))
	_ = fw.Close()
	h.do(t, "POST", "/attacker", &form, map[string]string{"Content-Type": fw.FormDataContentType()})
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
