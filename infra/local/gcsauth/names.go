package gcsauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"unicode/utf8"
)

// maxObjectName is GCS's limit on an object name, in bytes of UTF-8.
const maxObjectName = 1024

// objectNameProblem says why name may not be stored, or "" when it may. GCS refuses names
// longer than 1024 bytes, invalid UTF-8, CR or LF, and the names "." and "..". Locally a name
// with any "." or ".." segment (or a NUL) is refused as well: fake-gcs-server's filesystem
// backend joins names to paths, where such a segment would leave the bucket's directory.
func objectNameProblem(name string) string {
	switch {
	case len(name) > maxObjectName:
		return fmt.Sprintf("The object name is %d bytes long; the maximum is %d.", len(name), maxObjectName)
	case !utf8.ValidString(name):
		return "The object name is not valid UTF-8."
	case strings.ContainsAny(name, "\r\n\x00"):
		return fmt.Sprintf("Invalid object name %q: it contains a carriage return, line feed or NUL.", name)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "." || seg == ".." {
			return fmt.Sprintf("Invalid object name %q: a \".\" or \"..\" path segment is not allowed in the local stack (object names are opaque keys and never leave their bucket).", name)
		}
	}
	return ""
}

// bucketNameProblem refuses bucket names that a filesystem path could misread.
func bucketNameProblem(name string) string {
	if name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return fmt.Sprintf("Invalid bucket name: %q", name)
	}
	return ""
}

// checkRawPath refuses a request path with "." or ".." segments as sent (before any unescaping):
// fake-gcs-server does not clean paths, so such a request would be routed by its raw text.
func checkRawPath(escaped string) string {
	for _, seg := range strings.Split(escaped, "/") {
		if seg == "." || seg == ".." {
			return "Invalid request path: \".\" and \"..\" segments are not allowed."
		}
	}
	return ""
}

// checkNames finds every bucket and object name the backend would take from r (its path, the
// name query parameter, JSON metadata including compose sources, multipart metadata) and
// returns the first problem. It leaves r's body readable for the backend.
func checkNames(r *http.Request, rt route) string {
	for _, c := range rt.checks {
		if c.bucket != adminOnly {
			if msg := bucketNameProblem(c.bucket); msg != "" {
				return msg
			}
		}
		if c.obj && c.object != "" {
			if msg := objectNameProblem(c.object); msg != "" {
				return msg
			}
		}
	}
	if p := pathObject(r.URL.EscapedPath()); p != "" {
		if msg := objectNameProblem(unescape(p)); msg != "" {
			return msg
		}
	}
	if n := r.URL.Query().Get("name"); n != "" {
		if msg := objectNameProblem(n); msg != "" {
			return msg
		}
	}
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return ""
	}
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case ct == "multipart/form-data":
		return "Form (POST policy) uploads are not served by the local stack; use the JSON API."
	case ct == "application/json":
		b, err := peekBody(r, maxMetadataBody)
		if err != nil {
			return "The request's JSON metadata is larger than 1 MiB."
		}
		return jsonNamesProblem(b)
	case strings.HasPrefix(ct, "multipart/"):
		b, err := peekBody(r, maxMetadataBody)
		if err != nil && len(b) == 0 {
			return "Reading the multipart upload: " + err.Error()
		}
		part, perr := multipart.NewReader(bytes.NewReader(b), params["boundary"]).NextPart()
		if perr != nil {
			return "" // the backend refuses a malformed body itself
		}
		meta, merr := io.ReadAll(part)
		if merr != nil {
			return "The multipart upload's metadata part is larger than 1 MiB or malformed."
		}
		return jsonNamesProblem(meta)
	}
	return ""
}

// jsonNamesProblem checks name, destination.name and sourceObjects[].name of JSON metadata.
func jsonNamesProblem(b []byte) string {
	if len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	var meta struct {
		Name        string `json:"name"`
		Destination struct {
			Name string `json:"name"`
		} `json:"destination"`
		SourceObjects []struct {
			Name string `json:"name"`
		} `json:"sourceObjects"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return "" // the backend refuses malformed metadata itself
	}
	names := []string{meta.Name, meta.Destination.Name}
	for _, s := range meta.SourceObjects {
		names = append(names, s.Name)
	}
	for _, n := range names {
		if n == "" {
			continue
		}
		if msg := objectNameProblem(n); msg != "" {
			return msg
		}
	}
	return ""
}

// peekBody reads up to limit bytes of r's body and puts them back in front of the rest. It
// returns an error if the body is longer than limit (the prefix is still put back).
func peekBody(r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	rest := r.Body
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), rest), rest}
	if err != nil {
		return b, err
	}
	if int64(len(b)) > limit {
		return b[:limit], fmt.Errorf("body larger than %d bytes", limit)
	}
	return b, nil
}

// pathObject returns the escaped object part of a request path (everything after the bucket),
// or "" for routes without one.
func pathObject(escaped string) string {
	seg := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	after := func(i int) string { return strings.Join(seg[i:], "/") }
	api := func(i int) bool { return len(seg) > i+1 && seg[i] == "storage" && seg[i+1] == "v1" }
	switch {
	case api(0) && len(seg) >= 6 && seg[2] == "b" && seg[4] == "o":
		return after(5)
	case api(0):
		return "" // bucket-level JSON routes
	case (seg[0] == "download" || seg[0] == "upload") && api(1) && len(seg) >= 7 && seg[3] == "b" && seg[5] == "o":
		return after(6)
	case (seg[0] == "download" || seg[0] == "upload") && (api(1) || len(seg) == 3 && seg[1] == "resumable"):
		return ""
	case seg[0] == "batch" || seg[0] == "_internal":
		return ""
	case len(seg) >= 2:
		return after(1) // XML API: /BUCKET/OBJECT
	}
	return ""
}
