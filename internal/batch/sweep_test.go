package batch

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/records"
)

func (e *env) summary(t *testing.T, name string) (records.Summary, bool) {
	t.Helper()
	b, _, err := blob.ReadAll(t.Context(), e.mem, "results", name, 0)
	if err != nil {
		return records.Summary{}, false
	}
	var s records.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s, true
}

// reported writes the workload's ok summary of a one-shard run, as a finished shard leaves it.
func (e *env) reported(t *testing.T, runID string) {
	t.Helper()
	b, _ := json.Marshal(records.Summary{RunID: runID, ShardCount: 1, Status: records.StatusOK, Source: "workload"})
	if _, err := e.mem.Write(t.Context(), "results", records.Prefix(runID, 0, 1)+records.SummaryFile, blob.Object{Data: b}, blob.Cond{}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) sweep(t *testing.T) SweepReport {
	t.Helper()
	rep, err := e.s.Sweep(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// A start that failed and whose event was never redelivered is resumed by the sweeper once the
// lease expired; a start that keeps failing ends failed with a message on the results topic.
func TestSweepResumesAbandonedStartThenFails(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxAttempts = 3 })
	e.exec.failNext = 1
	if _, err := e.s.Schedule(t.Context(), img("a.jpg", 1)); err == nil {
		t.Fatal("want the start failure")
	}
	// The failed start released its lease, so the sweeper need not wait for it.
	if rep := e.sweep(t); !slices.Equal(rep.Resumed, []string{firstBatch}) {
		t.Errorf("sweep: %+v, want the run resumed", rep)
	}
	if rr := e.readRun(t, firstBatch); rr.State != RunStarted || len(e.exec.executions()) != 1 {
		t.Errorf("run.json = %+v with %d executions", rr, len(e.exec.executions()))
	}

	// Another batch whose starts always fail.
	e.reported(t, "batch-"+firstBatch)
	e.exec.set(e.readRun(t, firstBatch).Execution, "SUCCEEDED", "")
	e.clock.Advance(time.Minute)
	if ok, err := e.s.Seal(t.Context(), firstBatch, "quiet"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	e.exec.failNext = 100
	res, _ := e.s.Schedule(t.Context(), img("b.jpg", 1))
	second := res.BatchID
	for range 4 {
		e.clock.Advance(3 * time.Minute)
		_, _ = e.s.Sweep(t.Context())
	}
	rr := e.readRun(t, second)
	if rr.State != RunFailed || !strings.Contains(rr.Reason, "could not be started after 3 attempts") ||
		!strings.Contains(rr.Reason, "executions API unavailable") {
		t.Errorf("run.json = %+v, want failed after 3 attempts naming the error", rr)
	}
	sum, ok := e.summary(t, "runs/batch-"+second+"/summary.json")
	if !ok || sum.Status != records.StatusFailed || sum.Source != "sweeper" || sum.Error != rr.Reason || sum.RunID != "batch-"+second {
		t.Errorf("summary = %+v (found %v), want a failed sweeper summary with the reason", sum, ok)
	}
	h := e.head(t)
	if h.State != HeadSealed || len(h.Unfinished) != 0 {
		t.Errorf("head = %+v, want the failed batch sealed and nothing unfinished", h)
	}
	if rr := e.readRun(t, firstBatch); rr.State != RunFinished {
		t.Errorf("first run = %+v, want finished", rr)
	}
	// The next upload opens a fresh batch.
	e.exec.failNext = 0
	if res := e.schedule(t, "c.jpg", 1); !res.Opened || !res.Started || res.BatchID == second {
		t.Errorf("upload after the failure: %+v", res)
	}
}

// A run whose execution died after the seal (the stack stopped mid-run) is failed: each shard
// that has no summary gets one naming the reason; shards that finished keep theirs.
func TestSweepFailsDeadRunAfterSeal(t *testing.T) {
	e := newEnv(t)
	res := e.schedule(t, "a.jpg", 1)
	e.clock.Advance(20 * time.Second)
	if ok, err := e.s.Seal(t.Context(), res.BatchID, "quiet"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	plan, _ := json.Marshal(Plan{Items: 900, ShardCount: 2})
	if _, err := e.mem.Write(t.Context(), stateBucket, PlanObject(res.BatchID), blob.Object{Data: plan}, blob.Cond{}); err != nil {
		t.Fatal(err)
	}
	done, _ := json.Marshal(records.Summary{RunID: res.RunID, Shard: 0, ShardCount: 2, Status: records.StatusOK, Source: "workload"})
	if _, err := e.mem.Write(t.Context(), "results", records.Prefix(res.RunID, 0, 2)+records.SummaryFile, blob.Object{Data: done}, blob.Cond{}); err != nil {
		t.Fatal(err)
	}
	if rep := e.sweep(t); len(rep.Failed)+len(rep.Finished) != 0 {
		t.Errorf("active run swept: %+v", rep)
	}
	e.exec.set(res.Execution, "FAILED", "HTTP 503 from compute")
	if rep := e.sweep(t); !slices.Equal(rep.Failed, []string{res.BatchID}) {
		t.Fatalf("sweep: %+v, want the run failed", rep)
	}
	if s, _ := e.summary(t, records.Prefix(res.RunID, 0, 2)+records.SummaryFile); s.Status != records.StatusOK {
		t.Errorf("shard 0's own summary was replaced: %+v", s)
	}
	s, ok := e.summary(t, records.Prefix(res.RunID, 1, 2)+records.SummaryFile)
	want := "the run's execution " + res.Execution + " ended FAILED: HTTP 503 from compute"
	if !ok || s.Status != records.StatusFailed || s.Error != want || s.Shard != 1 || s.ShardCount != 2 {
		t.Errorf("shard 1 summary = %+v, want failed: %s", s, want)
	}
	if rep := e.sweep(t); rep.Checked != 0 {
		t.Errorf("a failed run is still swept: %+v", rep)
	}
}

// A run whose execution vanished before the seal (the stack restarted while the batch was
// waiting) is resumed with a new execution; the new one then seals and runs as usual.
func TestSweepResumesRunThatDiedBeforeSeal(t *testing.T) {
	e := newEnv(t)
	res := e.schedule(t, "a.jpg", 1)
	e.exec.forget(res.Execution)
	rep := e.sweep(t)
	if !slices.Equal(rep.Resumed, []string{res.BatchID}) {
		t.Fatalf("sweep: %+v, want resumed", rep)
	}
	ex := e.exec.executions()
	rr := e.readRun(t, res.BatchID)
	if len(ex) != 2 || rr.State != RunStarted || rr.Execution != ex[1].Name || rr.Attempt != 2 {
		t.Errorf("run.json = %+v with %d executions", rr, len(ex))
	}
	if h := e.head(t); !h.open() || h.BatchID != res.BatchID {
		t.Errorf("head = %+v, want the batch still open for the new execution", h)
	}
	// Uploads keep joining it.
	if r := e.schedule(t, "b.jpg", 1); r.BatchID != res.BatchID || r.Started {
		t.Errorf("upload after resume: %+v", r)
	}
}

// An event that finds the open batch long overdue sweeps: a dead workflow is noticed even when
// no new batch opens.
func TestScheduleSweepsOverdueBatch(t *testing.T) {
	e := newEnv(t)
	res := e.schedule(t, "a.jpg", 1)
	e.exec.set(res.Execution, "CANCELLED", "")
	e.clock.Advance(time.Minute)
	if r := e.schedule(t, "b.jpg", 1); r.Swept != nil {
		t.Errorf("swept while the batch is young: %+v", r)
	}
	e.clock.Advance(20 * time.Minute)
	r := e.schedule(t, "c.jpg", 1)
	if r.Swept == nil || r.SweepErr != nil || !slices.Equal(r.Swept.Resumed, []string{res.BatchID}) {
		t.Errorf("overdue event: %+v (%v)", r.Swept, r.SweepErr)
	}
}

func TestSweepRetiresFinishedRuns(t *testing.T) {
	e := newEnv(t)
	res := e.schedule(t, "a.jpg", 1)
	e.reported(t, res.RunID)
	e.exec.set(res.Execution, "SUCCEEDED", "")
	if rep := e.sweep(t); !slices.Equal(rep.Finished, []string{res.BatchID}) {
		t.Errorf("sweep: %+v", rep)
	}
	if h := e.head(t); len(h.Unfinished) != 0 {
		t.Errorf("unfinished = %v", h.Unfinished)
	}
	if s, _ := e.summary(t, "runs/"+res.RunID+"/summary.json"); s.Source != "workload" {
		t.Errorf("summary = %+v: the sweeper replaced a successful run's summary", s)
	}
}

// A run whose execution is gone after every shard reported (a restarted local stack forgot it)
// is finished, not failed: no failed summary goes out.
func TestSweepGoneAfterAllShardsReported(t *testing.T) {
	e := newEnv(t)
	res := e.schedule(t, "a.jpg", 1)
	if ok, err := e.s.Seal(t.Context(), res.BatchID, "quiet"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	done, _ := json.Marshal(records.Summary{RunID: res.RunID, Status: records.StatusOK, Source: "workload"})
	if _, err := e.mem.Write(t.Context(), "results", records.Prefix(res.RunID, 0, 1)+records.SummaryFile, blob.Object{Data: done}, blob.Cond{}); err != nil {
		t.Fatal(err)
	}
	e.exec.forget(res.Execution)
	if rep := e.sweep(t); !slices.Equal(rep.Finished, []string{res.BatchID}) || len(rep.Failed) != 0 {
		t.Errorf("sweep: %+v, want finished", rep)
	}
	if s, _ := e.summary(t, records.Prefix(res.RunID, 0, 1)+records.SummaryFile); s.Status != records.StatusOK {
		t.Errorf("summary replaced: %+v", s)
	}
	if rr := e.readRun(t, res.BatchID); rr.State != RunFinished || !strings.Contains(rr.Reason, "no longer exists") {
		t.Errorf("run.json = %+v", rr)
	}
}

// An execution can succeed while a shard has no summary.json: launch.yaml's finish_shard never
// raises, so when the workflow could not write a shard's error summary (summary_error in its
// result) the execution still ends SUCCEEDED. The sweeper must not retire such a run silently:
// the shard without a summary gets a failed one (PublishResults announces it), shards that
// reported keep theirs, and the run is failed.
func TestSweepSucceededExecutionWithMissingSummary(t *testing.T) {
	e := newEnv(t)
	res := e.schedule(t, "a.jpg", 1)
	if ok, err := e.s.Seal(t.Context(), res.BatchID, "quiet"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	plan, _ := json.Marshal(Plan{Items: 900, ShardCount: 2})
	if _, err := e.mem.Write(t.Context(), stateBucket, PlanObject(res.BatchID), blob.Object{Data: plan}, blob.Cond{}); err != nil {
		t.Fatal(err)
	}
	done, _ := json.Marshal(records.Summary{RunID: res.RunID, Shard: 0, ShardCount: 2, Status: records.StatusOK, Source: "workload"})
	if _, err := e.mem.Write(t.Context(), "results", records.Prefix(res.RunID, 0, 2)+records.SummaryFile, blob.Object{Data: done}, blob.Cond{}); err != nil {
		t.Fatal(err)
	}
	e.exec.set(res.Execution, "SUCCEEDED", "")
	if rep := e.sweep(t); !slices.Equal(rep.Failed, []string{res.BatchID}) || len(rep.Finished) != 0 {
		t.Fatalf("sweep: %+v, want the run failed", rep)
	}
	if s, _ := e.summary(t, records.Prefix(res.RunID, 0, 2)+records.SummaryFile); s.Status != records.StatusOK {
		t.Errorf("shard 0's own summary was replaced: %+v", s)
	}
	s, ok := e.summary(t, records.Prefix(res.RunID, 1, 2)+records.SummaryFile)
	if !ok || s.Status != records.StatusFailed || s.Source != "sweeper" || s.Shard != 1 ||
		!strings.Contains(s.Error, "succeeded") || !strings.Contains(s.Error, "no summary") {
		t.Errorf("shard 1 summary = %+v (found %v), want a failed sweeper summary saying the shard left none", s, ok)
	}
	if rr := e.readRun(t, res.BatchID); rr.State != RunFailed {
		t.Errorf("run.json = %+v, want failed", rr)
	}
	if h := e.head(t); len(h.Unfinished) != 0 {
		t.Errorf("unfinished = %v", h.Unfinished)
	}
}
