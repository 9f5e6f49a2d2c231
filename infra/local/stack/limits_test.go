package stack

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A function endpoint never reads an event body past Cloud Run's request limit.
func TestFunctionBodiesAreBounded(t *testing.T) {
	var read int64
	h := limitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		read += n
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		}
	}), 1024)
	srv := httptest.NewServer(h)
	defer srv.Close()
	for name, body := range map[string]io.Reader{
		"declared length": strings.NewReader(strings.Repeat("x", 2048)),
		"chunked":         io.MultiReader(strings.NewReader(strings.Repeat("x", 2048))),
	} {
		resp, err := http.Post(srv.URL, "application/json", body)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: status %d %s, want 413", name, resp.StatusCode, b)
		}
	}
	if read > 1024 {
		t.Errorf("the handler read %d bytes, over the limit", read)
	}
}
