package workload

import (
	"context"
	"io"

	"cloud.google.com/go/storage"
	"github.com/cspipe/cspipe/internal/blob"
)

// GCSStore is a Store on Cloud Storage: blob.GCS plus streaming uploads.
type GCSStore struct {
	*blob.GCS
	c *storage.Client
}

var _ Store = (*GCSStore)(nil)

// NewGCSStore wraps a storage client built by the caller.
func NewGCSStore(c *storage.Client) *GCSStore { return &GCSStore{GCS: blob.NewGCS(c), c: c} }

// NewWriter implements Store. Cancel ctx to abandon the upload.
func (s *GCSStore) NewWriter(ctx context.Context, bucket, name, contentType string) io.WriteCloser {
	w := s.c.Bucket(bucket).Object(name).NewWriter(ctx)
	w.ContentType = contentType
	w.ChunkSize = 4 << 20 // resumable upload in 4 MiB chunks: memory stays flat however many records
	return w
}
