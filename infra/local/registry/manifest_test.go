package registry

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// A conforming registry (Artifact Registry; the distribution project's PutManifest) refuses a
// manifest that is not JSON, a push by digest whose body has another digest, and an image
// manifest whose blobs it lacks. go-containerregistry's registry stored all three, and served the
// body under a digest it does not have, so a pull by that digest got other content.
func TestManifestPutIsVerified(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(Handler("127.0.0.1:1", Options{Logger: discard(),
		Publish: func(context.Context, string, []byte) error { calls++; return nil }}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	// A real image pushed with go-containerregistry's client (blobs first) is accepted, by tag
	// and by its own digest.
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/p/workloads/x:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("pushing an image: %v", err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	put := func(ref, contentType, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/v2/p/workloads/x/manifests/"+ref, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct {
			Errors []struct{ Code string } `json:"errors"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		code := ""
		if len(e.Errors) > 0 {
			code = e.Errors[0].Code
		}
		return resp.StatusCode, code
	}
	const oci = "application/vnd.oci.image.manifest.v1+json"
	mt := mustMediaType(t, raw)
	if st, code := put(d.String(), mt, string(raw)); st != http.StatusCreated {
		t.Errorf("PUT by its own digest: %d %s, want 201", st, code)
	}
	before := calls

	other := "sha256:" + strings.Repeat("1", 64)
	dangling := `{"schemaVersion":2,"mediaType":"` + oci + `","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + other + `","size":10},"layers":[]}`
	for _, tc := range []struct {
		name, ref, body, code string
	}{
		{"not JSON", "bad", "not json", "MANIFEST_INVALID"},
		{"digest of other content", other, string(raw), "DIGEST_INVALID"},
		{"config blob never uploaded", "dangling", dangling, "MANIFEST_BLOB_UNKNOWN"},
	} {
		if st, code := put(tc.ref, oci, tc.body); st != http.StatusBadRequest || code != tc.code {
			t.Errorf("%s: %d %s, want 400 %s", tc.name, st, code, tc.code)
		}
	}
	if calls != before {
		t.Errorf("refused pushes published %d gcr notifications", calls-before)
	}
	// Nothing is served under the digest that was refused.
	if _, err := remote.Head(mustRef(t, host+"/p/workloads/x@"+other)); err == nil {
		t.Errorf("the registry serves a manifest under %s", other)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustMediaType(t *testing.T, raw []byte) string {
	t.Helper()
	var m struct {
		MediaType string `json:"mediaType"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m.MediaType
}
