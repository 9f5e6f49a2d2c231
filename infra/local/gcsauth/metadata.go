package gcsauth

import (
	"bytes"
	"encoding/json"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
)

// MaxCustomMetadata is Cloud Storage's limit on an object's custom metadata: the keys and values
// together, in bytes (https://cloud.google.com/storage/quotas, "Maximum size of custom metadata
// per object"; MAX_CUSTOM_METADATA_TOTAL_SIZE_BYTES in the storage v1 RPC reference).
// fake-gcs-server takes any size.
const MaxCustomMetadata = 8 << 10

// customMetadataProblem returns a refusal when a request sets more custom metadata than Cloud
// Storage keeps: an upload's metadata (multipart first part, resumable start body, the XML API's
// x-goog-meta-* headers), a metadata update (patch or update body), a compose's destination or
// a copy's resource body. A patch merges into the object's metadata, which current returns
// (nil when the object does not exist). The body stays readable for the backend.
func customMetadataProblem(r *http.Request, current func() map[string]string) string {
	size := -1
	p := r.URL.EscapedPath()
	q := r.URL.Query()
	switch {
	case headerMetadataSize(r) > 0: // an XML API upload (already turned into a JSON one by the front)
		size = headerMetadataSize(r)
	case strings.HasPrefix(p, "/upload/storage/v1/") && q.Get("uploadType") == "multipart":
		size = multipartMetadataSize(r)
	case strings.HasPrefix(p, "/upload/storage/v1/") && q.Get("uploadType") == "resumable" && r.Method == http.MethodPost && !q.Has("upload_id"):
		size = jsonMetadataSize(r, false)
	case strings.HasPrefix(p, "/storage/v1/b/") && strings.Contains(p, "/o/"):
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(p, "/compose"):
			size = jsonMetadataSize(r, true)
		case r.Method == http.MethodPatch || r.Method == http.MethodPost && r.Header.Get("X-HTTP-Method-Override") == "PATCH":
			size = patchedMetadataSize(r, current())
		case r.Method == http.MethodPut || r.Method == http.MethodPost && !strings.HasSuffix(p, "/acl"):
			size = jsonMetadataSize(r, false)
		}
	}
	if size > MaxCustomMetadata {
		return "The custom metadata of the object is " + strconv.Itoa(size) + " bytes (keys and values); the limit is " + strconv.Itoa(MaxCustomMetadata) + "."
	}
	return ""
}

// headerMetadataSize sums the XML API's x-goog-meta-* headers (names without the prefix).
func headerMetadataSize(r *http.Request) int {
	size := 0
	for k, vs := range r.Header {
		if name, ok := strings.CutPrefix(strings.ToLower(k), "x-goog-meta-"); ok {
			for _, v := range vs {
				size += len(name) + len(v)
			}
		}
	}
	return size
}

// metadataSize sums the keys and values of a metadata object (null values, which a patch uses to
// remove a key, count their key only).
func metadataSize(m map[string]*string) int {
	n := 0
	for k, v := range m {
		n += len(k)
		if v != nil {
			n += len(*v)
		}
	}
	return n
}

// jsonMetadataSize is the size of the metadata in a JSON request body (the object resource, or
// with destination the compose request's destination resource); -1 when there is none.
func jsonMetadataSize(r *http.Request, destination bool) int {
	if r.Body == nil || r.Body == http.NoBody {
		return -1
	}
	b, err := peekBody(r, maxMetadataBody)
	if err != nil {
		return -1 // the route's own checks refuse bodies over the limit
	}
	var obj struct {
		Metadata    map[string]*string `json:"metadata"`
		Destination struct {
			Metadata map[string]*string `json:"metadata"`
		} `json:"destination"`
	}
	if json.NewDecoder(bytes.NewReader(b)).Decode(&obj) != nil {
		return -1
	}
	if destination {
		return metadataSize(obj.Destination.Metadata)
	}
	return metadataSize(obj.Metadata)
}

// patchedMetadataSize is the size of the metadata a patch leaves: current with the body's keys
// set, and those given null removed.
func patchedMetadataSize(r *http.Request, current map[string]string) int {
	if r.Body == nil || r.Body == http.NoBody {
		return -1
	}
	b, err := peekBody(r, maxMetadataBody)
	if err != nil {
		return -1
	}
	var obj struct {
		Metadata map[string]*string `json:"metadata"`
	}
	if json.NewDecoder(bytes.NewReader(b)).Decode(&obj) != nil || obj.Metadata == nil {
		return -1
	}
	merged := map[string]*string{}
	for k, v := range current {
		merged[k] = &v
	}
	for k, v := range obj.Metadata {
		if v == nil {
			delete(merged, k)
			continue
		}
		merged[k] = v
	}
	return metadataSize(merged)
}

// multipartMetadataSize is the size of the metadata in a multipart upload's first part.
func multipartMetadataSize(r *http.Request) int {
	if r.Body == nil || r.Body == http.NoBody {
		return -1
	}
	b, _ := peekBody(r, maxMetadataBody)
	_, params, _ := mime.ParseMediaType(gsutilBoundary.ReplaceAllString(r.Header.Get("Content-Type"), `boundary="$1"`))
	part, err := multipart.NewReader(bytes.NewReader(b), params["boundary"]).NextPart()
	if err != nil {
		return -1
	}
	var obj struct {
		Metadata map[string]*string `json:"metadata"`
	}
	if json.NewDecoder(part).Decode(&obj) != nil {
		return -1
	}
	return metadataSize(obj.Metadata)
}
