// Package registry is the local stand-in for Artifact Registry: go-containerregistry's in-memory
// registry on a loopback port that, like Artifact Registry, announces every manifest push on the
// `gcr` Pub/Sub topic of the repository's project.
//
// Repository naming. Artifact Registry names an image LOCATION-docker.pkg.dev/PROJECT/REPO/IMAGE;
// locally the host is 127.0.0.1:PORT and the first path segment plays the project:
//
//	127.0.0.1:PORT/<primus-project>/workloads/cspipe-workload     Primus's repository
//	127.0.0.1:PORT/<secundus-project>/workloads/cspipe-workload   Secundus's repository
//
// A push to either publishes {"action":"INSERT","digest":"HOST/REPO@sha256:…","tag":"HOST/REPO:tag"}
// to projects/<first segment>/topics/gcr through the injected Publish function.
//
// With Options.IAM, every request is authorized by repository IAM as in Artifact Registry
// (auth.go): pulls need artifactregistry.repositories.downloadArtifacts, pushes uploadArtifacts,
// on projects/PROJECT/locations/LOCATION/repositories/REPOSITORY; anonymous requests are refused.
package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Notification is the JSON body Artifact Registry publishes on the `gcr` topic.
type Notification struct {
	Action string `json:"action"`
	Digest string `json:"digest,omitempty"`
	Tag    string `json:"tag,omitempty"`
}

// PublishFunc publishes data on the `gcr` topic of project and returns once it is accepted.
type PublishFunc func(ctx context.Context, project string, data []byte) error

// Options configure a Server.
type Options struct {
	// Addr to listen on; default 127.0.0.1:0.
	Addr string
	// Publish is called after every successful manifest PUT. Nil disables notifications.
	Publish PublishFunc
	// Logger gets one line per push; default slog.Default().
	Logger *slog.Logger
	// IAM authorizes requests by repository IAM; nil serves everyone (tests of the protocol).
	IAM Authorizer
	// Location is the repositories' location in their resource names; default us-central1.
	Location string
	// Dir keeps blobs (Dir/blobs) and every manifest push (Dir/manifests.jsonl) on disk; Start
	// replays the pushes, without notifications, so images and tags survive a restart. Empty keeps
	// everything in memory.
	Dir string
}

// Server is a running registry.
type Server struct {
	host string
	srv  *http.Server
	done chan struct{}
}

// Start listens and serves until Close.
func Start(opts Options) (*Server, error) {
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("registry: listening on %s: %w", addr, err)
	}
	s := &Server{host: lis.Addr().String(), done: make(chan struct{})}
	h, err := newHandler(s.host, opts)
	if err != nil {
		lis.Close()
		return nil, err
	}
	s.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(lis)
	}()
	return s, nil
}

// Host is HOST:PORT, the registry part of image references.
func (s *Server) Host() string { return s.host }

// Repository names an image repository of project: HOST/project/workloads/image.
func (s *Server) Repository(project, image string) string {
	return s.host + "/" + project + "/workloads/" + image
}

// Close stops the server.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}

// Handler is the registry's HTTP handler for a registry reachable at host (HOST:PORT). It is
// exported so tests can mount it on httptest.
// It keeps everything in memory (opts.Dir is ignored; use Start for persistence).
func Handler(host string, opts Options) http.Handler {
	opts.Dir = ""
	h, _ := newHandler(host, opts) // no Dir: cannot fail
	return h
}

func newHandler(host string, opts Options) (http.Handler, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	ropts := []registry.Option{registry.Logger(log.New(io.Discard, "", 0))}
	var journal *manifestJournal
	if opts.Dir != "" {
		blobs := filepath.Join(opts.Dir, "blobs")
		if err := os.MkdirAll(blobs, 0o755); err != nil {
			return nil, fmt.Errorf("registry: %w", err)
		}
		ropts = append(ropts, registry.WithBlobHandler(registry.NewDiskBlobHandler(blobs)))
		journal = &manifestJournal{path: filepath.Join(opts.Dir, "manifests.jsonl")}
	}
	inner := registry.New(ropts...)
	if journal != nil {
		if err := journal.replay(inner); err != nil {
			return nil, err
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !authorize(w, r, opts) {
			return
		}
		repo, ref, ok := manifestPut(r)
		if !ok {
			inner.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxManifestBytes))
		if err != nil {
			http.Error(w, "reading the manifest: "+err.Error(), http.StatusBadRequest)
			return
		}
		if merr := checkManifest(inner, repo, ref, r.Header.Get("Content-Type"), body); merr != nil {
			merr.write(w)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &statusRecorder{ResponseWriter: w}
		inner.ServeHTTP(rec, r)
		if rec.status != http.StatusCreated {
			return
		}
		if journal != nil {
			if err := journal.add(repo, ref, r.Header.Get("Content-Type"), body); err != nil {
				logger.Error("persisting a manifest push", "error", err.Error())
			}
		}
		if opts.Publish == nil {
			return
		}
		n := notificationFor(host, repo, ref, rec.Header().Get("Docker-Content-Digest"))
		data, err := json.Marshal(n)
		if err != nil {
			logger.Error("encoding gcr notification", "error", err.Error())
			return
		}
		project, _, _ := strings.Cut(repo, "/")
		// The push already succeeded; Artifact Registry's notification is asynchronous too, but
		// publishing before returning keeps tests deterministic.
		if err := opts.Publish(r.Context(), project, data); err != nil {
			logger.Error("publishing gcr notification", "project", project, "image_digest", n.Digest, "error", err.Error())
			return
		}
		logger.Info("image pushed", "project", project, "image_digest", n.Digest, "tag", n.Tag)
	}), nil
}

// maxManifestBytes bounds a manifest body (go-containerregistry's registry allows no more).
const maxManifestBytes = 4 << 20

// manifestJournal appends every accepted manifest PUT to a JSON-lines file and replays them.
type manifestJournal struct {
	mu   sync.Mutex
	path string
}

type journalEntry struct {
	Repo        string `json:"repo"`
	Ref         string `json:"ref"`
	ContentType string `json:"content_type"`
	Body        []byte `json:"body"`
}

func (j *manifestJournal) add(repo, ref, contentType string, body []byte) error {
	b, err := json.Marshal(journalEntry{Repo: repo, Ref: ref, ContentType: contentType, Body: body})
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	f, err := os.OpenFile(j.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// replay PUTs the journal's manifests into inner, oldest first (a later push of a tag wins).
func (j *manifestJournal) replay(inner http.Handler) error {
	b, err := os.ReadFile(j.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("registry: reading %s: %w", j.path, err)
	}
	for i, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var e journalEntry
		if err := json.Unmarshal(line, &e); err != nil {
			return fmt.Errorf("registry: %s line %d: %w", j.path, i+1, err)
		}
		req := httptest.NewRequest(http.MethodPut, "/v2/"+e.Repo+"/manifests/"+e.Ref, bytes.NewReader(e.Body))
		req.Header.Set("Content-Type", e.ContentType)
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			return fmt.Errorf("registry: replaying the push of %s:%s: %d %s", e.Repo, e.Ref, rec.Code, rec.Body.String())
		}
	}
	return nil
}

// manifestPut reports whether r uploads a manifest, and its repository and reference.
func manifestPut(r *http.Request) (repo, ref string, ok bool) {
	if r.Method != http.MethodPut {
		return "", "", false
	}
	p := strings.TrimPrefix(r.URL.Path, "/v2/")
	if p == r.URL.Path {
		return "", "", false
	}
	i := strings.LastIndex(p, "/manifests/")
	if i <= 0 {
		return "", "", false
	}
	return p[:i], p[i+len("/manifests/"):], true
}

// notificationFor builds the `gcr` message for a push of ref (a tag or a digest) to repo.
func notificationFor(host, repo, ref, digest string) Notification {
	full := host + "/" + repo
	n := Notification{Action: "INSERT"}
	if digest == "" && strings.HasPrefix(ref, "sha256:") {
		digest = ref
	}
	if digest != "" {
		n.Digest = full + "@" + digest
	}
	if !strings.Contains(ref, ":") {
		n.Tag = full + ":" + ref
	}
	return n
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}
