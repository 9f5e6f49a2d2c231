package gcsauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Object records. fake-gcs-server's filesystem backend keeps each object's attributes as one JSON
// record (in the extended attribute user.metadata of the object's file, or in a NAME.metadata
// file beside it where the file system has no extended attributes). It knows no metageneration
// and no composite objects, and its metadata update rewrites the whole object under a new
// generation. The front keeps what Cloud Storage would serve in the same record, under keys the
// backend ignores when it reads it back:
//
//   - "Metageneration": 1 for a fresh generation, plus one per metadata update (absent means 1);
//   - "ComponentCount": for a composed object, the number of components (absent: not composite).
//
// After a metadata update the front writes the object's generation back to what it was, so every
// answer the backend gives from then on (listings, downloads, notifications of later events,
// upload preconditions, which the backend checks atomically) carries the generation Cloud Storage
// would. Kept in the backend's record, the values outlive a restart with the data directory.
//
// The front serializes its own record changes (metadata updates, compose). An upload through the
// backend is not part of that: one that replaces the object between the backend's metadata update
// and the front's rewrite is seen by its generation and left alone, but one landing between that
// check and the write would get the old generation back. A client's own sequence of requests
// never meets that window; concurrent writers of one object might.

const (
	recordXattr  = "user.metadata"
	recordSuffix = ".metadata"
)

// record is an object's stored attributes, key by key.
type record map[string]json.RawMessage

// errNoRecord reports an object the backend does not have.
var errNoRecord = errors.New("no such object")

// recordPath is the backend's file of bucket/object.
func (s *Server) recordPath(bucket, object string) string {
	return filepath.Join(s.root, url.PathEscape(bucket), object)
}

// readRecord reads the record of bucket/object.
func (s *Server) readRecord(bucket, object string) (record, error) {
	path := s.recordPath(bucket, object)
	b, err := os.ReadFile(path + recordSuffix)
	if errors.Is(err, os.ErrNotExist) {
		b, err = getXattr(path)
	}
	if err != nil {
		return nil, errNoRecord
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// writeRecord replaces the record of bucket/object where the backend keeps it.
func (s *Server) writeRecord(bucket, object string, rec record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	path := s.recordPath(bucket, object)
	if _, err := os.Stat(path + recordSuffix); err == nil {
		tmp := path + recordSuffix + ".front"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			return err
		}
		return os.Rename(tmp, path+recordSuffix)
	}
	return unix.Setxattr(path, recordXattr, b, 0)
}

func getXattr(path string) ([]byte, error) {
	n, err := unix.Getxattr(path, recordXattr, nil)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n+1024) // room for a write between the two calls
	n, err = unix.Getxattr(path, recordXattr, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// int64Field is a numeric field of rec (0 when absent or not a number).
func (rec record) int64Field(key string) int64 {
	var n int64
	if v, ok := rec[key]; ok {
		_ = json.Unmarshal(v, &n)
	}
	return n
}

func (rec record) setInt64(key string, n int64) { rec[key] = json.RawMessage(strconv.FormatInt(n, 10)) }

// metageneration is the record's metageneration (1 unless the front recorded updates).
func (rec record) metageneration() int64 {
	if m := rec.int64Field("Metageneration"); m > 0 {
		return m
	}
	return 1
}

// served is what the front knows of one generation of an object beyond the backend's answer.
type served struct {
	generation     int64
	metageneration int64
	components     int64 // 0: not composite
}

// servedFor is what the front serves for bucket/object; ok is false when there is no record.
func (s *Server) servedFor(bucket, object string) (served, bool) {
	rec, err := s.readRecord(bucket, object)
	if err != nil {
		return served{}, false
	}
	return served{generation: rec.int64Field("Generation"), metageneration: rec.metageneration(), components: rec.int64Field("ComponentCount")}, true
}

// fixResource makes an object resource of the JSON API say what Cloud Storage says: the
// metageneration the front counts and, for a composed object, componentCount and no md5Hash.
// A resource of a generation other than the live one is left as it is.
func (s *Server) fixResource(obj map[string]any) {
	bucket, _ := obj["bucket"].(string)
	name, _ := obj["name"].(string)
	if bucket == "" || name == "" {
		return
	}
	sv, ok := s.servedFor(bucket, name)
	if !ok || jsonInt(obj["generation"]) != sv.generation {
		return
	}
	obj["metageneration"] = strconv.FormatInt(sv.metageneration, 10)
	if sv.components > 0 {
		delete(obj, "md5Hash")
		obj["componentCount"] = sv.components
	}
}

// jsonInt reads a JSON API int64 (a string) or number decoded with UseNumber.
func jsonInt(v any) int64 {
	switch t := v.(type) {
	case string:
		n, _ := strconv.ParseInt(t, 10, 64)
		return n
	case json.Number:
		n, _ := t.Int64()
		return n
	}
	return 0
}

// decodeJSON decodes an answer's body keeping numbers exact.
func decodeJSON(b []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return nil, false
	}
	return m, true
}
