package launcher

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// tokenOptions is the body of POST /v1/token, decoded strictly like the real teeserver.
type tokenOptions struct {
	Audience               string          `json:"audience"`
	Nonces                 []string        `json:"nonces"`
	TokenType              string          `json:"token_type"`
	AWSPrincipalTagOptions json.RawMessage `json:"aws_principal_tag_options"`
}

// mintFunc mints a token with the given audience and nonces.
type mintFunc func(audience string, nonces []string) (string, error)

// teeHandler serves /v1/token as the Confidential Space teeserver does.
func teeHandler(mint mintFunc, defaultAudience string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/token", func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			tok, err := mint(defaultAudience, nil)
			if err != nil {
				http.Error(w, "failed to retrieve attestation service token: "+err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, tok)
		case http.MethodPost:
			body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
			if err != nil {
				http.Error(w, "failed to read POST body: "+err.Error(), http.StatusBadRequest)
				return
			}
			var opts tokenOptions
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&opts); err != nil {
				http.Error(w, "failed to parse POST body as TokenOptions: "+err.Error(), http.StatusBadRequest)
				return
			}
			if opts.Audience == "" {
				http.Error(w, "use GET request for the default identity token", http.StatusBadRequest)
				return
			}
			if opts.TokenType == "" {
				http.Error(w, "token_type is a required parameter", http.StatusBadRequest)
				return
			}
			if opts.TokenType != "OIDC" {
				http.Error(w, fmt.Sprintf("failed to retrieve custom attestation service token: token type %q is not supported by the local attestation verifier (only OIDC)", opts.TokenType), http.StatusBadRequest)
				return
			}
			tok, err := mint(opts.Audience, opts.Nonces)
			if err != nil {
				// The attestation service answers InvalidArgument for bad nonces and audiences.
				http.Error(w, "failed to retrieve custom attestation service token: "+err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, tok)
		default:
			http.Error(w, "TEE server received an invalid HTTP method: "+r.Method, http.StatusBadRequest)
		}
	})
	return mux
}

// teeServer is the teeserver on a unix socket.
type teeServer struct {
	srv  *http.Server
	done chan struct{}
}

func startTeeServer(socketPath string, h http.Handler) (*teeServer, error) {
	lis, err := listenUnix(socketPath)
	if err != nil {
		return nil, fmt.Errorf("listening on teeserver socket: %w", err)
	}
	if err := os.Chmod(socketPath, 0o777); err != nil {
		lis.Close()
		return nil, fmt.Errorf("setting teeserver socket mode: %w", err)
	}
	t := &teeServer{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		_ = t.srv.Serve(lis)
	}()
	return t, nil
}

func (t *teeServer) close() {
	_ = t.srv.Close()
	<-t.done
}

// listenUnix listens on a unix socket at p. A path longer than the kernel's limit (about 108
// bytes, easily passed by an image root under a deep temporary directory) is bound through the
// directory's /proc/self/fd entry, which is short.
func listenUnix(p string) (net.Listener, error) {
	if len(p) < 100 {
		return net.Listen("unix", p)
	}
	d, err := os.Open(filepath.Dir(p))
	if err != nil {
		return nil, err
	}
	defer d.Close()
	lis, err := net.Listen("unix", fmt.Sprintf("/proc/self/fd/%d/%s", d.Fd(), filepath.Base(p)))
	if err != nil {
		return nil, err
	}
	// The fd path means another directory once d is closed: never unlink through it. The run's
	// directory is removed as a whole.
	lis.(*net.UnixListener).SetUnlinkOnClose(false)
	return lis, nil
}
