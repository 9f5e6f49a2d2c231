package gcsauth

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/cspipe/cspipe/infra/local/httpbuf"
)

// Resumable upload status checks. A client that lost track of a resumable upload (a chunk that
// failed, or a new process resuming from a tracker file: apitools' RefreshResumableUploadState,
// which gsutil and gcloud storage use) asks where the session stands with an empty PUT carrying
// "Content-Range: bytes */*" (or "bytes */SIZE"). Cloud Storage answers 308 Resume Incomplete
// with the bytes it holds in "Range: bytes=0-N" (no Range when it holds none) while the upload is
// incomplete, and 200 with the object once it is complete
// (https://cloud.google.com/storage/docs/performing-resumable-uploads, "Check the status of a
// resumable upload"). fake-gcs-server takes an empty "bytes */*" as the end of a streaming
// upload and commits what it holds: the status check created a truncated object and closed the
// session, and the rest of the upload then got 404.
//
// The front therefore follows each session: the bytes the backend reported holding (its Range
// answers to chunks) and, once committed, the final answer. It answers a status check itself,
// and lets an empty request through to the backend only as the end of a streaming upload whose
// declared size is exactly what the session holds.

// session is what the front knows of a resumable upload session.
type session struct {
	persisted int64             // bytes the backend holds
	final     *httpbuf.Response // the committing answer, once the upload is complete
	cancelled bool
	xml       bool // started through the XML API: the completing answer is the XML API's
}

// statusCheck reports whether r is an empty request with "Content-Range: bytes */TOTAL" and
// TOTAL (-1 for "*").
func statusCheck(r *http.Request) (total int64, ok bool) {
	if r.ContentLength != 0 {
		return 0, false
	}
	rest, found := strings.CutPrefix(r.Header.Get("Content-Range"), "bytes */")
	if !found {
		return 0, false
	}
	if rest == "*" {
		return -1, true
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// continueUpload serves a request on resumable session id through next, answering status checks
// as Cloud Storage does.
func (s *Server) continueUpload(w http.ResponseWriter, r *http.Request, id string, next http.Handler) {
	s.mu.Lock()
	ss := s.sessions[id]
	if ss == nil {
		ss = &session{}
		s.sessions[id] = ss
	}
	persisted, final, cancelled := ss.persisted, ss.final, ss.cancelled
	s.mu.Unlock()

	if total, ok := statusCheck(r); ok && !cancelled && r.Method == http.MethodPut {
		switch {
		case final != nil:
			final.Send(w)
			return
		case total != persisted:
			incomplete(w, r, persisted)
			return
		}
		// An empty last request declaring exactly the bytes held: the end of a streaming
		// upload, which the backend commits.
	}
	rec := httpbuf.New()
	next.ServeHTTP(rec, r)
	s.mu.Lock()
	switch {
	case rec.Status() == http.StatusPermanentRedirect || rec.Header().Get("X-Http-Status-Code-Override") == "308":
		if end, ok := rangeEnd(rec.Header().Get("Range")); ok {
			ss.persisted = end + 1
		}
	case rec.Status()/100 == 2:
		if ss.xml {
			setXMLObjectHeaders(rec.Header(), rec.Body.Bytes())
			rec.Body.Reset()
		}
		ss.final = rec
	case r.Method == http.MethodDelete && rec.Status() == 499:
		ss.cancelled = true
	}
	s.mu.Unlock()
	rec.Send(w)
}

// incomplete answers that the session holds persisted bytes and is not complete: 308 with the
// Range held, or, for a client that asked for no 308 (the Go client's X-GUploader-No-308), 200
// with X-Http-Status-Code-Override: 308.
func incomplete(w http.ResponseWriter, r *http.Request, persisted int64) {
	if persisted > 0 {
		w.Header().Set("Range", "bytes=0-"+strconv.FormatInt(persisted-1, 10))
	}
	w.Header().Set("Content-Length", "0")
	if strings.EqualFold(r.Header.Get("X-GUploader-No-308"), "yes") {
		w.Header().Set("X-Http-Status-Code-Override", "308")
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusPermanentRedirect)
}

// rangeEnd parses "bytes=0-N".
func rangeEnd(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(h, "bytes=0-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	return n, err == nil && n >= 0
}
