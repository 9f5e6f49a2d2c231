package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/errclass"
)

// Run states in run.json.
const (
	RunPending  = "pending"  // an event (or the sweeper) holds the lease to start the execution
	RunStarted  = "started"  // the execution exists; Execution names it
	RunFinished = "finished" // the execution succeeded (the sweeper saw it)
	RunFailed   = "failed"   // the run died; Reason says why, and its summaries say so too
)

// RunRecord is the content of a batch's run.json.
type RunRecord struct {
	BatchID    string    `json:"batch_id"`
	RunID      string    `json:"run_id"`
	State      string    `json:"state"`
	Attempt    int       `json:"attempt"`
	Holder     string    `json:"holder,omitempty"`     // pending: the claim key whose event holds the lease
	LeaseUntil time.Time `json:"lease_until,omitzero"` // pending: the lease's end
	LastError  string    `json:"last_error,omitempty"` // the last failed start
	Execution  string    `json:"execution,omitempty"`  // started: the execution's resource name
	StartedAt  time.Time `json:"started_at,omitzero"`  // started: when it was recorded
	EndedAt    time.Time `json:"ended_at,omitzero"`    // finished or failed: when the sweeper saw it
	Reason     string    `json:"reason,omitempty"`     // failed: why
}

// ErrStartInProgress is returned (retryable) to a redelivery of the event that holds a pending
// run's lease while the lease is fresh: the first delivery may still be starting the execution.
var ErrStartInProgress = errors.New("the run's execution is being started by an earlier delivery of this event")

// ensureRun makes sure batchID's execution is started or being started by a live lease holder.
// It reports whether this call started it and the execution name when known.
func (s *Scheduler) ensureRun(ctx context.Context, batchID, key string) (bool, string, error) {
	name := runName(batchID)
	for range 5 {
		b, a, err := blob.ReadAll(ctx, s.store, s.opt.StateBucket, name, maxStateObject)
		if errors.Is(err, blob.ErrNotFound) {
			rec := RunRecord{BatchID: batchID, RunID: RunID(batchID), State: RunPending, Attempt: 1,
				Holder: key, LeaseUntil: s.now().Add(s.opt.Lease).UTC()}
			gen, err := s.writeRun(ctx, name, rec, blob.Cond{DoesNotExist: true})
			if errors.Is(err, blob.ErrPrecondition) {
				continue // another event created it first; look at theirs
			}
			if err != nil {
				return false, "", err
			}
			return s.start(ctx, name, rec, gen)
		}
		if err != nil {
			return false, "", fmt.Errorf("reading %s: %w", name, err)
		}
		var rec RunRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			return false, "", errclass.Permanent(fmt.Errorf("%s is corrupt: %w", name, err))
		}
		switch {
		case rec.State == RunStarted || rec.State == RunFinished || rec.State == RunFailed:
			return false, rec.Execution, nil
		case rec.State != RunPending:
			return false, "", errclass.Permanent(fmt.Errorf("%s has unknown state %q", name, rec.State))
		case s.now().Before(rec.LeaseUntil) && rec.Holder == key:
			return false, "", fmt.Errorf("%s: %w", name, ErrStartInProgress)
		case s.now().Before(rec.LeaseUntil):
			return false, "", nil // the holder's own event is redelivered if the holder fails
		}
		// The lease expired: take it over; GenerationMatch lets only one event do so.
		rec.Attempt++
		rec.Holder, rec.LeaseUntil = key, s.now().Add(s.opt.Lease).UTC()
		gen, err := s.writeRun(ctx, name, rec, blob.Cond{GenerationMatch: a.Generation})
		if errors.Is(err, blob.ErrPrecondition) {
			continue
		}
		if err != nil {
			return false, "", err
		}
		return s.start(ctx, name, rec, gen)
	}
	return false, "", fmt.Errorf("%s kept changing", name)
}

// start creates the execution for a run whose lease this call holds (run.json at generation gen)
// and records it. On failure the lease is released so the next delivery takes over at once.
func (s *Scheduler) start(ctx context.Context, name string, rec RunRecord, gen int64) (bool, string, error) {
	exec, started, err := s.createOnce(ctx, rec)
	if err != nil {
		rec.LeaseUntil, rec.LastError = time.Time{}, err.Error()
		if _, rerr := s.writeRun(ctx, name, rec, blob.Cond{GenerationMatch: gen}); rerr != nil {
			err = errors.Join(err, fmt.Errorf("releasing the lease: %w", rerr))
		}
		return false, "", fmt.Errorf("starting run %s: %w", rec.RunID, err)
	}
	rec.State, rec.Execution, rec.StartedAt = RunStarted, exec, s.now().UTC()
	rec.Holder, rec.LeaseUntil, rec.LastError = "", time.Time{}, ""
	if _, err := s.writeRun(ctx, name, rec, blob.Cond{GenerationMatch: gen}); err != nil {
		// The execution exists; whoever takes the lease over finds it by its label.
		return started, exec, fmt.Errorf("recording execution %s of run %s: %w", exec, rec.RunID, err)
	}
	return started, exec, nil
}

// createOnce creates the run's execution. A takeover (attempt > 1) first looks for a live one an
// earlier holder created but did not record (a failed or cancelled one does not count).
func (s *Scheduler) createOnce(ctx context.Context, rec RunRecord) (string, bool, error) {
	if rec.Attempt > 1 {
		name, err := s.exec.FindByLabel(ctx, s.opt.Workflow, LabelRunID, rec.RunID)
		if err != nil {
			return "", false, fmt.Errorf("looking for an earlier execution: %w", err)
		}
		if name != "" {
			return name, false, nil
		}
	}
	img, err := s.image.WorkloadImage(ctx)
	if err != nil {
		return "", false, fmt.Errorf("resolving the workload image: %w", stripPermanent(err))
	}
	arg, err := s.argument(rec.BatchID, img)
	if err != nil {
		return "", false, err
	}
	name, err := s.exec.Create(ctx, s.opt.Workflow, arg, map[string]string{LabelRunID: rec.RunID})
	if err != nil {
		return "", false, fmt.Errorf("creating execution: %w", stripPermanent(err))
	}
	return name, true, nil
}

func (s *Scheduler) writeRun(ctx context.Context, name string, rec RunRecord, cond blob.Cond) (int64, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("encoding %s: %w", name, err)
	}
	a, err := s.store.Write(ctx, s.opt.StateBucket, name, blob.Object{Data: b, ContentType: jsonType}, cond)
	if err != nil {
		return 0, fmt.Errorf("writing %s: %w", name, err)
	}
	return a.Generation, nil
}

// stripPermanent keeps err's message but drops a permanent mark: acking a failed start would
// leave the batch without a run, so starting failures are always retried.
func stripPermanent(err error) error {
	if errclass.IsPermanent(err) {
		return errors.New(err.Error())
	}
	return err
}
