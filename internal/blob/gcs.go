package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
)

// GCS is a Store backed by Cloud Storage (or anything that speaks its JSON API, such as the
// local stack's emulator).
type GCS struct {
	c *storage.Client
}

var _ Store = (*GCS)(nil)

// NewGCS wraps a storage client built by the caller (endpoint and credentials are its business).
func NewGCS(c *storage.Client) *GCS { return &GCS{c: c} }

// NewReader implements Store.
func (g *GCS) NewReader(ctx context.Context, bucket, name string) (io.ReadCloser, Attrs, error) {
	r, err := g.c.Bucket(bucket).Object(name).NewReader(ctx)
	if err != nil {
		return nil, Attrs{}, mapErr(bucket, name, err)
	}
	return r, Attrs{Bucket: bucket, Name: name, Generation: r.Attrs.Generation, Size: r.Attrs.Size,
		ContentType: r.Attrs.ContentType, Updated: r.Attrs.LastModified}, nil
}

// Write implements Store.
func (g *GCS) Write(ctx context.Context, bucket, name string, obj Object, cond Cond) (Attrs, error) {
	o := g.c.Bucket(bucket).Object(name)
	switch {
	case cond.DoesNotExist:
		o = o.If(storage.Conditions{DoesNotExist: true})
	case cond.GenerationMatch != 0:
		o = o.If(storage.Conditions{GenerationMatch: cond.GenerationMatch})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := o.NewWriter(ctx)
	w.ContentType = obj.ContentType
	w.Metadata = obj.Metadata
	w.ChunkSize = 0 // single request: the objects we write are small
	if _, err := w.Write(obj.Data); err != nil {
		cancel()
		_ = w.Close()
		return Attrs{}, mapErr(bucket, name, err)
	}
	if err := w.Close(); err != nil {
		return Attrs{}, mapErr(bucket, name, err)
	}
	return fromAttrs(w.Attrs()), nil
}

// Attrs implements Store.
func (g *GCS) Attrs(ctx context.Context, bucket, name string) (Attrs, error) {
	a, err := g.c.Bucket(bucket).Object(name).Attrs(ctx)
	if err != nil {
		return Attrs{}, mapErr(bucket, name, err)
	}
	return fromAttrs(a), nil
}

// List implements Store.
func (g *GCS) List(ctx context.Context, bucket, prefix string, fn func(Attrs) error) error {
	it := g.c.Bucket(bucket).Objects(ctx, &storage.Query{Prefix: prefix})
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return nil
		}
		if err != nil {
			return mapErr(bucket, prefix, err)
		}
		if err := fn(fromAttrs(a)); err != nil {
			return err
		}
	}
}

func fromAttrs(a *storage.ObjectAttrs) Attrs {
	if a == nil {
		return Attrs{}
	}
	return Attrs{Bucket: a.Bucket, Name: a.Name, Generation: a.Generation, Size: a.Size,
		ContentType: a.ContentType, Metadata: a.Metadata, Updated: a.Updated}
}

func mapErr(bucket, name string, err error) error {
	if errors.Is(err, storage.ErrObjectNotExist) || errors.Is(err, storage.ErrBucketNotExist) {
		return fmt.Errorf("gs://%s/%s: %w", bucket, name, ErrNotFound)
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		switch ge.Code {
		case http.StatusPreconditionFailed:
			return fmt.Errorf("gs://%s/%s: %w", bucket, name, ErrPrecondition)
		case http.StatusNotFound:
			return fmt.Errorf("gs://%s/%s: %w", bucket, name, ErrNotFound)
		}
	}
	return fmt.Errorf("gs://%s/%s: %w", bucket, name, err)
}
