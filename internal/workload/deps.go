package workload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/records"
)

// Store is Secundus's object store as the workload needs it: blob.Store plus a streaming writer
// for results.jsonl, whose object appears only when Close succeeds.
type Store interface {
	blob.Store
	NewWriter(ctx context.Context, bucket, name, contentType string) io.WriteCloser
}

// Minter asks the launcher for a custom attestation token (launcherclient.Client fits).
type Minter interface {
	CustomToken(ctx context.Context, audience string, nonces []string) ([]byte, error)
}

// Prediction is one image's classification.
type Prediction struct {
	PredictedClass int
	Label          string
	TopK           []records.Class
	DecodeMS       float64
	InferMS        float64
}

// Classifier classifies one encoded image held in memory. It must be safe for concurrent use.
// A per-image problem is returned as *ImageError; any other error is recorded as inference_failed.
type Classifier interface {
	Classify(ctx context.Context, data []byte) (Prediction, error)
}

// ModelLoader turns verified archive bytes into a classifier (extract in memory, load the engine).
type ModelLoader func(ctx context.Context, archive []byte, topK int) (Classifier, error)

// ImageError is a per-image failure with a records.Err* code.
type ImageError struct {
	Code string
	Err  error
}

func (e *ImageError) Error() string { return e.Code + ": " + e.Err.Error() }
func (e *ImageError) Unwrap() error { return e.Err }

// Deps are the workload's collaborators, built by main (or a test).
type Deps struct {
	// Store reaches Secundus's buckets with the VM's own identity.
	Store Store
	// Model reaches Primus's model bucket with attested (external-account) credentials.
	Model blob.Store
	// Receipts mints the custom token bound to the results.
	Receipts Minter
	// LoadModel builds the classifier; it is called only after the archive's sha256 matched.
	LoadModel ModelLoader
	// DefaultToken returns the launcher's default token; its (unverified) claims only fill the
	// summary's image digest and reference. Optional.
	DefaultToken func() ([]byte, error)
	Log          *slog.Logger
	Now          func() time.Time
}

func (d *Deps) check() error {
	var errs []error
	if d.Store == nil {
		errs = append(errs, errors.New("store is nil"))
	}
	if d.Model == nil {
		errs = append(errs, errors.New("model store is nil"))
	}
	if d.Receipts == nil {
		errs = append(errs, errors.New("receipt minter is nil"))
	}
	if d.LoadModel == nil {
		errs = append(errs, errors.New("model loader is nil"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("workload deps: %w", err)
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return nil
}
