package gcsauth

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// asXMLPut turns a path-style XML API upload (PUT /BUCKET/OBJECT with the content as body, as
// gsutil sends in its XML mode), which fake-gcs-server does not serve, into the JSON API's media
// upload of the same object, so that it is authorized and stored like any other upload. It
// reports whether it did; the answer must then go through xmlPutWriter.
func asXMLPut(r *http.Request) bool {
	if r.Method != http.MethodPut {
		return false
	}
	q := r.URL.Query()
	if q.Has("uploadType") || q.Has("upload_id") || q.Has("X-Goog-Algorithm") || len(q) > 0 && !onlyPreconditions(q) {
		return false
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		return false
	}
	g := xmlObjectRe.FindStringSubmatch(r.URL.EscapedPath())
	if g == nil {
		return false
	}
	switch g[1] {
	case "upload", "download", "batch", "_internal", "storage", "b":
		return false
	}
	nq := url.Values{"uploadType": {"media"}, "name": {unescape(g[2])}}
	if v := r.Header.Get("X-Goog-If-Generation-Match"); v != "" {
		nq.Set("ifGenerationMatch", v)
	}
	if v := r.Header.Get("X-Goog-If-Metageneration-Match"); v != "" {
		nq.Set("ifMetagenerationMatch", v)
	}
	r.Method = http.MethodPost
	r.URL.Path = "/upload/storage/v1/b/" + unescape(g[1]) + "/o"
	r.URL.RawPath = "/upload/storage/v1/b/" + g[1] + "/o"
	r.URL.RawQuery = nq.Encode()
	return true
}

// onlyPreconditions reports whether q holds nothing but XML-API-irrelevant parameters.
func onlyPreconditions(q url.Values) bool {
	for k := range q {
		if k != "ifGenerationMatch" && k != "ifMetagenerationMatch" {
			return false
		}
	}
	return true
}

// xmlPutWriter answers a translated XML upload as the XML API does: an empty 200 whose ETag is
// the content's MD5 (quoted hex) and whose x-goog-hash / x-goog-generation headers describe the
// stored object. Errors pass through unchanged.
type xmlPutWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (x *xmlPutWriter) WriteHeader(code int) {
	if x.status == 0 {
		x.status = code
	}
}

func (x *xmlPutWriter) Write(b []byte) (int, error) {
	if x.status == 0 {
		x.status = http.StatusOK
	}
	return x.body.Write(b)
}

// finish sends the answer.
func (x *xmlPutWriter) finish() {
	if x.status == 0 {
		x.status = http.StatusOK
	}
	w := x.ResponseWriter
	if x.status/100 != 2 {
		w.WriteHeader(x.status)
		_, _ = w.Write(x.body.Bytes())
		return
	}
	setXMLObjectHeaders(w.Header(), x.body.Bytes())
	w.WriteHeader(x.status)
}

// setXMLObjectHeaders turns the headers of a JSON API answer carrying an object resource (body)
// into the XML API's answer for that object: no body, the content's MD5 as quoted-hex ETag, and
// x-goog-hash / x-goog-generation / x-goog-metageneration.
func setXMLObjectHeaders(h http.Header, body []byte) {
	var obj struct {
		MD5        string `json:"md5Hash"`
		CRC32C     string `json:"crc32c"`
		Generation string `json:"generation"`
		Size       string `json:"size"`
	}
	_ = json.Unmarshal(body, &obj)
	h.Del("Content-Type")
	if sum, err := base64.StdEncoding.DecodeString(obj.MD5); err == nil && len(sum) > 0 {
		h.Set("ETag", strconv.Quote(hex.EncodeToString(sum)))
	}
	var hashes []string
	if obj.CRC32C != "" {
		hashes = append(hashes, "crc32c="+obj.CRC32C)
	}
	if obj.MD5 != "" {
		hashes = append(hashes, "md5="+obj.MD5)
	}
	if len(hashes) > 0 {
		h.Set("X-Goog-Hash", strings.Join(hashes, ","))
	}
	if obj.Generation != "" {
		h.Set("X-Goog-Generation", obj.Generation)
		h.Set("X-Goog-Metageneration", "1")
	}
	h.Set("Content-Length", "0")
}

// asXMLResumableStart turns the XML API's start of a resumable upload (POST /BUCKET/OBJECT with
// "x-goog-resumable: start" and no body, what gsutil's XML mode sends for files over its
// resumable threshold), which fake-gcs-server does not serve, into the JSON API's start of a
// resumable upload of the same object (name, Content-Type and x-goog-meta-* metadata in the
// JSON body), so that it is authorized and stored like any other. The session it opens answers
// as the XML API does (session.xml). It reports whether it did.
func asXMLResumableStart(r *http.Request) bool {
	if r.Method != http.MethodPost || !strings.EqualFold(r.Header.Get("X-Goog-Resumable"), "start") || r.URL.RawQuery != "" {
		return false
	}
	g := xmlObjectRe.FindStringSubmatch(r.URL.EscapedPath())
	if g == nil {
		return false
	}
	switch g[1] {
	case "upload", "download", "batch", "_internal", "storage", "b", "resumable":
		return false
	}
	name := unescape(g[2])
	meta := map[string]any{"name": name}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		meta["contentType"] = ct
	}
	custom := map[string]string{}
	for k, vs := range r.Header {
		if key, ok := strings.CutPrefix(strings.ToLower(k), "x-goog-meta-"); ok && len(vs) > 0 {
			custom[key] = vs[0]
		}
	}
	if len(custom) > 0 {
		meta["metadata"] = custom
	}
	body, err := json.Marshal(meta)
	if err != nil {
		return false
	}
	nq := url.Values{"uploadType": {"resumable"}, "name": {name}}
	if v := r.Header.Get("X-Goog-If-Generation-Match"); v != "" {
		nq.Set("ifGenerationMatch", v)
	}
	r.URL.Path = "/upload/storage/v1/b/" + unescape(g[1]) + "/o"
	r.URL.RawPath = "/upload/storage/v1/b/" + g[1] + "/o"
	r.URL.RawQuery = nq.Encode()
	r.Header.Set("Content-Type", "application/json")
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return true
}
