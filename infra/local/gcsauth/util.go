package gcsauth

import (
	"encoding/json"
	"net/url"
	"path"
)

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
