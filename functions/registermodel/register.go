package registermodel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cspipe/cspipe/internal/archive"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/errclass"
	"github.com/cspipe/cspipe/internal/events"
	"github.com/cspipe/cspipe/internal/records"
)

// Outcome says what Register did.
type Outcome string

// Outcomes of Register.
const (
	Registered Outcome = "registered" // a new manifest was written
	Duplicate  Outcome = "duplicate"  // this generation already has a manifest
	Stale      Outcome = "stale"      // the object has a newer generation (or is gone) by now
	Ignored    Outcome = "ignored"    // not a model archive in the model bucket
)

// Result is what Register did and the manifest it wrote or found.
type Result struct {
	Outcome  Outcome
	Manifest records.Manifest
}

// maxManifest bounds how much of an existing manifest is read.
const maxManifest = 1 << 20

// Register validates the archive obj describes and writes its manifest. A bad archive is not
// an error: it gets a "rejected" manifest. Errors are failures to read or write (retryable) or
// a concurrent writer winning the precondition race (retryable; the redelivery is a no-op).
func (f *Function) Register(ctx context.Context, obj events.StorageObject) (Result, error) {
	if obj.Bucket != f.cfg.ModelBucket || !f.archiveName(obj.Name) {
		return Result{Outcome: Ignored}, nil
	}
	manifestName := obj.Name + records.ManifestSuffix
	old, oldGen, err := f.readManifest(ctx, obj.Bucket, manifestName)
	if err != nil {
		return Result{}, err
	}
	if oldGen != 0 && old.Generation == obj.Generation {
		return Result{Outcome: Duplicate, Manifest: old}, nil
	}
	if oldGen != 0 && old.Generation > obj.Generation {
		return Result{Outcome: Stale, Manifest: old}, nil
	}
	m, outcome, err := f.inspect(ctx, obj)
	if err != nil || outcome != Registered {
		return Result{Outcome: outcome}, err
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Result{}, errclass.Permanent(fmt.Errorf("encoding manifest: %w", err))
	}
	cond := blob.Cond{DoesNotExist: true}
	if oldGen != 0 {
		cond = blob.Cond{GenerationMatch: oldGen}
	}
	_, err = f.store.Write(ctx, obj.Bucket, manifestName, blob.Object{Data: append(data, '\n'), ContentType: "application/json"}, cond)
	if errors.Is(err, blob.ErrPrecondition) {
		// Someone else wrote the manifest meanwhile; the redelivery will find it and decide.
		return Result{}, fmt.Errorf("writing manifest gs://%s/%s: lost a race, retrying: %w", obj.Bucket, manifestName, err)
	}
	if err != nil {
		return Result{}, fmt.Errorf("writing manifest gs://%s/%s: %w", obj.Bucket, manifestName, err)
	}
	return Result{Outcome: Registered, Manifest: m}, nil
}

// readManifest returns the existing manifest and its object generation (0: none). A manifest
// that does not decode is returned as the zero Manifest with its generation, so it is replaced.
func (f *Function) readManifest(ctx context.Context, bucket, name string) (records.Manifest, int64, error) {
	b, a, err := blob.ReadAll(ctx, f.store, bucket, name, maxManifest)
	if errors.Is(err, blob.ErrNotFound) {
		return records.Manifest{}, 0, nil
	}
	if err != nil {
		return records.Manifest{}, 0, fmt.Errorf("reading manifest: %w", err)
	}
	var m records.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return records.Manifest{}, a.Generation, nil
	}
	return m, a.Generation, nil
}

// inspect streams the object once and builds its manifest.
func (f *Function) inspect(ctx context.Context, obj events.StorageObject) (records.Manifest, Outcome, error) {
	m := records.Manifest{Object: obj.Name, Generation: obj.Generation, Size: obj.Size, RegisteredAt: f.now().UTC()}
	if d := archive.ForeignObject(obj.Name); d != "" && !f.hasArchiveSuffix(obj.Name) {
		m.Status = records.ManifestRejected
		m.Reason = (&archive.Error{Reason: archive.ReasonUnsupportedModel, Detail: d}).Error()
		return m, Registered, nil
	}
	if obj.Size > f.limits.MaxCompressed {
		m.Status = records.ManifestRejected
		m.Reason = (&archive.Error{Reason: archive.ReasonTooLarge,
			Detail: fmt.Sprintf("archive is %d bytes, limit %d", obj.Size, f.limits.MaxCompressed)}).Error()
		return m, Registered, nil
	}
	r, attrs, err := f.store.NewReader(ctx, obj.Bucket, obj.Name)
	if errors.Is(err, blob.ErrNotFound) {
		return m, Stale, nil
	}
	if err != nil {
		return m, "", fmt.Errorf("opening gs://%s/%s: %w", obj.Bucket, obj.Name, err)
	}
	defer r.Close()
	switch {
	case attrs.Generation > obj.Generation:
		return m, Stale, nil
	case attrs.Generation < obj.Generation:
		return m, "", fmt.Errorf("gs://%s/%s: read generation %d, event says %d", obj.Bucket, obj.Name, attrs.Generation, obj.Generation)
	}
	rep, err := archive.Validate(r, f.limits)
	var ae *archive.Error
	switch {
	case errors.As(err, &ae):
		m.Status = records.ManifestRejected
		m.Reason = ae.Error()
	case err != nil:
		return m, "", fmt.Errorf("reading gs://%s/%s: %w", obj.Bucket, obj.Name, err)
	default:
		m.Status = records.ManifestAccepted
		m.Entries = rep.Entries
		m.Uncompressed = rep.Uncompressed
		m.Metadata = rep.Metadata
		m.SHA256, m.Size = rep.SHA256, rep.Size
	}
	return m, Registered, nil
}
