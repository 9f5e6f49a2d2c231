// Package blob is the smallest object-store interface the pipeline needs: stream an object,
// write one under a generation precondition, read attributes, list a prefix. Cloud Storage
// satisfies it (NewGCS) and so does an in-memory store for tests (NewMemory). State changes in
// the pipeline go through Write with a Cond, which is what makes duplicate events harmless.
package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

var (
	// ErrNotFound means the bucket or object does not exist.
	ErrNotFound = errors.New("object not found")
	// ErrPrecondition means a Cond did not hold: the object exists, or its generation moved.
	ErrPrecondition = errors.New("precondition failed")
)

// Attrs are an object's attributes.
type Attrs struct {
	Bucket      string
	Name        string
	Generation  int64
	Size        int64
	ContentType string
	Metadata    map[string]string
	Updated     time.Time
}

// Cond is a write precondition. The zero value writes unconditionally.
type Cond struct {
	// DoesNotExist makes the write fail with ErrPrecondition if the object exists
	// (GCS ifGenerationMatch=0).
	DoesNotExist bool
	// GenerationMatch, when non-zero, makes the write fail unless the live generation equals it.
	GenerationMatch int64
}

// Object is what Write stores.
type Object struct {
	Data        []byte
	ContentType string
	Metadata    map[string]string
}

// Store is an object store.
type Store interface {
	// NewReader streams an object. The caller closes it.
	NewReader(ctx context.Context, bucket, name string) (io.ReadCloser, Attrs, error)
	// Write stores an object if cond holds and returns its new attributes.
	Write(ctx context.Context, bucket, name string, obj Object, cond Cond) (Attrs, error)
	// Attrs returns an object's attributes.
	Attrs(ctx context.Context, bucket, name string) (Attrs, error)
	// List calls fn for each object under prefix, in lexical order, until fn returns an error.
	List(ctx context.Context, bucket, prefix string, fn func(Attrs) error) error
}

// ReadAll reads a whole object, refusing one larger than limit bytes (limit <= 0: no limit).
func ReadAll(ctx context.Context, s Store, bucket, name string, limit int64) ([]byte, Attrs, error) {
	r, a, err := s.NewReader(ctx, bucket, name)
	if err != nil {
		return nil, Attrs{}, err
	}
	defer r.Close()
	var src io.Reader = r
	if limit > 0 {
		src = io.LimitReader(r, limit+1)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(src); err != nil {
		return nil, a, fmt.Errorf("reading gs://%s/%s: %w", bucket, name, err)
	}
	if limit > 0 && int64(buf.Len()) > limit {
		return nil, a, fmt.Errorf("gs://%s/%s is larger than %d bytes", bucket, name, limit)
	}
	return buf.Bytes(), a, nil
}
