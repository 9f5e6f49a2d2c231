package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/cspipe/cspipe/internal/blob"
)

// ImageRef is a workload image pinned by digest: Reference is "REPO@sha256:<64 hex>" and Digest
// its "sha256:<64 hex>" part.
type ImageRef struct {
	Reference string
	Digest    string
}

// ParseImageRef accepts only a reference pinned by digest ("REPO@sha256:<64 lower-case hex>").
// A tag ("REPO:latest"), an empty repository or a malformed digest is refused.
func ParseImageRef(ref string) (ImageRef, error) {
	repo, digest, ok := strings.Cut(ref, "@")
	if !ok {
		return ImageRef{}, fmt.Errorf("image reference %q is not pinned by digest (want REPO@sha256:...)", ref)
	}
	if repo == "" || strings.ContainsAny(repo, " \t\r\n\"'\\@") {
		return ImageRef{}, fmt.Errorf("image reference %q has an invalid repository", ref)
	}
	if err := checkDigest(digest); err != nil {
		return ImageRef{}, fmt.Errorf("image reference %q: %w", ref, err)
	}
	return ImageRef{Reference: ref, Digest: digest}, nil
}

func checkDigest(d string) error {
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hex) != 64 {
		return fmt.Errorf("digest %q is not sha256:<64 hex>", d)
	}
	for _, c := range hex {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return fmt.Errorf("digest %q is not sha256:<64 lower-case hex>", d)
		}
	}
	return nil
}

// ImageSource says which workload image a new run uses.
type ImageSource interface {
	WorkloadImage(ctx context.Context) (ImageRef, error)
}

// StaticImage is an ImageSource fixed at configuration time.
type StaticImage ImageRef

// WorkloadImage implements ImageSource.
func (s StaticImage) WorkloadImage(context.Context) (ImageRef, error) { return ImageRef(s), nil }

// PinPointer reads the pin record PinWorkloadImage keeps at gs://Bucket/Object (pins/latest.json),
// so every new run uses the digest Primus's attribute condition currently admits.
type PinPointer struct {
	Store  blob.Store
	Bucket string
	Object string
}

// ParsePinURL splits "gs://bucket/object" for a PinPointer.
func ParsePinURL(u string) (bucket, object string, err error) {
	rest, ok := strings.CutPrefix(u, "gs://")
	bucket, object, _ = strings.Cut(rest, "/")
	if !ok || bucket == "" || object == "" {
		return "", "", fmt.Errorf("pin pointer %q is not gs://bucket/object", u)
	}
	return bucket, object, nil
}

// maxPinRecord bounds the pin record read.
const maxPinRecord = 64 << 10

// WorkloadImage implements ImageSource. A missing pointer (nothing pinned yet), a pointer whose
// reference is not pinned by digest, or whose digest disagrees, is an error; all are retryable,
// because acking would lose the run while the pin may be fixed.
func (p PinPointer) WorkloadImage(ctx context.Context) (ImageRef, error) {
	b, _, err := blob.ReadAll(ctx, p.Store, p.Bucket, p.Object, maxPinRecord)
	if err != nil {
		if errors.Is(err, blob.ErrNotFound) {
			return ImageRef{}, fmt.Errorf("%w at gs://%s/%s: %w", ErrNotPinned, p.Bucket, p.Object, err)
		}
		return ImageRef{}, fmt.Errorf("reading pin pointer: %w", err)
	}
	var rec struct {
		ImageReference string `json:"image_reference"`
		Digest         string `json:"digest"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return ImageRef{}, fmt.Errorf("pin pointer gs://%s/%s: %w", p.Bucket, p.Object, err)
	}
	ref, err := ParseImageRef(rec.ImageReference)
	if err != nil {
		return ImageRef{}, fmt.Errorf("pin pointer gs://%s/%s: %w", p.Bucket, p.Object, err)
	}
	if ref.Digest != rec.Digest {
		return ImageRef{}, fmt.Errorf("pin pointer gs://%s/%s: image_reference digest %s differs from digest %q",
			p.Bucket, p.Object, ref.Digest, rec.Digest)
	}
	return ref, nil
}

// ErrNotPinned: no workload image is pinned yet. A run that meets it waits for the pin (its start
// is retried) without spending one of its MaxAttempts: uploads that arrive before the first pin,
// or between the provider's update and the audit record, run once the pin is there.
var ErrNotPinned = errors.New("no workload image pinned yet")
