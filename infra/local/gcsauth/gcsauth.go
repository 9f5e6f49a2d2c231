// Package gcsauth is the local Cloud Storage: fake-gcs-server (as a library) behind an HTTP
// front that enforces bucket IAM the way GCS does. A request carries a bearer token minted by
// the local IAM (infra/local/iam), or no Authorization header at all; the caller's principal
// must hold the permission the request needs, or the answer is a GCS-shaped 401/403 (404 when
// the bucket does not exist). Admin principals (the stack itself) bypass the checks.
//
// As on Cloud Storage, bindings live on buckets, but an object method is checked on the object:
// IAM Conditions see resource.name "projects/_/buckets/B/objects/O" and resource.type
// "storage.googleapis.com/Object" for get, create, overwrite (create plus delete), delete, copy
// and compose sources, and "projects/_/buckets/B" / "storage.googleapis.com/Bucket" for bucket
// methods, storage.objects.list included (so an object-name condition never grants listing).
//
// Callers without credentials follow the emulator convention: Google's clients send none when
// STORAGE_EMULATOR_HOST is set. Such a caller acts as Options.AnonymousPrincipal (the local
// stack makes it the local operator, who holds Secundus's grants and nothing of Primus's);
// without one, it gets GCS's 401.
//
// Object names are opaque keys: a name with a "." or ".." segment, a NUL, CR or LF is refused
// with a 400 on every route (path, query, JSON or multipart metadata, compose sources), because
// fake-gcs-server's filesystem backend would otherwise resolve it outside the bucket.
//
// Point clients at it with option.WithEndpoint(URL()+"/storage/v1/"), or with
// STORAGE_EMULATOR_HOST=URL().
//
// Objects always live in fake-gcs-server's filesystem backend: under Options.StorageRoot when
// they must outlive the process, otherwise in a scratch directory (on tmpfs where the machine has
// one) that Close removes. Its memory backend finds an object by scanning every object of the
// bucket, so a bucket of n objects costs O(n) per request and a 10,000-photo drop O(n²); the
// filesystem backend finds an object by its path (TestRequestCostDoesNotGrowWithTheBucket).
//
// Where that backend answers otherwise than Cloud Storage, the front corrects it: preconditions
// on reads, deletes and metadata updates (preconditions.go), metadata updates that keep the
// generation and count the metageneration, composed objects without an MD5 (objectfront.go, with
// what only the front knows kept in the backend's object record, objectrecord.go), and
// objects.list paging (list.go).
//
// It is part of the local stack and must never be linked into a binary built for GCP.
package gcsauth

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cspipe/cspipe/infra/local/httpbuf"
	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/fsouza/fake-gcs-server/fakestorage"
)

// Options configure a Server.
type Options struct {
	// AdminPrincipals bypass bucket IAM (e.g. the stack's own setup identity).
	AdminPrincipals []string
	// AnonymousPrincipal is who a request without an Authorization header acts as; empty
	// refuses such requests with GCS's 401.
	AnonymousPrincipal string
	// StorageRoot keeps objects under this directory, which outlives the server; empty keeps
	// them in a scratch directory that Close removes.
	StorageRoot string
	// Events configures fake-gcs-server's Pub/Sub notifications (PUBSUB_EMULATOR_HOST must be
	// set in the process environment before the first event).
	Events fakestorage.EventManagerOptions
	// Log receives fake-gcs-server's request log; nil discards it.
	Log io.Writer
	// Listener serves the front; nil means a fresh 127.0.0.1:0 listener.
	Listener net.Listener
}

// Server is the running IAM-enforcing storage front. Create it with New; stop it with Close.
type Server struct {
	fake   *fakestorage.Server
	ids    *iam.Server
	admins map[string]bool
	anon   string
	lis    net.Listener
	srv    *http.Server
	once   sync.Once
	// scratch is the object directory Close removes ("" when the caller chose StorageRoot).
	scratch string
	// root is the backend's object directory, whose records the front also keeps
	// (objectrecord.go).
	root string
	// recMu serializes the front's changes of object records; recorded is set once a record
	// may hold what only the front serves (a metageneration above 1, a composite).
	recMu    sync.Mutex
	recorded atomic.Bool

	mu      sync.Mutex
	uploads map[string]check // resumable upload id -> the object it was started for
	// sessions follows each resumable upload session (resumable.go).
	sessions map[string]*session
	reads    map[string]int // "bucket/object" -> successful object GETs by non-admin callers
}

// New starts fake-gcs-server without a listener of its own and serves it through the front.
func New(ids *iam.Server, opts Options) (*Server, error) {
	if ids == nil {
		return nil, fmt.Errorf("gcsauth: no iam server")
	}
	lis := opts.Listener
	if lis == nil {
		var err error
		if lis, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("gcsauth: listening: %w", err)
		}
	}
	host := lis.Addr().String()
	root, scratch := opts.StorageRoot, ""
	if root == "" {
		var err error
		if root, err = scratchDir(); err != nil {
			lis.Close()
			return nil, fmt.Errorf("gcsauth: creating the object directory: %w", err)
		}
		scratch = root
	}
	fake, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		NoListener:   true,
		Scheme:       "http",
		PublicHost:   host,
		ExternalURL:  "http://" + host,
		StorageRoot:  root,
		EventOptions: opts.Events,
		Writer:       opts.Log,
	})
	if err != nil {
		lis.Close()
		if scratch != "" {
			os.RemoveAll(scratch)
		}
		return nil, fmt.Errorf("gcsauth: starting fake-gcs-server: %w", err)
	}
	s := &Server{fake: fake, ids: ids, admins: map[string]bool{}, anon: opts.AnonymousPrincipal, lis: lis, scratch: scratch, root: root, uploads: map[string]check{}, sessions: map[string]*session{}, reads: map[string]int{}}
	s.recorded.Store(opts.StorageRoot != "") // records kept from an earlier run may hold some
	for _, p := range opts.AdminPrincipals {
		s.admins[p] = true
	}
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(lis) }()
	return s, nil
}

// URL is the front's base URL (http://127.0.0.1:PORT).
func (s *Server) URL() string { return "http://" + s.lis.Addr().String() }

// Host is the value for STORAGE_EMULATOR_HOST.
func (s *Server) Host() string { return s.lis.Addr().String() }

// JSONEndpoint is the endpoint for option.WithEndpoint in cloud.google.com/go/storage.
func (s *Server) JSONEndpoint() string { return s.URL() + "/storage/v1/" }

// Fake returns the backing fake-gcs-server for in-process administration (creating buckets,
// seeding objects). Requests through it bypass IAM.
func (s *Server) Fake() *fakestorage.Server { return s.fake }

// CreateBucket creates a bucket (bypassing IAM), with object versioning off.
func (s *Server) CreateBucket(name string) {
	s.fake.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: name})
}

// Close stops the front and the fake.
func (s *Server) Close() {
	s.once.Do(func() {
		_ = s.srv.Close()
		s.fake.Stop()
		if s.scratch != "" {
			_ = os.RemoveAll(s.scratch)
		}
	})
}

// scratchDir creates a scratch object directory: under $TMPDIR when the user set it, else under
// /dev/shm where the machine has it (tmpfs: the backend's fsync per write costs nothing there,
// and the objects stay in memory as before), else in the system's temporary directory.
func scratchDir() (string, error) {
	if os.Getenv("TMPDIR") == "" {
		if dir, err := os.MkdirTemp("/dev/shm", "cspipe-gcs-"); err == nil {
			return dir, nil
		}
	}
	return os.MkdirTemp("", "cspipe-gcs-")
}

// Handler authorizes each request and passes it to fake-gcs-server.
func (s *Server) Handler() http.Handler {
	backend := s.fake.HTTPHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// fake-gcs-server also routes by Host (virtual-hosted buckets). Authorization is
		// decided on the path alone, so only path-style requests to this front may pass.
		if !s.ownHost(r.Host) {
			writeError(w, http.StatusBadRequest, "Only path-style requests to "+s.Host()+" are served.", "invalid")
			return
		}
		r.Host = s.Host()
		if rest, ok := strings.CutPrefix(r.URL.Path, "/resumable/upload/storage/v1/"); ok {
			// Cloud Storage serves resumable uploads under /resumable/upload/… too: the path
			// apitools' storage client (gcloud storage) starts them on. fake-gcs-server routes
			// only /upload/…, and the path-style XML route would take "resumable" for a bucket.
			r.URL.Path = "/upload/storage/v1/" + rest
			r.URL.RawPath = ""
			if ep := r.URL.EscapedPath(); ep != r.URL.Path {
				r.URL.RawPath = ep
			}
		}
		if strings.HasPrefix(r.URL.Path, "/b/") || r.URL.Path == "/b" {
			// The JSON API without its /storage/v1 prefix (no GCS bucket is named "b").
			r.URL.Path = "/storage/v1" + r.URL.Path
			r.URL.RawPath = ""
			if ep := r.URL.EscapedPath(); ep != r.URL.Path {
				r.URL.RawPath = ep
			}
		}
		if msg := checkRawPath(r.URL.EscapedPath()); msg != "" {
			writeError(w, http.StatusBadRequest, msg, "invalid")
			return
		}
		xmlResumable := asXMLResumableStart(r)
		if asXMLPut(r) {
			xw := &xmlPutWriter{ResponseWriter: w}
			defer xw.finish()
			w = xw
		}
		rt := classify(r)
		token, hasToken := bearer(r)
		var principal string
		switch {
		case hasToken:
			var ok bool
			if principal, ok = s.ids.Principal(token); !ok {
				writeError(w, http.StatusUnauthorized, "Invalid Credentials", "authError")
				return
			}
		case s.anon != "" && r.Header.Get("Authorization") == "":
			principal = s.anon
		default:
			writeError(w, http.StatusUnauthorized, fmt.Sprintf("Anonymous caller does not have %s access to the Google Cloud Storage object. Permission '%s' denied on resource (or it may not exist).", rt.checks[0].perm, rt.checks[0].perm), "required")
			return
		}
		allowed := func(c check) bool {
			if hasToken {
				return s.ids.CheckToken(token, c.resource(), c.perm)
			}
			return s.ids.Check(principal, c.resource(), c.perm)
		}
		if msg := checkNames(r, rt); msg != "" {
			writeError(w, http.StatusBadRequest, msg, "invalid")
			return
		}
		if rt.problem != "" {
			writeError(w, http.StatusBadRequest, rt.problem, "invalid")
			return
		}
		if !s.admins[principal] {
			if !s.authorize(w, r, &rt, allowed, principal) {
				return
			}
		}
		if rt.legacyACL != "" {
			writeError(w, http.StatusBadRequest, rt.legacyACL, "invalid")
			return
		}
		if msg := customMetadataProblem(r, func() map[string]string { return s.currentMetadata(rt.checks[0]) }); msg != "" {
			writeError(w, http.StatusBadRequest, msg, "invalid")
			return
		}
		if rt.preconditions {
			c := rt.checks[0]
			if code, msg, reason := s.checkPreconditions(r, c.bucket, c.object); code == http.StatusNotModified {
				w.WriteHeader(code)
				return
			} else if code != 0 {
				writeError(w, code, msg, reason)
				return
			}
		}
		if rt.resumableInit && !bodyBucketMatches(r, rt.checks[0].bucket) {
			// fake-gcs-server takes the bucket of a JSON-bodied resumable upload from the body.
			writeError(w, http.StatusBadRequest, "The bucket in the request body does not match the bucket in the URL.", "invalid")
			return
		}
		if rt.resumableInit {
			w = &locationRecorder{ResponseWriter: w, s: s, object: rt.checks[len(rt.checks)-1], xml: xmlResumable}
		}
		var next http.Handler = objectFront{s: s, rt: rt, next: backend}
		if fields, ok := partialResponse(r); ok {
			next = partial{next: next, fields: fields}
		}
		if rt.uploadID != "" {
			s.continueUpload(w, r, rt.uploadID, next)
			return
		}
		if len(rt.checks) == 1 && rt.checks[0].perm == iam.PermObjectsGet && !s.admins[principal] {
			rec := &statusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			if rec.status/100 == 2 {
				s.mu.Lock()
				s.reads[rt.checks[0].bucket+"/"+rt.checks[0].object]++
				s.mu.Unlock()
			}
			return
		}
		if rt.preconditions && r.Method == http.MethodDelete {
			deleted(w, r, next)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// deleted serves an object delete and answers its success as Cloud Storage does: 204 No Content
// with an empty body (JSON objects.delete and the XML API's DELETE). fake-gcs-server answers 200
// with the body "null", which gcloud storage rm reads as a resource and fails on ("'NoneType'
// object has no attribute 'items'") after the object is gone.
func deleted(w http.ResponseWriter, r *http.Request, next http.Handler) {
	rec := httpbuf.New()
	next.ServeHTTP(rec, r)
	if rec.Status() != http.StatusOK {
		rec.Send(w)
		return
	}
	for k, v := range rec.Header() {
		if k != "Content-Type" && k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// ownHost reports whether host names this front (by loopback address or localhost).
func (s *Server) ownHost(host string) bool {
	_, port, err := net.SplitHostPort(s.Host())
	if err != nil {
		return false
	}
	for _, h := range []string{"127.0.0.1", "localhost", "[::1]"} {
		if host == h+":"+port {
			return true
		}
	}
	return false
}

// authorize checks rt for a non-admin caller; on refusal it writes the answer and returns false.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, rt *route, allowed func(check) bool, principal string) bool {
	if rt.uploadID != "" {
		s.mu.Lock()
		started, known := s.uploads[rt.uploadID]
		s.mu.Unlock()
		if !known {
			writeError(w, http.StatusNotFound, "No such upload.", "notFound")
			return false
		}
		rt.checks = []check{started}
	}
	for _, c := range rt.checks {
		if c.bucket != adminOnly && !s.bucketExists(c.bucket) {
			writeError(w, http.StatusNotFound, "The specified bucket does not exist.", "notFound")
			return false
		}
	}
	for _, c := range rt.checks {
		if c.bucket == adminOnly || !allowed(c) {
			denied(w, principal, c.perm)
			return false
		}
	}
	if !rt.create || rt.uploadID != "" {
		return true
	}
	// A write that replaces an object needs storage.objects.delete on it as well. A caller
	// without it may only create: replacing an existing object is refused with GCS's 403 (a
	// does-not-exist precondition of its own still gets 412), and the does-not-exist
	// precondition is forced so that an object created meanwhile is not replaced either.
	dst := rt.checks[len(rt.checks)-1]
	dst.perm = iam.PermObjectsDelete
	if allowed(dst) {
		return true
	}
	q := r.URL.Query()
	qg, hg := q.Get("ifGenerationMatch"), r.Header.Get("X-Goog-If-Generation-Match")
	if (qg != "" && qg != "0") || (hg != "" && hg != "0") {
		denied(w, principal, iam.PermObjectsDelete)
		return false
	}
	if qg == "" && hg == "" && s.objectExists(dst.bucket, dst.object) {
		denied(w, principal, iam.PermObjectsDelete)
		return false
	}
	q.Set("ifGenerationMatch", "0")
	r.URL.RawQuery = q.Encode()
	r.Header.Set("X-Goog-If-Generation-Match", "0")
	return true
}

// ObjectReads counts the successful reads (media or metadata GETs) of bucket/object by callers
// other than the admin principals: the attack tests check with it that the model was never read.
func (s *Server) ObjectReads(bucket, object string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[bucket+"/"+object]
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// objectExists reports whether the backend has the object (its live generation).
func (s *Server) objectExists(bucket, object string) bool {
	o, err := s.fake.Backend().GetObject(bucket, object)
	if err != nil {
		return false
	}
	if o.Content != nil {
		_ = o.Content.Close()
	}
	return true
}

// currentMetadata is the custom metadata of c's object, nil when it does not exist.
func (s *Server) currentMetadata(c check) map[string]string {
	if !c.obj {
		return nil
	}
	o, err := s.fake.Backend().GetObject(c.bucket, c.object)
	if err != nil {
		return nil
	}
	_ = o.Close()
	return o.Metadata
}

// bucketExists reports whether the backend has the bucket.
func (s *Server) bucketExists(name string) bool {
	_, err := s.fake.Backend().GetBucket(name)
	return err == nil
}

func denied(w http.ResponseWriter, principal, perm string) {
	who := principal
	for _, p := range []string{"serviceAccount:", "user:"} {
		who = strings.TrimPrefix(who, p)
	}
	writeError(w, http.StatusForbidden, fmt.Sprintf("%s does not have %s access to the Google Cloud Storage object. Permission '%s' denied on resource (or it may not exist).", who, perm, perm), "forbidden")
}

func bearer(r *http.Request) (string, bool) {
	const prefix = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	return h[len(prefix):], true
}

func writeError(w http.ResponseWriter, code int, msg, reason string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	e := map[string]any{"message": msg, "domain": "global", "reason": reason}
	if code == http.StatusUnauthorized {
		e["locationType"] = "header"
		e["location"] = "Authorization"
	}
	_, _ = fmt.Fprintf(w, "%s\n", mustJSON(map[string]any{"error": map[string]any{"code": code, "message": msg, "errors": []any{e}}}))
}

// locationRecorder remembers which object a resumable upload session was started for, so
// that its continuation is checked against that object.
type locationRecorder struct {
	http.ResponseWriter
	s      *Server
	object check
	xml    bool // the session was started through the XML API and answers as it does
}

func (l *locationRecorder) WriteHeader(code int) {
	if loc := l.Header().Get("Location"); loc != "" {
		if id := uploadIDFrom(loc); id != "" {
			l.s.mu.Lock()
			l.s.uploads[id] = l.object
			if l.xml {
				l.s.sessions[id] = &session{xml: true}
			}
			l.s.mu.Unlock()
		}
	}
	l.ResponseWriter.WriteHeader(code)
}

func (l *locationRecorder) Write(b []byte) (int, error) { return l.ResponseWriter.Write(b) }
