package workflows

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cspipe/cspipe/internal/batch"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/records"
)

// summaryRefusingStore fails every write of a summary.json (as a bucket whose grant was removed,
// or a Storage outage that outlasts the retries), and passes everything else to Memory.
type summaryRefusingStore struct{ *blob.Memory }

func (s summaryRefusingStore) Write(ctx context.Context, bucket, name string, obj blob.Object, cond blob.Cond) (blob.Attrs, error) {
	if strings.HasSuffix(name, records.SummaryFile) {
		return blob.Attrs{}, errors.New("injected: summary write refused")
	}
	return s.Memory.Write(ctx, bucket, name, obj, cond)
}

// When the workflow cannot write a shard's error summary, the execution still succeeds: its
// result says failed with summary_error, and the shard has no summary.json. Nothing downstream
// hears of the shard unless the sweeper writes one (internal/batch, Sweep: a succeeded
// execution with a shard missing its summary is failed with a summary per shard).
func TestLaunchSummaryWriteFailureStillSucceeds(t *testing.T) {
	mem := blob.NewMemory()
	w := newWorldWithStore(t, summaryRefusingStore{mem}, mem)
	w.workloadWrites = false // the workload dies without a summary
	res, err := w.run(t.Context(), t, w.args(1, nil))
	if err != nil {
		t.Fatalf("Run: %v, want the execution to succeed (finish_shard never raises)", err)
	}
	if live := w.compute.Live(); len(live) != 0 {
		t.Errorf("VMs left running: %v", live)
	}
	shards, _ := res["shards"].([]any)
	if res["status"] != "failed" || len(shards) != 1 {
		t.Fatalf("result = %v, want failed with one shard", res)
	}
	sh, _ := shards[0].(map[string]any)
	if e, _ := sh["summary_error"].(string); !strings.Contains(e, "summary write refused") {
		t.Errorf("shard = %v, want summary_error naming the refused write", sh)
	}
	if _, err := mem.Attrs(context.Background(), testBucket, records.Prefix(testRun, 0, 1)+records.SummaryFile); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("summary.json: %v, want none", err)
	}
}

// An insert whose answer is lost after Compute created the VM (a 503 from a front end, a reset
// connection, the call's own timeout) is retried, and the retry meets 409 alreadyExists. The VM
// is this run's own shard: the shard must go on with it, not fail and delete a healthy VM.
func TestLaunchInsertRetryAfterLostAnswer(t *testing.T) {
	w := newWorld(t)
	var lost atomic.Int32
	w.compute.LostInsertStatus = func(string) int {
		if lost.Add(1) == 1 {
			return http.StatusServiceUnavailable
		}
		return 0
	}
	res, err := w.run(t.Context(), t, w.args(1, nil))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	sums := w.checkCleanup(t, 1)
	if res["status"] != "ok" || sums[0].Source != "workload" || len(w.compute.Created()) != 1 {
		t.Errorf("result %v, summary %+v, created %v: want the shard to run on the VM the lost insert created", res, sums[0], w.compute.Created())
	}
}

// A delete whose answer is lost after Compute deleted the VM is retried, and the retry meets 404.
// The VM is gone, as the shard wanted: the result must say vm_deleted true, not report a VM
// that may still be running.
func TestLaunchDeleteRetryAfterLostAnswer(t *testing.T) {
	w := newWorld(t)
	var lost atomic.Int32
	w.compute.LostDeleteStatus = func(string) int {
		if lost.Add(1) == 1 {
			return http.StatusServiceUnavailable
		}
		return 0
	}
	res, err := w.run(t.Context(), t, w.args(1, nil))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	w.checkCleanup(t, 1)
	shards, _ := res["shards"].([]any)
	sh, _ := shards[0].(map[string]any)
	if lost.Load() != 1 || sh["vm_deleted"] != true || sh["delete_error"] != nil || res["status"] != "ok" {
		t.Errorf("result %v (lost answers %d): want the shard ok with vm_deleted true", res, lost.Load())
	}
	// The sweeper finds a run's VMs by this name (internal/batch, VMName).
	if c := w.compute.Created(); len(c) != 1 || c[0] != batch.VMName(testRun, 0) {
		t.Errorf("created %v, want [%s] as batch.VMName names it", c, batch.VMName(testRun, 0))
	}
}

// lostSummaryStore stores the first summary.json written through it, then answers with an error
// (served as a 500): the write happened but its answer was lost.
type lostSummaryStore struct {
	*blob.Memory
	lost atomic.Bool
}

func (s *lostSummaryStore) Write(ctx context.Context, bucket, name string, obj blob.Object, cond blob.Cond) (blob.Attrs, error) {
	a, err := s.Memory.Write(ctx, bucket, name, obj, cond)
	if err == nil && strings.HasSuffix(name, records.SummaryFile) && s.lost.CompareAndSwap(false, true) {
		return blob.Attrs{}, errors.New("injected: answer lost after the write")
	}
	return a, err
}

// The workflow's error summary is written but its answer is lost; the retry meets 412. The
// summary there is the workflow's own failed one, so the shard must count as failed, written by
// the workflow, not as a workload that reported.
func TestLaunchErrorSummaryRetryAfterLostAnswer(t *testing.T) {
	mem := blob.NewMemory()
	w := newWorldWithStore(t, &lostSummaryStore{Memory: mem}, mem)
	w.workloadWrites = false // the workload dies without a summary
	res, err := w.run(t.Context(), t, w.args(1, nil))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	sums := w.checkCleanup(t, 1)
	shards, _ := res["shards"].([]any)
	sh, _ := shards[0].(map[string]any)
	if res["status"] != "failed" || sh["summary_written_by"] != "workflow" || sums[0].Source != "workflow" {
		t.Errorf("result %v, summary %+v: want the shard failed with the workflow's summary", res, sums[0])
	}
}
