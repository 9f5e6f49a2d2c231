package httpbuf

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestResponse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		handle func(w http.ResponseWriter)
		status int
		body   string
	}{
		{"nothing written", func(http.ResponseWriter) {}, http.StatusOK, ""},
		{"body only", func(w http.ResponseWriter) { _, _ = io.WriteString(w, "hi") }, http.StatusOK, "hi"},
		{"first status wins", func(w http.ResponseWriter) {
			w.Header().Set("X-A", "1")
			w.WriteHeader(http.StatusCreated)
			w.WriteHeader(http.StatusTeapot)
			_, _ = io.WriteString(w, "made")
		}, http.StatusCreated, "made"},
		{"status after body is ignored", func(w http.ResponseWriter) {
			_, _ = io.WriteString(w, "x")
			w.WriteHeader(http.StatusNotFound)
		}, http.StatusOK, "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := New()
			tc.handle(r)
			if r.Status() != tc.status || r.Body.String() != tc.body {
				t.Fatalf("kept %d %q, want %d %q", r.Status(), r.Body.String(), tc.status, tc.body)
			}
			rec := httptest.NewRecorder()
			r.Send(rec)
			if rec.Code != tc.status || rec.Body.String() != tc.body || rec.Header().Get("X-A") != r.Header().Get("X-A") {
				t.Fatalf("sent %d %q %v, want %d %q %v", rec.Code, rec.Body.String(), rec.Header(), tc.status, tc.body, r.Header())
			}
		})
	}
}
