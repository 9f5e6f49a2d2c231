// Package metadata is the local stand-in for the GCE metadata server of one VM: the identity of
// its service account (access and ID tokens), its project, zone, name and id, and its custom
// metadata attributes (tee-*). Point a process at it with GCE_METADATA_HOST=Host(); the
// official clients (cloud.google.com/go/compute/metadata, golang.org/x/oauth2/google default
// credentials) then work unchanged.
//
// It is part of the local stack and must never be linked into a binary built for GCP.
package metadata

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Tokens mints credentials for the VM's service account. *iam.Server implements it.
type Tokens interface {
	// MintAccessToken returns an access token for principal ("serviceAccount:EMAIL").
	MintAccessToken(principal string) string
	// MintIDToken returns an ID token for the service account email with the audience.
	MintIDToken(email, audience string) (string, error)
}

// Instance describes the VM whose metadata is served.
type Instance struct {
	Project        string // project id
	ProjectNumber  string
	Zone           string // e.g. us-west1-b
	Name           string
	ID             string // decimal
	ServiceAccount string // email of the default service account
	Scopes         []string
	Attributes     map[string]string // custom metadata, e.g. tee-image-reference
}

// Server is a running metadata server. Create it with New and stop it with Close.
type Server struct {
	inst   Instance
	tokens Tokens
	lis    net.Listener
	srv    *http.Server
	once   sync.Once
	now    func() time.Time

	mu       sync.Mutex
	cached   string
	cachedAt time.Time
}

// tokenReuse is how long a minted access token is handed out again before a fresh one is
// minted; the local IAM's tokens live an hour.
const tokenReuse = 45 * time.Minute

// New serves inst's metadata on 127.0.0.1:0, with tokens for inst.ServiceAccount from tokens.
func New(inst Instance, tokens Tokens) (*Server, error) {
	if inst.Project == "" || inst.ServiceAccount == "" || inst.Zone == "" || inst.Name == "" {
		return nil, fmt.Errorf("metadata server: project, service account, zone and name are required")
	}
	if tokens == nil {
		return nil, fmt.Errorf("metadata server: no token minter")
	}
	inst.Attributes = maps.Clone(inst.Attributes)
	if inst.Scopes == nil {
		inst.Scopes = []string{"https://www.googleapis.com/auth/cloud-platform"}
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for metadata server: %w", err)
	}
	s := &Server{inst: inst, tokens: tokens, lis: lis, now: time.Now}
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(lis) }()
	return s, nil
}

// Host is the value for GCE_METADATA_HOST (host:port, no scheme).
func (s *Server) Host() string { return s.lis.Addr().String() }

// URL is the server's base URL.
func (s *Server) URL() string { return "http://" + s.Host() }

// Close stops the server.
func (s *Server) Close() { s.once.Do(func() { _ = s.srv.Close() }) }

// Handler serves /computeMetadata/v1/… and requires the Metadata-Flavor: Google header.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Metadata-Flavor", "Google")
		w.Header().Set("Server", "Metadata Server for VM")
		if r.URL.Path == "/" {
			// The root answers without the header so that on-GCE probes succeed.
			w.WriteHeader(http.StatusOK)
			return
		}
		if r.Header.Get("Metadata-Flavor") != "Google" || r.Header.Get("X-Forwarded-For") != "" {
			http.Error(w, "Missing required header \"Metadata-Flavor\": \"Google\"", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		path, ok := strings.CutPrefix(r.URL.Path, "/computeMetadata/v1/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		s.serve(w, r, path)
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, path string) {
	recursive := r.URL.Query().Get("recursive") == "true"
	in := s.inst
	switch path {
	case "project/project-id":
		text(w, in.Project)
	case "project/numeric-project-id":
		text(w, in.ProjectNumber)
	case "instance/zone":
		text(w, fmt.Sprintf("projects/%s/zones/%s", in.ProjectNumber, in.Zone))
	case "instance/name", "instance/hostname":
		text(w, in.Name)
	case "instance/id":
		text(w, in.ID)
	case "instance/attributes", "instance/attributes/":
		if recursive {
			writeJSON(w, in.Attributes)
			return
		}
		keys := slices.Sorted(maps.Keys(in.Attributes))
		text(w, strings.Join(keys, "\n")+"\n")
	case "instance/service-accounts", "instance/service-accounts/":
		text(w, "default/\n"+in.ServiceAccount+"/\n")
	default:
		if key, ok := strings.CutPrefix(path, "instance/attributes/"); ok {
			v, found := in.Attributes[key]
			if !found {
				http.NotFound(w, r)
				return
			}
			text(w, v)
			return
		}
		if rest, ok := strings.CutPrefix(path, "instance/service-accounts/"); ok {
			s.serveAccount(w, r, rest, recursive)
			return
		}
		http.NotFound(w, r)
	}
}

func (s *Server) serveAccount(w http.ResponseWriter, r *http.Request, rest string, recursive bool) {
	acct, item, _ := strings.Cut(rest, "/")
	if acct != "default" && acct != s.inst.ServiceAccount {
		http.NotFound(w, r)
		return
	}
	switch item {
	case "":
		if !recursive {
			text(w, "aliases\nemail\nidentity\nscopes\ntoken\n")
			return
		}
		writeJSON(w, map[string]any{"aliases": []string{"default"}, "email": s.inst.ServiceAccount, "scopes": s.inst.Scopes})
	case "email":
		text(w, s.inst.ServiceAccount)
	case "scopes":
		text(w, strings.Join(s.inst.Scopes, "\n")+"\n")
	case "aliases":
		text(w, "default\n")
	case "token":
		tok, expiresIn := s.accessToken()
		writeJSON(w, map[string]any{"access_token": tok, "expires_in": expiresIn, "token_type": "Bearer"})
	case "identity":
		aud := r.URL.Query().Get("audience")
		if aud == "" {
			http.Error(w, "non-empty audience parameter required", http.StatusBadRequest)
			return
		}
		tok, err := s.tokens.MintIDToken(s.inst.ServiceAccount, aud)
		if err != nil {
			http.Error(w, "minting identity token failed", http.StatusInternalServerError)
			return
		}
		text(w, tok)
	default:
		http.NotFound(w, r)
	}
}

// accessToken hands out the cached token while it has time left, else mints a new one.
func (s *Server) accessToken() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.cached == "" || now.Sub(s.cachedAt) >= tokenReuse {
		s.cached = s.tokens.MintAccessToken("serviceAccount:" + s.inst.ServiceAccount)
		s.cachedAt = now
	}
	left := time.Hour - now.Sub(s.cachedAt) - time.Second
	return s.cached, int(left.Seconds())
}

func text(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "application/text")
	_, _ = w.Write([]byte(s))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
