// Package runwait follows uploads to the runs they went into: it reads each upload's claim in
// ScheduleRun's state bucket (internal/batch), and waits until every shard of every such run has
// a summary in the results bucket. `cspipe wait` and `cspipe demo` use it, so neither has to
// guess which run an upload joined or when the run is over.
package runwait

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/cspipe/cspipe/internal/batch"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/records"
)

// Upload is one object version that was uploaded to the input bucket.
type Upload struct {
	Name       string
	Generation int64
}

// Options say where to look.
type Options struct {
	StateBucket   string
	ResultsBucket string
	// Poll is the pause between looks; default 250ms.
	Poll time.Duration
	// Progress, if set, is called when the waiter learns something (a run found, a shard done).
	Progress func(format string, a ...any)
}

// Run is one run that some of the uploads went into, once it is over.
type Run struct {
	RunID      string            `json:"run_id"`
	BatchID    string            `json:"batch_id"`
	Uploads    int               `json:"uploads"` // of the waited-for uploads, how many are in this run
	ShardCount int               `json:"shard_count"`
	Status     string            `json:"status"` // ok if every shard is ok, else failed
	Images     int               `json:"images"`
	Succeeded  int               `json:"succeeded"`
	Failed     int               `json:"failed"`
	Errors     []string          `json:"errors,omitempty"` // the failed shards' messages
	Summaries  []records.Summary `json:"summaries"`
}

// maxState bounds reads of claims, plans and summaries.
const maxState = 1 << 20

// Wait returns, once all are over, the runs the uploads went into, in run id order. An upload
// that ScheduleRun ignores (not an image) never gets a claim: Wait keeps waiting for it until ctx
// ends, so callers pass only what they expect to be classified.
func Wait(ctx context.Context, store blob.Store, uploads []Upload, opt Options) ([]Run, error) {
	if opt.Poll <= 0 {
		opt.Poll = 250 * time.Millisecond
	}
	if opt.Progress == nil {
		opt.Progress = func(string, ...any) {}
	}
	w := &waiter{store: store, opt: opt, batchOf: map[Upload]string{}, runs: map[string]*Run{}}
	for {
		if err := w.readClaims(ctx, uploads); err != nil {
			return nil, err
		}
		over, err := w.readRuns(ctx)
		if err != nil {
			return nil, err
		}
		if over && len(w.batchOf) == len(uploads) {
			// A claim moves only if its batch was sealed without its item; look once more so a
			// moved upload is followed to its new run.
			moved, err := w.claimsMoved(ctx, uploads)
			if err != nil {
				return nil, err
			}
			if !moved {
				return w.result(), nil
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the runs (%d of %d uploads placed, %d runs known): %w",
				len(w.batchOf), len(uploads), len(w.runs), ctx.Err())
		case <-time.After(opt.Poll):
		}
	}
}

type waiter struct {
	store   blob.Store
	opt     Options
	batchOf map[Upload]string
	runs    map[string]*Run // by batch id
}

func (w *waiter) readClaim(ctx context.Context, u Upload) (string, error) {
	name := "claims/" + url.PathEscape(u.Name) + "#" + strconv.FormatInt(u.Generation, 10)
	b, _, err := blob.ReadAll(ctx, w.store, w.opt.StateBucket, name, maxState)
	if errors.Is(err, blob.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the claim of %s: %w", u.Name, err)
	}
	var c struct {
		BatchID string `json:"batch_id"`
	}
	if err := json.Unmarshal(b, &c); err != nil || c.BatchID == "" {
		return "", fmt.Errorf("the claim of %s does not parse", u.Name)
	}
	return c.BatchID, nil
}

func (w *waiter) readClaims(ctx context.Context, uploads []Upload) error {
	for _, u := range uploads {
		if _, ok := w.batchOf[u]; ok {
			continue
		}
		id, err := w.readClaim(ctx, u)
		if err != nil || id == "" {
			return err
		}
		w.place(u, id)
	}
	return nil
}

func (w *waiter) place(u Upload, id string) {
	if old, ok := w.batchOf[u]; ok {
		w.runs[old].Uploads--
		if w.runs[old].Uploads == 0 {
			delete(w.runs, old)
		}
	}
	w.batchOf[u] = id
	r := w.runs[id]
	if r == nil {
		r = &Run{RunID: batch.RunID(id), BatchID: id}
		w.runs[id] = r
		w.opt.Progress("uploads went into run %s", r.RunID)
	}
	r.Uploads++
}

func (w *waiter) claimsMoved(ctx context.Context, uploads []Upload) (bool, error) {
	moved := false
	for _, u := range uploads {
		id, err := w.readClaim(ctx, u)
		if err != nil {
			return false, err
		}
		if id != w.batchOf[u] {
			w.place(u, id)
			moved = true
		}
	}
	return moved, nil
}

// readRuns reports whether every known run is over (has all its summaries).
func (w *waiter) readRuns(ctx context.Context) (bool, error) {
	all := true
	for id, r := range w.runs {
		if r.Status != "" {
			continue
		}
		done, err := w.readRun(ctx, id, r)
		if err != nil {
			return false, err
		}
		all = all && done
	}
	return all, nil
}

// readRun looks for a run's summaries: plan.json gives the shard count once the batch is sealed;
// without it, a failed summary at the run's root (the sweeper's, for a run that never got that
// far) ends it.
func (w *waiter) readRun(ctx context.Context, id string, r *Run) (bool, error) {
	count := 0
	b, _, err := blob.ReadAll(ctx, w.store, w.opt.StateBucket, batch.PlanObject(id), maxState)
	switch {
	case err == nil:
		var p batch.Plan
		if err := json.Unmarshal(b, &p); err != nil {
			return false, fmt.Errorf("the plan of run %s does not parse: %w", r.RunID, err)
		}
		count = max(p.ShardCount, 1)
	case !errors.Is(err, blob.ErrNotFound):
		return false, fmt.Errorf("reading the plan of run %s: %w", r.RunID, err)
	}
	if count == 0 {
		s, ok, err := w.summary(ctx, records.Prefix(r.RunID, 0, 1))
		if err != nil || !ok || s.Status != records.StatusFailed {
			return false, err
		}
		w.finish(r, 1, []records.Summary{s})
		return true, nil
	}
	var sums []records.Summary
	for shard := range count {
		s, ok, err := w.summary(ctx, records.Prefix(r.RunID, shard, count))
		if err != nil || !ok {
			return false, err
		}
		sums = append(sums, s)
	}
	w.finish(r, count, sums)
	return true, nil
}

func (w *waiter) summary(ctx context.Context, prefix string) (records.Summary, bool, error) {
	var s records.Summary
	b, _, err := blob.ReadAll(ctx, w.store, w.opt.ResultsBucket, prefix+records.SummaryFile, maxState)
	if errors.Is(err, blob.ErrNotFound) {
		return s, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("reading gs://%s/%s%s: %w", w.opt.ResultsBucket, prefix, records.SummaryFile, err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, false, fmt.Errorf("gs://%s/%s%s does not parse: %w", w.opt.ResultsBucket, prefix, records.SummaryFile, err)
	}
	return s, true, nil
}

func (w *waiter) finish(r *Run, count int, sums []records.Summary) {
	r.ShardCount, r.Summaries, r.Status = count, sums, records.StatusOK
	for _, s := range sums {
		r.Images += s.Images
		r.Succeeded += s.Succeeded
		r.Failed += s.Failed
		if s.Status != records.StatusOK {
			r.Status = records.StatusFailed
			r.Errors = append(r.Errors, fmt.Sprintf("shard %d: %s", s.Shard, s.Error))
		}
	}
	w.opt.Progress("run %s is over: %s, %d shard(s), %d images, %d ok, %d failed", r.RunID, r.Status, count, r.Images, r.Succeeded, r.Failed)
}

func (w *waiter) result() []Run {
	out := make([]Run, 0, len(w.runs))
	for _, r := range w.runs {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Run) int {
		switch {
		case a.RunID < b.RunID:
			return -1
		case a.RunID > b.RunID:
			return 1
		}
		return 0
	})
	return out
}

// List returns the object versions under prefix in the input bucket that ScheduleRun batches
// (images by content type or name, outside the pipeline's own prefixes).
func List(ctx context.Context, store blob.Store, bucket, prefix string) ([]Upload, error) {
	var out []Upload
	err := store.List(ctx, bucket, prefix, func(a blob.Attrs) error {
		if batch.IsBatchable(a.Name, a.ContentType) {
			out = append(out, Upload{Name: a.Name, Generation: a.Generation})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing gs://%s/%s: %w", bucket, prefix, err)
	}
	return out, nil
}
