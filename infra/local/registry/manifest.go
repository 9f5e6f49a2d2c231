package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// manifestError is a refused manifest PUT in the registry API's error shape.
type manifestError struct {
	code, message string
	detail        any
}

func (e *manifestError) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	entry := map[string]any{"code": e.code, "message": e.message}
	if e.detail != nil {
		entry["detail"] = e.detail
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{entry}})
}

// checkManifest refuses a manifest PUT that a conforming registry (Artifact Registry, and the
// distribution project's reference registry, whose PutManifest does the same three checks)
// refuses, and that go-containerregistry's registry stores anyway: a body that is not a manifest
// (MANIFEST_INVALID), a push by digest whose body has another digest (DIGEST_INVALID; the
// in-memory registry would serve the body under the digest it was not), and an image manifest
// whose config or layers the registry does not hold (MANIFEST_BLOB_UNKNOWN). blobs answers the
// registry's own blob requests.
func checkManifest(blobs http.Handler, repo, ref, contentType string, body []byte) *manifestError {
	var head struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return &manifestError{code: "MANIFEST_INVALID", message: "manifest invalid", detail: err.Error()}
	}
	if strings.HasPrefix(ref, "sha256:") {
		sum := sha256.Sum256(body)
		if got := "sha256:" + hex.EncodeToString(sum[:]); got != ref {
			return &manifestError{code: "DIGEST_INVALID", message: "provided digest did not match uploaded content",
				detail: map[string]string{"digest": ref}}
		}
	}
	mt := types.MediaType(contentType)
	if head.MediaType != "" {
		mt = head.MediaType
	}
	if !mt.IsImage() {
		return nil // an index: go-containerregistry's registry checks its manifests itself
	}
	m, err := v1.ParseManifest(bytes.NewReader(body))
	if err != nil {
		return &manifestError{code: "MANIFEST_INVALID", message: "manifest invalid", detail: err.Error()}
	}
	for _, d := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		if !d.MediaType.IsDistributable() {
			continue
		}
		rec := httptest.NewRecorder()
		blobs.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/v2/"+repo+"/blobs/"+d.Digest.String(), nil))
		if rec.Code != http.StatusOK {
			return &manifestError{code: "MANIFEST_BLOB_UNKNOWN", message: "blob unknown to registry",
				detail: map[string]string{"digest": d.Digest.String()}}
		}
	}
	return nil
}
