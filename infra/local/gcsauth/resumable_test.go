package gcsauth

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// A resumable upload's status check (an empty PUT with "Content-Range: bytes */*", what apitools'
// RefreshResumableUploadState sends when gsutil or gcloud storage resume an upload) answers 308
// with the bytes held and leaves the session open; fake-gcs-server committed the truncated object
// instead and then refused the rest of the upload with 404.
func TestResumableStatusCheck(t *testing.T) {
	s, ids := setup(t)
	tok := ids.MintAccessToken(owner)
	do := bearerDo(t, tok)
	start := func(name string) string {
		resp := do(http.MethodPost, s.URL()+"/upload/storage/v1/b/models/o?uploadType=resumable", []byte(`{"name":"`+name+`"}`),
			map[string]string{"Content-Type": "application/json"})
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if loc == "" {
			t.Fatalf("starting a resumable upload: %d, no Location", resp.StatusCode)
		}
		return loc
	}
	status := func(loc, total string) (int, string) {
		resp := do(http.MethodPut, loc, nil, map[string]string{"Content-Range": "bytes */" + total})
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Range")
	}
	const chunk = 256 << 10
	data := append(bytes.Repeat([]byte("a"), chunk), "end"...)

	loc := start("big.bin")
	if code, rng := status(loc, "*"); code != http.StatusPermanentRedirect || rng != "" {
		t.Errorf("status of an empty session: %d Range %q, want 308 and no Range", code, rng)
	}
	resp := do(http.MethodPut, loc, data[:chunk], map[string]string{"Content-Range": "bytes 0-262143/*"})
	resp.Body.Close()
	if resp.StatusCode != http.StatusPermanentRedirect {
		t.Fatalf("first chunk: %d, want 308", resp.StatusCode)
	}
	for _, total := range []string{"*", "262147"} {
		if code, rng := status(loc, total); code != http.StatusPermanentRedirect || rng != "bytes=0-262143" {
			t.Errorf("status (bytes */%s) after one chunk: %d Range %q, want 308 bytes=0-262143", total, code, rng)
		}
	}
	if exists(s, "big.bin") {
		t.Fatal("a status check committed the incomplete upload")
	}
	resp = do(http.MethodPut, loc, data[chunk:], map[string]string{"Content-Range": "bytes 262144-262146/262147"})
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("last chunk: %d, want 200", resp.StatusCode)
	}
	resp = do(http.MethodPut, loc, nil, map[string]string{"Content-Range": "bytes */*"})
	var obj struct {
		Size string `json:"size"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&obj)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || obj.Size != "262147" {
		t.Errorf("status of the completed upload: %d size %q, want 200 and the object (262147 bytes)", resp.StatusCode, obj.Size)
	}
	if got, err := read(t.Context(), client(t, s, ids, owner).Bucket("models").Object("big.bin")); err != nil || !bytes.Equal(got, data) {
		t.Errorf("stored object: %d bytes, %v; want the %d uploaded", len(got), err, len(data))
	}

	// A streaming upload ends with an empty request declaring the size held: that commits.
	loc = start("stream.bin")
	resp = do(http.MethodPut, loc, data[:chunk], map[string]string{"Content-Range": "bytes 0-262143/*"})
	resp.Body.Close()
	if code, _ := status(loc, "262144"); code != http.StatusOK {
		t.Errorf("empty last request of a streaming upload: %d, want 200", code)
	}
	if got, err := read(t.Context(), client(t, s, ids, owner).Bucket("models").Object("stream.bin")); err != nil || len(got) != chunk {
		t.Errorf("streamed object: %d bytes, %v; want %d", len(got), err, chunk)
	}

	// The Go client's form: no 308, the status in X-Http-Status-Code-Override.
	loc = start("go.bin")
	resp = do(http.MethodPut, loc, nil, map[string]string{"Content-Range": "bytes */*", "X-GUploader-No-308": "yes"})
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Http-Status-Code-Override") != "308" || strings.TrimSpace(string(b)) != "" {
		t.Errorf("status with X-GUploader-No-308: %d override %q body %q", resp.StatusCode, resp.Header.Get("X-Http-Status-Code-Override"), b)
	}
}

// The XML API's resumable upload (gsutil's XML mode, TestGsutilCpResumable with the real
// client): POST /BUCKET/OBJECT with x-goog-resumable: start opens a session at Location; the
// completing PUT is answered as the XML API answers (no body, ETag, x-goog-generation).
func TestXMLResumableUpload(t *testing.T) {
	s, ids := setup(t)
	tok := ids.MintAccessToken(owner)
	do := bearerDo(t, tok)
	resp := do(http.MethodPost, s.URL()+"/models/x.bin", nil, map[string]string{"X-Goog-Resumable": "start", "Content-Type": "image/png", "X-Goog-Meta-K": "v"})
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode/100 != 2 || loc == "" {
		t.Fatalf("XML resumable start: %d, Location %q", resp.StatusCode, loc)
	}
	data := []byte("0123456789")
	resp = do(http.MethodPut, loc, data, map[string]string{"Content-Range": "bytes 0-9/10"})
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(b) != 0 || resp.Header.Get("ETag") != `"781e5e245d69b566979b86e28d23f2c7"` || resp.Header.Get("X-Goog-Generation") == "" {
		t.Errorf("completing PUT: %d body %q ETag %q generation %q", resp.StatusCode, b, resp.Header.Get("ETag"), resp.Header.Get("X-Goog-Generation"))
	}
	o, err := s.Fake().GetObject("models", "x.bin")
	if err != nil || string(o.Content) != string(data) || o.ContentType != "image/png" || o.Metadata["k"] != "v" {
		t.Errorf("stored %q %q %v, %v", o.Content, o.ContentType, o.Metadata, err)
	}
}

// bearerDo returns a function that sends a request with tok as its bearer
// token and the given headers, failing the test when it cannot be sent.
func bearerDo(t *testing.T, tok string) func(method, url string, body []byte, header map[string]string) *http.Response {
	return func(method, url string, body []byte, header map[string]string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
}
