package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/records"
)

// sweeperHolder is the lease holder the sweeper writes into run.json when it resumes a run.
const sweeperHolder = "sweeper"

// SweepReport says what a sweep did, batch by batch.
type SweepReport struct {
	Checked  int
	Resumed  []string // batches whose run the sweeper (re)started
	Finished []string // batches whose execution succeeded
	Failed   []string // batches the sweeper failed, with summaries saying why
	// DeletedVMs are the VMs the sweeper deleted: runs whose execution is over but left them
	// (the workflow's delete failed, or the execution was cancelled or died).
	DeletedVMs []string
	// ForeignVMs carry a run's VM name but another run's or shard's metadata; left alone.
	ForeignVMs []string
}

// Sweep looks at every batch whose run is not known to be over (Head.Unfinished) and makes sure
// none stays pending or started forever (package doc, "Sweeper"):
//
//   - no run.json, or a pending run whose lease expired: start it (again), up to MaxAttempts;
//   - started, and its execution ended before the batch was sealed (no VM was created yet):
//     start a new execution, up to MaxAttempts;
//   - started, and its execution failed, was cancelled or is gone after the seal: write a failed
//     summary for every shard that has none (PublishResults sends it to the results topic) and
//     mark the run failed;
//   - out of attempts: the same failure, naming the last error;
//   - succeeded: mark it finished, unless a shard has no summary.json (the workflow could not
//     write its error summary, and finish_shard never raises): then that shard gets a failed
//     summary and the run is failed;
//   - over (finished or failed, whatever the execution's end): delete the VMs of the run that
//     still exist (Options.VMs), so none runs on until its maxRunDuration and writes results
//     behind a failed summary.
//
// Finished and failed batches leave Head.Unfinished once their VMs are deleted; a batch whose
// failure could not be recorded or whose VMs could not be deleted stays and is swept again. Sweep is idempotent and safe to run from
// many places at once: every change is a generation-matched write.
func (s *Scheduler) Sweep(ctx context.Context) (SweepReport, error) {
	var rep SweepReport
	h, _, err := s.readHead(ctx)
	if err != nil || h == nil {
		return rep, err
	}
	var done []string
	var errs []error
	for _, id := range h.Unfinished {
		rep.Checked++
		over, err := s.sweepBatch(ctx, h, id, &rep)
		if over && err == nil {
			err = s.reap(ctx, id, &rep)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("batch %s: %w", id, err))
		}
		// A run stays unfinished until its end is recorded and its VMs are gone (the next sweep
		// tries again); a malformed id is dropped, there is nothing to sweep.
		if over && (err == nil || !validBatchID(id)) {
			done = append(done, id)
		}
	}
	if len(done) > 0 {
		if err := s.retire(ctx, done); err != nil {
			errs = append(errs, err)
		}
	}
	return rep, errors.Join(errs...)
}

// sweepBatch handles one unfinished batch and reports whether its run is over.
func (s *Scheduler) sweepBatch(ctx context.Context, h *Head, id string, rep *SweepReport) (bool, error) {
	if !validBatchID(id) {
		return true, errBatchID(id)
	}
	rec, gen, err := s.readRun(ctx, id)
	if err != nil {
		return false, err
	}
	sealed := !(h.open() && h.BatchID == id)
	switch {
	case rec == nil:
		// Opened, but the opening event never got as far as run.json (and was not redelivered).
		if h.BatchID == id && s.now().Sub(h.OpenedAt) < s.opt.Lease {
			return false, nil
		}
		return false, s.resume(ctx, id, rep)
	case rec.State == RunFinished || rec.State == RunFailed:
		return true, nil
	case rec.State == RunPending:
		if s.now().Before(rec.LeaseUntil) {
			return false, nil
		}
		if rec.Attempt >= s.opt.MaxAttempts {
			return true, s.fail(ctx, *rec, gen, fmt.Sprintf("the run could not be started after %d attempts: %s", rec.Attempt, orNone(rec.LastError)), rep)
		}
		return false, s.resume(ctx, id, rep)
	case rec.State != RunStarted:
		return true, s.fail(ctx, *rec, gen, fmt.Sprintf("run.json has unknown state %q", rec.State), rep)
	}
	st, err := s.exec.State(ctx, rec.Execution)
	if errors.Is(err, ErrExecutionNotFound) {
		st, err = ExecutionState{State: "GONE", Error: "the execution no longer exists"}, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking execution %s: %w", rec.Execution, err)
	}
	switch {
	case st.State == "SUCCEEDED":
		// A succeeded execution may still have left a shard without summary.json: launch.yaml's
		// finish_shard never raises, so a shard whose error summary could not be written
		// (summary_error in the result) ends in a SUCCEEDED execution. That shard gets a failed
		// summary here, or nobody would ever hear of its images.
		wrote, err := s.writeMissingSummaries(ctx, *rec, fmt.Sprintf("the run's execution %s succeeded "+
			"but left no summary for this shard (the workflow could not write one; its result's summary_error says why)", rec.Execution))
		if err != nil {
			return false, err
		}
		if wrote > 0 {
			rec.State, rec.Reason = RunFailed, fmt.Sprintf("the run's execution %s succeeded but %d shard(s) had no summary", rec.Execution, wrote)
			rec.EndedAt = s.now().UTC()
			if _, err := s.writeRun(ctx, runName(id), *rec, blob.Cond{GenerationMatch: gen}); err != nil {
				return false, err
			}
			rep.Failed = append(rep.Failed, id)
			return true, nil
		}
		rec.State, rec.EndedAt = RunFinished, s.now().UTC()
		if _, err := s.writeRun(ctx, runName(id), *rec, blob.Cond{GenerationMatch: gen}); err != nil {
			return false, err
		}
		rep.Finished = append(rep.Finished, id)
		return true, nil
	case st.State == "ACTIVE" || st.State == "QUEUED" || st.State == "STATE_UNSPECIFIED":
		return false, nil
	}
	why := fmt.Sprintf("the run's execution %s ended %s", rec.Execution, st.State)
	if st.Error != "" {
		why += ": " + st.Error
	}
	if !sealed && rec.Attempt < s.opt.MaxAttempts {
		// It died while waiting for the batch to go quiet: no VM exists yet, start it again.
		rec.State, rec.Attempt, rec.LastError = RunPending, rec.Attempt+1, why
		rec.Holder, rec.LeaseUntil, rec.Execution = sweeperHolder, s.now().Add(s.opt.Lease).UTC(), ""
		g, err := s.writeRun(ctx, runName(id), *rec, blob.Cond{GenerationMatch: gen})
		if errors.Is(err, blob.ErrPrecondition) {
			return false, nil // someone else is on it
		}
		if err != nil {
			return false, err
		}
		if _, _, err := s.start(ctx, runName(id), *rec, g); err != nil {
			return false, err
		}
		rep.Resumed = append(rep.Resumed, id)
		return false, nil
	}
	return true, s.fail(ctx, *rec, gen, why, rep)
}

// resume takes over a batch's start the way a redelivered event would (ensureRun).
func (s *Scheduler) resume(ctx context.Context, id string, rep *SweepReport) error {
	started, _, err := s.ensureRun(ctx, id, sweeperHolder)
	if started {
		rep.Resumed = append(rep.Resumed, id)
	}
	if errors.Is(err, ErrNotPinned) {
		return nil // still waiting for the pin (run.json's last_error says so); a later sweep retries
	}
	return err
}

// fail ends a run with a message: the batch is sealed (later uploads open a new one), every
// shard without a summary gets a failed one naming the reason, and run.json says failed.
func (s *Scheduler) fail(ctx context.Context, rec RunRecord, gen int64, reason string, rep *SweepReport) error {
	if _, err := s.Seal(ctx, rec.BatchID, "run failed"); err != nil {
		return err
	}
	wrote, err := s.writeMissingSummaries(ctx, rec, reason)
	if err != nil {
		return err
	}
	rec.State, rec.Reason, rec.EndedAt = RunFailed, reason, s.now().UTC()
	if wrote == 0 {
		// Every shard had reported already (say the execution succeeded, but a restarted local
		// stack no longer knows it): nothing was lost, so the run counts as finished.
		rec.State = RunFinished
	}
	rec.Holder, rec.LeaseUntil = "", time.Time{}
	if _, err := s.writeRun(ctx, runName(rec.BatchID), rec, blob.Cond{GenerationMatch: gen}); err != nil {
		return err
	}
	if rec.State == RunFinished {
		rep.Finished = append(rep.Finished, rec.BatchID)
	} else {
		rep.Failed = append(rep.Failed, rec.BatchID)
	}
	return nil
}

// writeMissingSummaries writes a failed summary (source "sweeper", reason in error) for every
// shard of rec's run that has none, shard count from plan.json (else 1), and reports how many
// it wrote. A shard that reported keeps its summary (the write is DoesNotExist).
func (s *Scheduler) writeMissingSummaries(ctx context.Context, rec RunRecord, reason string) (int, error) {
	count := 1
	if p, err := s.readPlan(ctx, rec.BatchID); err != nil {
		return 0, err
	} else if p != nil && p.ShardCount > 1 {
		count = p.ShardCount
	}
	wrote := 0
	for shard := range count {
		sum := records.Summary{RunID: rec.RunID, Shard: shard, ShardCount: count, Status: records.StatusFailed,
			Error: reason, FinishedAt: s.now().UTC(), Source: "sweeper"}
		b, err := json.Marshal(sum)
		if err != nil {
			return wrote, err
		}
		name := records.Prefix(rec.RunID, shard, count) + records.SummaryFile
		_, err = s.store.Write(ctx, s.opt.Run.ResultsBucket, name, blob.Object{Data: b, ContentType: jsonType}, blob.Cond{DoesNotExist: true})
		switch {
		case err == nil:
			wrote++
		case !errors.Is(err, blob.ErrPrecondition):
			return wrote, fmt.Errorf("writing the failed summary %s: %w", name, err)
		}
	}
	return wrote, nil
}

// retire removes ids from Head.Unfinished.
func (s *Scheduler) retire(ctx context.Context, ids []string) error {
	for range maxPlaceRounds {
		h, gen, err := s.readHead(ctx)
		if err != nil || h == nil {
			return err
		}
		n := len(h.Unfinished)
		h.Unfinished = slices.DeleteFunc(h.Unfinished, func(id string) bool { return slices.Contains(ids, id) })
		if len(h.Unfinished) == n {
			return nil
		}
		_, err = s.writeHead(ctx, h, gen)
		if !errors.Is(err, blob.ErrPrecondition) {
			return err
		}
	}
	return errors.New("the batch head kept changing while retiring finished batches")
}

// readRun returns a batch's run.json and generation, or nil if there is none.
func (s *Scheduler) readRun(ctx context.Context, id string) (*RunRecord, int64, error) {
	b, a, err := blob.ReadAll(ctx, s.store, s.opt.StateBucket, runName(id), maxStateObject)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading %s: %w", runName(id), err)
	}
	var rec RunRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, 0, fmt.Errorf("%s is corrupt: %w", runName(id), err)
	}
	return &rec, a.Generation, nil
}

// readPlan returns a batch's plan.json, or nil if the workflow never wrote one.
func (s *Scheduler) readPlan(ctx context.Context, id string) (*Plan, error) {
	b, _, err := blob.ReadAll(ctx, s.store, s.opt.StateBucket, PlanObject(id), maxStateObject)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", PlanObject(id), err)
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %w", PlanObject(id), err)
	}
	return &p, nil
}

func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "no error recorded"
	}
	return s
}
