package gcsauth

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/cspipe/cspipe/infra/local/httpbuf"
)

// Metadata updates and composed objects, served as Cloud Storage serves them.
//
// A metadata update (objects.patch, objects.update) keeps the object's generation, which changes
// when the object is replaced (https://cloud.google.com/storage/docs/metadata), and increments its
// metageneration, which a new generation starts at 1 (the Cloud Storage client libraries'
// generation and metageneration preconditions guide). fake-gcs-server's filesystem backend rewrote the object
// under a new generation and reported metageneration 1 forever, so a compare-and-swap on the
// generation read before someone's metadata update failed locally and held on Google Cloud, and
// ifMetagenerationMatch=1 always held.
//
// A composed object has a CRC32C but no MD5 hash, and reports componentCount
// (https://cloud.google.com/storage/docs/composite-objects, "Composite object integrity
// checking"; https://cloud.google.com/storage/docs/hashes-etags). fake-gcs-server reported the
// MD5 of the concatenated bytes, so code that relied on it worked locally only.
//
// The front keeps both facts in the backend's object record (objectrecord.go).

// maxComponents is Cloud Storage's limit on the components of one composite object
// (https://cloud.google.com/storage/docs/composite-objects, "Limitations").
const maxComponents = 1024

// objectFront serves an object request whose answer the front corrects.
type objectFront struct {
	s    *Server
	rt   route
	next http.Handler
}

func (f objectFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s, rt := f.s, f.rt
	switch {
	case rt.kind == kindMetadataUpdate:
		s.updateMetadata(w, r, f.next, rt.checks[0])
	case rt.kind == kindCompose:
		s.compose(w, r, f.next, rt)
	case rt.kind == kindObjectList:
		s.list(w, r, f.next)
	case !s.recorded.Load():
		f.next.ServeHTTP(w, r)
	case rt.kind == kindObjectRead && isMedia(r):
		c := rt.checks[0]
		f.next.ServeHTTP(&mediaHeaders{ResponseWriter: w, s: s, bucket: c.bucket, object: c.object}, r)
	case rt.kind == kindObjectRead:
		rec, m, ok := jsonAnswer(f.next, r)
		if ok {
			s.fixAnswer(m)
			setJSONBody(rec, m)
		}
		rec.Send(w)
	default:
		f.next.ServeHTTP(w, r)
	}
}

// isMedia reports whether an object read asks for the data (not the JSON resource).
func isMedia(r *http.Request) bool {
	return r.URL.Query().Get("alt") == "media" || !strings.HasPrefix(r.URL.Path, "/storage/v1/")
}

// fixAnswer corrects an object resource or each item of a listing (list.go).
func (s *Server) fixAnswer(m map[string]any) {
	switch m["kind"] {
	case "storage#object":
		s.fixResource(m)
	case "storage#objects":
		items, _ := m["items"].([]any)
		for _, it := range items {
			if o, ok := it.(map[string]any); ok {
				s.fixResource(o)
			}
		}
	}
}

// jsonAnswer has next answer r (asked uncompressed, so that it can be read) into a buffer, and
// decodes the answer when it is a 200 with a JSON object: ok is false otherwise, and the buffer is
// then sent as it is.
func jsonAnswer(next http.Handler, r *http.Request) (rec *httpbuf.Response, body map[string]any, ok bool) {
	r = r.Clone(r.Context())
	r.Header.Del("Accept-Encoding")
	rec = httpbuf.New()
	next.ServeHTTP(rec, r)
	if rec.Status() != http.StatusOK {
		return rec, nil, false
	}
	body, ok = decodeJSON(rec.Body.Bytes())
	return rec, body, ok
}

// setJSONBody replaces rec's body with m.
func setJSONBody(rec *httpbuf.Response, m map[string]any) {
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	rec.Body.Reset()
	rec.Body.Write(b)
	rec.Header().Set("Content-Length", strconv.Itoa(len(b)))
	rec.Header().Del("Content-Encoding")
}

// updateMetadata serves a metadata update of c's object: the backend applies it, and the front
// puts the generation back and counts the metageneration up.
func (s *Server) updateMetadata(w http.ResponseWriter, r *http.Request, next http.Handler, c check) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	before, err := s.readRecord(c.bucket, c.object)
	if err != nil {
		next.ServeHTTP(w, r) // the backend answers 404 itself
		return
	}
	rec, body, ok := jsonAnswer(next, r)
	if !ok {
		rec.Send(w)
		return
	}
	after, err := s.readRecord(c.bucket, c.object)
	if err != nil || after.int64Field("Generation") != jsonInt(body["generation"]) {
		rec.Send(w) // replaced meanwhile: the newer object's record is not ours to change
		return
	}
	gen := before.int64Field("Generation")
	after.setInt64("Generation", gen)
	after.setInt64("Metageneration", before.metageneration()+1)
	if n := before.int64Field("ComponentCount"); n > 0 {
		after.setInt64("ComponentCount", n)
		after["Md5Hash"] = json.RawMessage(`""`) // the backend hashed the bytes again
	}
	if err := s.writeRecord(c.bucket, c.object, after); err != nil {
		writeError(w, http.StatusServiceUnavailable, "Recording the metadata update failed: "+err.Error(), "backendError")
		return
	}
	s.recorded.Store(true)
	body["generation"] = strconv.FormatInt(gen, 10)
	s.fixResource(body)
	setJSONBody(rec, body)
	rec.Send(w)
}

// compose serves objects.compose: the destination is recorded as a composite of the sources'
// components, which Cloud Storage caps at maxComponents.
func (s *Server) compose(w http.ResponseWriter, r *http.Request, next http.Handler, rt route) {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	dst := rt.checks[len(rt.checks)-1]
	var components int64
	for _, c := range rt.checks[:len(rt.checks)-1] {
		n := int64(1)
		if sv, ok := s.servedFor(c.bucket, c.object); ok && sv.components > 0 {
			n = sv.components
		}
		components += n
	}
	if components > maxComponents {
		writeError(w, http.StatusBadRequest, "The number of components in the composite object ("+strconv.FormatInt(components, 10)+") exceeds the maximum of "+strconv.Itoa(maxComponents)+".", "invalid")
		return
	}
	rec, body, ok := jsonAnswer(next, r)
	if !ok || components == 0 {
		rec.Send(w)
		return
	}
	after, err := s.readRecord(dst.bucket, dst.object)
	if err != nil || after.int64Field("Generation") != jsonInt(body["generation"]) {
		rec.Send(w)
		return
	}
	after.setInt64("ComponentCount", components)
	after["Md5Hash"] = json.RawMessage(`""`)
	delete(after, "Metageneration")
	if err := s.writeRecord(dst.bucket, dst.object, after); err != nil {
		writeError(w, http.StatusServiceUnavailable, "Recording the composite object failed: "+err.Error(), "backendError")
		return
	}
	s.recorded.Store(true)
	s.fixResource(body)
	setJSONBody(rec, body)
	rec.Send(w)
}

// mediaHeaders corrects the object headers of a download (x-goog-metageneration; for a composed
// object x-goog-hash without md5 and x-goog-component-count) before they are sent.
type mediaHeaders struct {
	http.ResponseWriter
	s              *Server
	bucket, object string
	done           bool
}

func (m *mediaHeaders) fix() {
	if m.done {
		return
	}
	m.done = true
	h := m.Header()
	g, err := strconv.ParseInt(h.Get("X-Goog-Generation"), 10, 64)
	if err != nil {
		return
	}
	sv, ok := m.s.servedFor(m.bucket, m.object)
	if !ok || sv.generation != g {
		return
	}
	h.Set("X-Goog-Metageneration", strconv.FormatInt(sv.metageneration, 10))
	if sv.components > 0 {
		var keep []string
		for _, part := range strings.Split(h.Get("X-Goog-Hash"), ",") {
			if strings.HasPrefix(strings.TrimSpace(part), "crc32c=") {
				keep = append(keep, strings.TrimSpace(part))
			}
		}
		h.Set("X-Goog-Hash", strings.Join(keep, ","))
		h.Set("X-Goog-Component-Count", strconv.FormatInt(sv.components, 10))
	}
}

func (m *mediaHeaders) WriteHeader(code int) {
	m.fix()
	m.ResponseWriter.WriteHeader(code)
}

func (m *mediaHeaders) Write(b []byte) (int, error) {
	m.fix()
	return m.ResponseWriter.Write(b)
}
