// Package iam is the local stand-in for Google's identity plane: principals and opaque access
// tokens, bucket IAM, Workload Identity Pool providers (REST GET/PATCH with operations), the
// STS token exchange that checks attestation tokens against a provider's issuer, audiences and
// attribute condition, and IAM Credentials generateAccessToken honouring
// roles/iam.workloadIdentityUser.
//
// One Server serves every API on one base URL with Google's paths, so the official clients
// (golang.org/x/oauth2/google/externalaccount, google.golang.org/api/iam/v1) work against it
// once their endpoints point here. It is part of the local stack and must never be linked into
// a binary built for GCP.
//
// Principals are IAM member strings: "user:EMAIL", "serviceAccount:EMAIL", or a federated
// "principal://iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/subject/S".
package iam

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/cspipe/cspipe/internal/policy"
)

// AccessTokenLifetime is the lifetime of every access token the server mints.
const AccessTokenLifetime = time.Hour

// sweepAt is the number of live tokens above which minting sweeps expired ones.
const sweepAt = 4096

// Server is a running local IAM. Create it with New and stop it with Close.
type Server struct {
	log  *slog.Logger
	now  func() time.Time
	http *http.Client
	lis  net.Listener
	srv  *http.Server
	url  string
	once sync.Once
	key  *rsa.PrivateKey // signs ID tokens
	kid  string

	mu          sync.Mutex
	tokens      map[string]identity
	providers   map[string]*provider // by canonical name (project number)
	projectNums map[string]string    // project id -> number
	ops         map[string][]byte    // operation name -> finished Operation JSON
	opSeq       int
	updaters    map[string]bool      // principals allowed to update providers
	bindings    map[string][]binding // resource name -> bindings
	customRoles map[string][]string  // projects/P/roles/R -> permissions
	conds       map[string]*policy.Condition
	issuers     map[string]*issuerKeys
}

// identity is what an access token stands for.
type identity struct {
	principal string
	sets      []string // principalSet:// memberships (federated tokens)
	expiry    time.Time
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger for developer diagnostics (e.g. which clause of an attribute
// condition failed). The default writes JSON to stderr.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithClock sets the clock used for token expiry and verification.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithHTTPClient sets the client used to fetch issuers' discovery documents and JWKS.
func WithHTTPClient(c *http.Client) Option { return func(s *Server) { s.http = c } }

// WithListener serves on l instead of a fresh 127.0.0.1:0 listener.
func WithListener(l net.Listener) Option { return func(s *Server) { s.lis = l } }

// New starts a Server on loopback.
func New(opts ...Option) (*Server, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generating id-token key: %w", err)
	}
	s := &Server{
		log:         slog.New(slog.NewJSONHandler(os.Stderr, nil)),
		now:         time.Now,
		http:        &http.Client{Timeout: 10 * time.Second},
		key:         key,
		kid:         randomHex(8),
		tokens:      map[string]identity{},
		providers:   map[string]*provider{},
		projectNums: map[string]string{},
		ops:         map[string][]byte{},
		updaters:    map[string]bool{},
		bindings:    map[string][]binding{},
		customRoles: map[string][]string{},
		conds:       map[string]*policy.Condition{},
		issuers:     map[string]*issuerKeys{},
	}
	for _, o := range opts {
		o(s)
	}
	if s.lis == nil {
		if s.lis, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("listening for iam: %w", err)
		}
	}
	s.url = "http://" + s.lis.Addr().String()
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(s.lis) }()
	return s, nil
}

// URL is the base URL of every API: STS token_url is URL()+"/v1/token", the IAM Credentials
// and IAM REST endpoints are URL() (paths under /v1/).
func (s *Server) URL() string { return s.url }

// TokenURL is the STS token endpoint, for an external-account credential's token_url.
func (s *Server) TokenURL() string { return s.url + "/v1/token" }

// ImpersonationURL is the generateAccessToken URL for email, for an external-account
// credential's service_account_impersonation_url.
func (s *Server) ImpersonationURL(email string) string {
	return s.url + "/v1/projects/-/serviceAccounts/" + email + ":generateAccessToken"
}

// Close stops the server.
func (s *Server) Close() { s.once.Do(func() { _ = s.srv.Close() }) }

// Handler serves every API of the server.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/token", s.handleSTS)
	mux.HandleFunc("POST /v1/projects/-/serviceAccounts/{call}", s.handleServiceAccountCall)
	const prov = "/v1/projects/{project}/locations/{location}/workloadIdentityPools/{pool}/providers/{provider}"
	mux.HandleFunc("GET "+prov, s.handleGetProvider)
	mux.HandleFunc("PATCH "+prov, s.handlePatchProvider)
	mux.HandleFunc("GET "+prov+"/operations/{op}", s.handleGetOperation)
	mux.HandleFunc("GET /oauth2/v3/certs", s.handleCerts)
	return mux
}

// ServiceAccount returns the principal of the service account email.
func ServiceAccount(email string) string { return "serviceAccount:" + email }

// User returns the principal of a user email.
func User(email string) string { return "user:" + email }

// MintAccessToken returns a fresh opaque bearer token for principal, valid for an hour.
func (s *Server) MintAccessToken(principal string) string {
	tok, _ := s.mint(identity{principal: principal})
	return tok
}

// MintSessionToken returns an opaque bearer token for principal that stays valid as long as this
// server runs (it never expires on its own). `cspipe local up` hands such tokens to its user,
// so a client holding one does not fail after an hour; they die with the stack.
func (s *Server) MintSessionToken(principal string) string {
	tok, _ := s.mintUntil(identity{principal: principal}, time.Time{})
	return tok
}

func (s *Server) mint(id identity) (string, time.Time) {
	return s.mintUntil(id, s.now().Add(AccessTokenLifetime))
}

// mintUntil mints a token for id expiring at expiry (zero: never).
func (s *Server) mintUntil(id identity, expiry time.Time) (string, time.Time) {
	tok := "ya29.local-" + randomHex(24)
	now := s.now()
	id.expiry = expiry
	s.mu.Lock()
	if len(s.tokens) >= sweepAt {
		// A long-running stack mints many tokens; drop the expired ones now and then.
		for t, old := range s.tokens {
			if !old.expiry.IsZero() && !now.Before(old.expiry) {
				delete(s.tokens, t)
			}
		}
	}
	s.tokens[tok] = id
	s.mu.Unlock()
	return tok, id.expiry
}

// Principal returns the principal an unexpired access token stands for.
func (s *Server) Principal(token string) (string, bool) {
	id, ok := s.lookup(token)
	return id.principal, ok
}

func (s *Server) lookup(token string) (identity, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.tokens[token]
	if !ok {
		return identity{}, false
	}
	if !id.expiry.IsZero() && !s.now().Before(id.expiry) {
		delete(s.tokens, token)
		return identity{}, false
	}
	return id, true
}

// members returns every IAM member string a token's identity matches.
func (id identity) members() []string {
	m := append([]string{id.principal}, id.sets...)
	return append(m, "allAuthenticatedUsers")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// googleError writes the error shape of Google's JSON APIs.
func googleError(w http.ResponseWriter, code int, status, msg string, details ...any) {
	e := map[string]any{"code": code, "message": msg, "status": status}
	if len(details) > 0 {
		e["details"] = details
	}
	writeJSON(w, code, map[string]any{"error": e})
}

// bearer returns the identity of the request's bearer token, or writes a 401.
func (s *Server) bearer(w http.ResponseWriter, r *http.Request) (identity, bool) {
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) > len(prefix) && h[:len(prefix)] == prefix {
		if id, ok := s.lookup(h[len(prefix):]); ok {
			return id, true
		}
	}
	googleError(w, http.StatusUnauthorized, "UNAUTHENTICATED",
		"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
	return identity{}, false
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
