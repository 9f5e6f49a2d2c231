package gcsauth

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// maxMetadataBody bounds the JSON metadata of a resumable upload's first request.
const maxMetadataBody = 1 << 20

// bodyBucketMatches reports whether a JSON request body names no bucket or the given one. It
// leaves the body readable again for the backend.
func bodyBucketMatches(r *http.Request, bucket string) bool {
	if !strings.Contains(r.Header.Get("Content-Type"), "application/json") || r.Body == nil {
		return true
	}
	b, err := peekBody(r, maxMetadataBody)
	if err != nil {
		return false
	}
	var meta struct {
		Bucket string `json:"bucket"`
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return true
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return true // the backend rejects malformed metadata itself
	}
	return meta.Bucket == "" || meta.Bucket == bucket
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// uploadIDFrom extracts the upload id from a resumable session URL (query upload_id, or the
// last segment of /upload/resumable/ID).
func uploadIDFrom(loc string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return ""
	}
	if id := u.Query().Get("upload_id"); id != "" {
		return id
	}
	if d, id := path.Split(u.Path); d == "/upload/resumable/" {
		return id
	}
	return ""
}
