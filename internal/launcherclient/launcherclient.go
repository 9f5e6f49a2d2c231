// Package launcherclient talks to the Confidential Space launcher from inside the container: it
// reads the default attestation token file (which the launcher rewrites atomically, so every use
// re-reads it) and asks the teeserver unix socket for custom tokens (POST /v1/token with an
// audience and nonces). Tokens are never logged.
package launcherclient

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// File names inside the launcher directory.
const (
	TokenFileName = "attestation_verifier_claims_token"
	SocketName    = "teeserver.sock"
	// DefaultDir is where the launcher mounts its files in the container.
	DefaultDir = "/run/container_launcher"
)

// maxTokenBytes bounds a token read from the file or the socket.
const maxTokenBytes = 64 << 10

// Nonce length limits of the attestation service (bytes per nonce), and the count limit.
const (
	MinNonceLen = 8
	MaxNonceLen = 88
	MaxNonces   = 6
)

// TokenFile reads the launcher's default token (audience STS) from a file.
type TokenFile struct{ Path string }

// Read returns the current token, re-reading the file on every call.
func (f TokenFile) Read() ([]byte, error) {
	fh, err := os.Open(f.Path)
	if err != nil {
		return nil, fmt.Errorf("reading attestation token: %w", err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxTokenBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading attestation token: %w", err)
	}
	if len(b) > maxTokenBytes {
		return nil, fmt.Errorf("attestation token file %s is larger than %d bytes", f.Path, maxTokenBytes)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, fmt.Errorf("attestation token file %s is empty", f.Path)
	}
	return b, nil
}

// UnverifiedClaims decodes a JWT's payload WITHOUT checking its signature. The workload uses it
// only to copy descriptive claims (image digest, reference) into its summary; nothing is
// decided on them.
func UnverifiedClaims(token []byte) (map[string]any, error) {
	parts := strings.Split(string(token), ".")
	if len(parts) != 3 {
		return nil, errors.New("token is not a JWT (want three dot-separated parts)")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("decoding token payload: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decoding token payload: %w", err)
	}
	if m == nil {
		return nil, errors.New("token payload is not a JSON object")
	}
	return m, nil
}

// TokenRequest is the body of POST /v1/token.
type TokenRequest struct {
	Audience  string   `json:"audience"`
	Nonces    []string `json:"nonces,omitempty"`
	TokenType string   `json:"token_type"`
}

// Client asks the teeserver for custom tokens.
type Client struct {
	hc *http.Client
}

// New returns a client for the teeserver socket at path.
func New(socketPath string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socketPath)
		},
		DisableKeepAlives: true,
	}
	return &Client{hc: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
}

// ServerError is a non-200 answer from the teeserver; Message is its plain-text body.
type ServerError struct {
	StatusCode int
	Message    string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("teeserver answered %d: %s", e.StatusCode, e.Message)
}

// Retryable reports whether the failure may pass on retry (the launcher maps transient
// attestation-service failures to 500; bad requests and refusals to 400).
func (e *ServerError) Retryable() bool { return e.StatusCode >= 500 }

// CustomToken requests an OIDC token with the given audience and nonces and returns the raw JWT.
func (c *Client) CustomToken(ctx context.Context, audience string, nonces []string) ([]byte, error) {
	if audience == "" {
		return nil, errors.New("custom token: audience is required")
	}
	if len(nonces) > MaxNonces {
		return nil, fmt.Errorf("custom token: %d nonces, at most %d allowed", len(nonces), MaxNonces)
	}
	for _, n := range nonces {
		if len(n) < MinNonceLen || len(n) > MaxNonceLen {
			return nil, fmt.Errorf("custom token: nonce of %d bytes, want %d..%d", len(n), MinNonceLen, MaxNonceLen)
		}
	}
	body, err := json.Marshal(TokenRequest{Audience: audience, Nonces: nonces, TokenType: "OIDC"})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://localhost/v1/token", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("custom token: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBytes+1))
	if err != nil {
		return nil, fmt.Errorf("custom token: reading answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(string(b))
		if len(msg) > 1024 {
			msg = msg[:1024]
		}
		return nil, fmt.Errorf("custom token: %w", &ServerError{StatusCode: resp.StatusCode, Message: msg})
	}
	if len(b) > maxTokenBytes {
		return nil, fmt.Errorf("custom token: answer larger than %d bytes", maxTokenBytes)
	}
	tok := bytes.TrimSpace(b)
	if strings.Count(string(tok), ".") != 2 {
		return nil, errors.New("custom token: answer is not a JWT")
	}
	return tok, nil
}
