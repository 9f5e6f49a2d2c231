package launcherclient

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// serveSocket serves h on a fresh unix socket and returns its path.
func serveSocket(t *testing.T, h http.Handler) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lc") // short: unix socket paths are limited to ~108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, SocketName)
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return path
}

func TestCustomToken(t *testing.T) {
	var got TokenRequest
	sock := serveSocket(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/token" {
			http.Error(w, "TEE server received an invalid HTTP method: "+r.Method, http.StatusBadRequest)
			return
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil {
			http.Error(w, "failed to parse POST body as TokenOptions: "+err.Error(), http.StatusBadRequest)
			return
		}
		switch got.Audience {
		case "refuse":
			http.Error(w, "failed to retrieve custom attestation service token: PermissionDenied", http.StatusBadRequest)
		case "broken":
			http.Error(w, "no GCA verifier client present, please try rebooting your VM", http.StatusInternalServerError)
		default:
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("aaa.bbb.ccc"))
		}
	}))
	c := New(sock)
	nonces := []string{strings.Repeat("a", 64), strings.Repeat("b", 64)}

	tok, err := c.CustomToken(t.Context(), "cspipe-receipt", nonces)
	if err != nil {
		t.Fatal(err)
	}
	if string(tok) != "aaa.bbb.ccc" {
		t.Errorf("token = %q", tok)
	}
	if diff := cmp.Diff(TokenRequest{Audience: "cspipe-receipt", Nonces: nonces, TokenType: "OIDC"}, got); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}

	tests := []struct {
		name      string
		audience  string
		nonces    []string
		status    int
		retryable bool
		wantSub   string
	}{
		{name: "refused", audience: "refuse", nonces: nonces, status: 400, wantSub: "PermissionDenied"},
		{name: "server broken", audience: "broken", nonces: nonces, status: 500, retryable: true, wantSub: "no GCA verifier"},
		{name: "short nonce", audience: "x", nonces: []string{"short"}, wantSub: "nonce of 5 bytes"},
		{name: "long nonce", audience: "x", nonces: []string{strings.Repeat("n", 89)}, wantSub: "nonce of 89 bytes"},
		{name: "no audience", audience: "", nonces: nonces, wantSub: "audience is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CustomToken(t.Context(), tc.audience, tc.nonces)
			if err == nil || !strings.Contains(err.Error(), tc.wantSub) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantSub)
			}
			var se *ServerError
			if errors.As(err, &se) != (tc.status != 0) {
				t.Fatalf("ServerError = %v, want status %d", se, tc.status)
			}
			if se != nil && (se.StatusCode != tc.status || se.Retryable() != tc.retryable) {
				t.Errorf("status %d retryable %v, want %d %v", se.StatusCode, se.Retryable(), tc.status, tc.retryable)
			}
		})
	}
}

func TestTokenFileRereads(t *testing.T) {
	path := filepath.Join(t.TempDir(), TokenFileName)
	f := TokenFile{Path: path}
	if _, err := f.Read(); err == nil {
		t.Fatal("missing file: want error")
	}
	for _, want := range []string{"one.two.three", "four.five.six"} {
		// The launcher writes a temp file and renames it over the real one.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(want+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
		got, err := f.Read()
		if err != nil || string(got) != want {
			t.Fatalf("Read = %q, %v; want %q", got, err, want)
		}
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Read(); err == nil {
		t.Error("empty file: want error")
	}
}

func TestUnverifiedClaims(t *testing.T) {
	// {"submods":{"container":{"image_digest":"sha256:ab"}}}
	tok := "e30.eyJzdWJtb2RzIjp7ImNvbnRhaW5lciI6eyJpbWFnZV9kaWdlc3QiOiJzaGEyNTY6YWIifX19.sig"
	m, err := UnverifiedClaims([]byte(tok))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"submods": map[string]any{"container": map[string]any{"image_digest": "sha256:ab"}}}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if _, err := UnverifiedClaims([]byte("not-a-jwt")); err == nil {
		t.Error("want error for a non-JWT")
	}
}

func FuzzUnverifiedClaims(f *testing.F) {
	f.Add([]byte("e30.eyJhIjoxfQ.sig"))
	f.Add([]byte("a.b"))
	f.Add([]byte("..."))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := UnverifiedClaims(b); err == nil && m == nil {
			t.Fatal("nil claims without error")
		}
	})
}
