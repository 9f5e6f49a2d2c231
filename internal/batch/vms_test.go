package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/records"
)

// fakeVMs is an in-memory zone of instances.
type fakeVMs struct {
	mu         sync.Mutex
	vms        map[string]VM
	failDelete int // Delete calls left to fail with a 503-like error
	lostDelete int // Delete calls left that delete but answer with an error (lost answer)
	deletes    int
}

func (f *fakeVMs) add(name, runID string, shard int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.vms == nil {
		f.vms = map[string]VM{}
	}
	f.vms[name] = VM{Name: name, Status: "RUNNING",
		Metadata: map[string]string{vmRunIDKey: runID, vmShardKey: strconv.Itoa(shard)}}
}

func (f *fakeVMs) Get(ctx context.Context, name string) (VM, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	vm, ok := f.vms[name]
	if !ok {
		return VM{}, fmt.Errorf("%s: %w", name, ErrVMNotFound)
	}
	return vm, nil
}

func (f *fakeVMs) Delete(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletes++
	if f.failDelete > 0 {
		f.failDelete--
		return errors.New("HTTP 503: backend unavailable")
	}
	if _, ok := f.vms[name]; !ok {
		return fmt.Errorf("%s: %w", name, ErrVMNotFound)
	}
	delete(f.vms, name)
	if f.lostDelete > 0 {
		f.lostDelete--
		return errors.New("connection reset after the delete")
	}
	return nil
}

func (f *fakeVMs) live() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for n := range f.vms {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// sealedTwoShardRun schedules one upload, seals its batch and records a two-shard plan with a
// VM per shard, as launch.yaml leaves them while the shards run.
func sealedTwoShardRun(t *testing.T, e *env, vms *fakeVMs) Result {
	t.Helper()
	res := e.schedule(t, "a.jpg", 1)
	if ok, err := e.s.Seal(t.Context(), res.BatchID, "quiet"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	plan, _ := json.Marshal(Plan{Items: 900, ShardCount: 2})
	if _, err := e.mem.Write(t.Context(), stateBucket, PlanObject(res.BatchID), blob.Object{Data: plan}, blob.Cond{}); err != nil {
		t.Fatal(err)
	}
	for shard := range 2 {
		vms.add(VMName(res.RunID, shard), res.RunID, shard)
	}
	return res
}

func (e *env) allReported(t *testing.T, runID string, count int) {
	t.Helper()
	for shard := range count {
		b, _ := json.Marshal(records.Summary{RunID: runID, Shard: shard, ShardCount: count, Status: records.StatusOK, Source: "workload"})
		if _, err := e.mem.Write(t.Context(), "results", records.Prefix(runID, shard, count)+records.SummaryFile, blob.Object{Data: b}, blob.Cond{}); err != nil {
			t.Fatal(err)
		}
	}
}

// A run whose execution is over but whose VMs still exist — the workflow's delete failed, the
// execution was cancelled (Cloud Workflows runs no cleanup then) or died — must not leave them
// running until their maxRunDuration: the sweeper deletes every VM of the run, reports them,
// and only then retires the batch.
func TestSweepDeletesVMsOfEndedRun(t *testing.T) {
	for _, tc := range []struct {
		name, state string
		reported    bool // every shard wrote its summary (the delete failed after success)
	}{
		{"failed", "FAILED", false},
		{"cancelled", "CANCELLED", false},
		{"succeeded but the workflow's delete failed", "SUCCEEDED", true},
		{"gone", "GONE", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vms := &fakeVMs{}
			e := newEnv(t, func(o *Options) { o.VMs = vms })
			res := sealedTwoShardRun(t, e, vms)
			if rep := e.sweep(t); len(rep.DeletedVMs) != 0 || len(vms.live()) != 2 {
				t.Fatalf("sweep of an active run: %+v, live %v: want its VMs left alone", rep, vms.live())
			}
			if tc.reported {
				e.allReported(t, res.RunID, 2)
			}
			if tc.state == "GONE" {
				e.exec.forget(res.Execution)
			} else {
				e.exec.set(res.Execution, tc.state, "")
			}
			rep := e.sweep(t)
			want := []string{VMName(res.RunID, 0), VMName(res.RunID, 1)}
			if !slices.Equal(rep.DeletedVMs, want) || len(vms.live()) != 0 {
				t.Errorf("sweep: %+v, live %v: want %v deleted", rep, vms.live(), want)
			}
			if h := e.head(t); len(h.Unfinished) != 0 {
				t.Errorf("unfinished = %v, want the run retired", h.Unfinished)
			}
			if rep := e.sweep(t); rep.Checked != 0 || len(rep.DeletedVMs) != 0 {
				t.Errorf("second sweep: %+v, want nothing left to do", rep)
			}
		})
	}
}

// A delete that fails keeps the batch unfinished: the failed summaries are out at once, and the
// next sweep deletes the VM and retires the batch. A delete whose answer was lost, retried, meets
// 404: that VM is gone, which is what was wanted.
func TestSweepRetriesVMDeleteUntilGone(t *testing.T) {
	vms := &fakeVMs{}
	e := newEnv(t, func(o *Options) { o.VMs = vms })
	res := sealedTwoShardRun(t, e, vms)
	e.exec.set(res.Execution, "CANCELLED", "")
	vms.failDelete = 1
	rep, err := e.s.Sweep(t.Context())
	if err == nil || !slices.Equal(rep.Failed, []string{res.BatchID}) {
		t.Fatalf("sweep: %+v, %v: want the run failed and the delete error", rep, err)
	}
	if s, ok := e.summary(t, records.Prefix(res.RunID, 0, 2)+records.SummaryFile); !ok || s.Status != records.StatusFailed {
		t.Errorf("shard 0 summary = %+v (found %v), want the sweeper's failed one at once", s, ok)
	}
	if h := e.head(t); !slices.Equal(h.Unfinished, []string{res.BatchID}) {
		t.Errorf("unfinished = %v, want the batch kept until its VMs are gone", h.Unfinished)
	}
	if live := vms.live(); !slices.Equal(live, []string{VMName(res.RunID, 0)}) {
		t.Errorf("live = %v, want shard 0's VM left by the failed delete", live)
	}

	vms.lostDelete = 1
	if rep, err = e.s.Sweep(t.Context()); err == nil || rep.Checked != 1 {
		t.Fatalf("sweep: %+v, %v: want the lost answer reported", rep, err)
	}
	if live := vms.live(); len(live) != 0 {
		t.Errorf("live = %v, want none", live)
	}
	if h := e.head(t); !slices.Equal(h.Unfinished, []string{res.BatchID}) {
		t.Fatalf("unfinished = %v: the batch was retired before its VM delete was confirmed", h.Unfinished)
	}
	// The lost answer left the batch unfinished once more; the retry meets 404 and retires it.
	rep = e.sweep(t)
	if h := e.head(t); len(h.Unfinished) != 0 {
		t.Errorf("unfinished = %v after %+v, want retired", h.Unfinished, rep)
	}
	if rr := e.readRun(t, res.BatchID); rr.State != RunFailed {
		t.Errorf("run.json = %+v, want failed", rr)
	}
}

// A VM that carries the run's VM name but another run's metadata is never deleted.
func TestSweepLeavesForeignVMs(t *testing.T) {
	vms := &fakeVMs{}
	e := newEnv(t, func(o *Options) { o.VMs = vms })
	res := sealedTwoShardRun(t, e, vms)
	vms.add(VMName(res.RunID, 1), "batch-someone-else", 1)
	e.exec.set(res.Execution, "FAILED", "")
	rep := e.sweep(t)
	if !slices.Equal(rep.DeletedVMs, []string{VMName(res.RunID, 0)}) || !slices.Equal(rep.ForeignVMs, []string{VMName(res.RunID, 1)}) {
		t.Errorf("sweep: %+v, want shard 0 deleted and shard 1's foreign VM reported", rep)
	}
	if live := vms.live(); !slices.Equal(live, []string{VMName(res.RunID, 1)}) {
		t.Errorf("live = %v", live)
	}
}

// VMName must give the names launch.yaml gives (read_config's name_prefix + "-" + shard).
func TestVMName(t *testing.T) {
	for _, tc := range []struct {
		run   string
		shard int
		want  string
	}{
		{"batch-20261128-210010-7", 0, "cspipe-batch-20261128-210010-7-0"},
		{"Run_ID.x", 3, "cspipe-run-id-x-3"},
		{"r0123456789012345678901234567890123456789012345678901234", 12, "cspipe-r01234567890123456789012345678901234567890123456-12"},
	} {
		if got := VMName(tc.run, tc.shard); got != tc.want {
			t.Errorf("VMName(%q, %d) = %q, want %q", tc.run, tc.shard, got, tc.want)
		}
	}
}
