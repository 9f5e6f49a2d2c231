// Package iamfake is a minimal fake of the IAM REST API's workload identity pool providers, for
// tests of code that uses the real google.golang.org/api/iam/v1 client: GET a provider, PATCH
// it with updateMask=attributeCondition (answering a long-running operation that completes
// after a configurable number of polls) and GET the operation. It records every PATCH.
package iamfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Server is the fake. Build it with New; close it with Close.
type Server struct {
	srv *httptest.Server

	mu         sync.Mutex
	providers  map[string]string // resource name -> attribute condition
	ops        map[string]*op
	patches    []Patch
	pollsUntil int
	failNext   int // HTTP status for the next PATCH, 0 for none
	failOp     bool
}

type op struct {
	polls int
	fail  bool
}

// Patch is one PATCH the fake received.
type Patch struct {
	Provider   string
	UpdateMask string
	Condition  string
}

// New starts a fake on loopback holding the given providers (resource name -> condition).
func New(providers map[string]string) *Server {
	s := &Server{providers: map[string]string{}, ops: map[string]*op{}, pollsUntil: 1}
	for k, v := range providers {
		s.providers[k] = v
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the endpoint to give the client (option.WithEndpoint).
func (s *Server) URL() string { return s.srv.URL + "/" }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Condition returns a provider's current attribute condition.
func (s *Server) Condition(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.providers[name]
}

// SetCondition changes a provider's condition behind the client's back.
func (s *Server) SetCondition(name, cond string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.providers[name] = cond
}

// Patches returns the PATCHes received so far.
func (s *Server) Patches() []Patch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Patch(nil), s.patches...)
}

// PollsUntilDone sets how many operation GETs answer done=false before done=true (default 1).
func (s *Server) PollsUntilDone(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pollsUntil = n
}

// FailNextPatch makes the next PATCH answer the given HTTP status with a Google error body.
func (s *Server) FailNextPatch(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = status
}

// FailNextOperation makes the next PATCH's operation finish with an INVALID_ARGUMENT error
// (and leaves the condition unchanged).
func (s *Server) FailNextOperation() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failOp = true
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/v1/")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case strings.Contains(name, "/operations/") && r.Method == http.MethodGet:
		o, ok := s.ops[name]
		if !ok {
			writeErr(w, http.StatusNotFound, "NOT_FOUND", "operation not found")
			return
		}
		o.polls++
		body := map[string]any{"name": name, "done": o.polls >= s.pollsUntil}
		if o.fail && o.polls >= s.pollsUntil {
			body["error"] = map[string]any{"code": 3, "message": "invalid attribute condition"}
		}
		writeJSON(w, http.StatusOK, body)
	case r.Method == http.MethodGet:
		cond, ok := s.providers[name]
		if !ok {
			writeErr(w, http.StatusNotFound, "NOT_FOUND", "provider not found")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"name": name, "attributeCondition": cond, "state": "ACTIVE"})
	case r.Method == http.MethodPatch:
		s.patch(w, r, name)
	default:
		writeErr(w, http.StatusMethodNotAllowed, "INVALID_ARGUMENT", "unsupported")
	}
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request, name string) {
	if _, ok := s.providers[name]; !ok {
		writeErr(w, http.StatusNotFound, "NOT_FOUND", "provider not found")
		return
	}
	var body struct {
		AttributeCondition string `json:"attributeCondition"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeErr(w, http.StatusBadRequest, "INVALID_ARGUMENT", err.Error())
		return
	}
	mask := r.URL.Query().Get("updateMask")
	s.patches = append(s.patches, Patch{Provider: name, UpdateMask: mask, Condition: body.AttributeCondition})
	if st := s.failNext; st != 0 {
		s.failNext = 0
		writeErr(w, st, http.StatusText(st), "injected failure")
		return
	}
	if mask != "attributeCondition" {
		writeErr(w, http.StatusBadRequest, "INVALID_ARGUMENT", "updateMask must be attributeCondition")
		return
	}
	opName := fmt.Sprintf("%s/operations/op-%d", name, len(s.patches))
	s.ops[opName] = &op{fail: s.failOp}
	if !s.failOp {
		s.providers[name] = body.AttributeCondition
	}
	s.failOp = false
	writeJSON(w, http.StatusOK, map[string]any{"name": opName, "done": false})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": status, "message": msg, "status": code}})
}
