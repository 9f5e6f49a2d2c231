package workflows

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/batch"
	"github.com/cspipe/cspipe/internal/blob"
)

const (
	stateBucket = "state"
	testBatch   = "20261128-210010-1"
)

// openBatch writes an open head for testBatch and n items, as ScheduleRun would.
func (w *world) openBatch(t *testing.T, n int) {
	t.Helper()
	w.putJSON(t, batch.HeadObject(), batch.Head{BatchID: testBatch, Seq: 1, State: batch.HeadOpen,
		OpenedAt: time.Unix(clockOrigin, 0).UTC(), Unfinished: []string{"20261128-200000-0", testBatch}}, 0)
	for i := range n {
		w.addItem(t, i)
	}
}

func (w *world) putJSON(t *testing.T, name string, v any, gen int64) {
	t.Helper()
	b, _ := json.Marshal(v)
	cond := blob.Cond{GenerationMatch: gen}
	if _, err := w.store.Write(context.Background(), stateBucket, name, blob.Object{Data: b, ContentType: "application/json"}, cond); err != nil {
		t.Error(err)
	}
}

func (w *world) addItem(t *testing.T, i int) {
	w.putJSON(t, batch.BatchPrefix(testBatch)+fmt.Sprintf("img-%05d.jpg#1", i), batch.Item{Bucket: "input", Name: fmt.Sprintf("img-%05d.jpg", i), Generation: 1}, 0)
}

func (w *world) head(t *testing.T) batch.Head {
	t.Helper()
	b, _, err := blob.ReadAll(context.Background(), w.store, stateBucket, batch.HeadObject(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var h batch.Head
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("head %s: %v", b, err)
	}
	return h
}

func batchArgs(w *world, extra map[string]any) map[string]any {
	spec := map[string]any{
		"state_bucket": stateBucket, "batch_id": testBatch, "head": batch.HeadObject(),
		"items_prefix": batch.BatchPrefix(testBatch), "plan": batch.PlanObject(testBatch),
		"quiet_seconds": 15, "max_wait_seconds": 600, "max_items": 0, "poll_seconds": 5, "settle_seconds": 7,
		"images_per_shard": 500, "max_shards": 10,
	}
	for k, v := range extra {
		spec[k] = v
	}
	return w.args(1, map[string]any{"batch": spec})
}

// TestLaunchBatchQuietSealAndShards: uploads keep arriving (one per poll) for a while; the
// workflow seals the batch a quiet period after the last, then boots ceil(items/500) shards.
func TestLaunchBatchQuietSealAndShards(t *testing.T) {
	w := newWorld(t)
	w.openBatch(t, 1000)
	var mu sync.Mutex
	added, lastAdd := 0, time.Time{}
	w.clock.OnSleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		if h := w.head(t); h.State == batch.HeadOpen && added < 10 { // still open: keep uploading
			w.addItem(t, 1000+added)
			added++
			lastAdd = w.clock.Now()
		}
		return nil
	}
	res, err := w.run(t.Context(), t, batchArgs(w, nil))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	h := w.head(t)
	sealedAt, err := time.Parse(time.RFC3339, h.SealedAt)
	if err != nil {
		t.Fatalf("sealed_at %q: %v", h.SealedAt, err)
	}
	if h.State != batch.HeadSealed || h.SealReason != "quiet" || h.BatchID != testBatch || len(h.Unfinished) != 2 {
		t.Errorf("head after the run: %+v", h)
	}
	if q := sealedAt.Sub(lastAdd); q < 15*time.Second || q > 25*time.Second {
		t.Errorf("sealed %s after the last upload, want the 15s quiet period (within a poll)", q)
	}
	b, _, err := blob.ReadAll(t.Context(), w.store, stateBucket, batch.PlanObject(testBatch), 0)
	if err != nil {
		t.Fatal(err)
	}
	var plan batch.Plan
	_ = json.Unmarshal(b, &plan)
	if plan.Items != 1010 || plan.ShardCount != 3 || res["shard_count"] != int64(3) {
		t.Errorf("plan %+v, result shard_count %v; want 1010 items in 3 shards", plan, res["shard_count"])
	}
	if got := len(w.compute.Created()); got != 3 {
		t.Errorf("%d VMs, want 3", got)
	}
	w.checkCleanup(t, 3)
}

// TestLaunchBatchCuts: a batch that never goes quiet is cut at max_wait; one that is full at
// max_items; one sealed by someone else (the sweeper) is not sealed again.
func TestLaunchBatchCuts(t *testing.T) {
	for _, tc := range []struct {
		name       string
		extra      map[string]any
		preSealed  bool
		wantReason string
		wantShards int
	}{
		{"max wait", map[string]any{"max_wait_seconds": 60}, false, "max_wait", 1},
		{"max items", map[string]any{"max_items": 3}, false, "max_items", 1},
		{"already sealed", nil, true, "run failed", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.openBatch(t, 2)
			if tc.preSealed {
				h := w.head(t)
				h.State, h.SealReason = batch.HeadSealed, "run failed"
				a, _ := w.store.Attrs(t.Context(), stateBucket, batch.HeadObject())
				w.putJSON(t, batch.HeadObject(), h, a.Generation)
			}
			n := 2
			w.clock.OnSleep = func(context.Context, time.Duration) error {
				if w.head(t).State == batch.HeadOpen && n < 100 {
					w.addItem(t, n)
					n++
				}
				return nil
			}
			start := w.clock.Now()
			if _, err := w.run(t.Context(), t, batchArgs(w, tc.extra)); err != nil {
				t.Fatalf("Run: %v", err)
			}
			h := w.head(t)
			if h.State != batch.HeadSealed || h.SealReason != tc.wantReason {
				t.Errorf("head %+v, want sealed for %s", h, tc.wantReason)
			}
			if tc.name == "max wait" && w.clock.Now().Sub(start) > 5*time.Minute {
				t.Errorf("the max-wait cut took %s", w.clock.Now().Sub(start))
			}
			w.checkCleanup(t, tc.wantShards)
		})
	}
}

// TestLaunchBatchSealRetriesOnRace: the head changes between the workflow's read and its write
// (the sweeper retires a batch); the seal retries and keeps the sweeper's change.
func TestLaunchBatchSealRetriesOnRace(t *testing.T) {
	raced := false
	mem := blob.NewMemory()
	w2 := newWorldWithStore(t, &racingStore{Memory: mem, onHeadWrite: func() {
		if raced {
			return
		}
		raced = true
		b, a, _ := blob.ReadAll(context.Background(), mem, stateBucket, batch.HeadObject(), 0)
		var h batch.Head
		_ = json.Unmarshal(b, &h)
		h.Unfinished = []string{testBatch}
		nb, _ := json.Marshal(h)
		if _, err := mem.Write(context.Background(), stateBucket, batch.HeadObject(), blob.Object{Data: nb}, blob.Cond{GenerationMatch: a.Generation}); err != nil {
			t.Error(err)
		}
	}}, mem)
	w2.openBatch(t, 1)
	if _, err := w2.run(t.Context(), t, batchArgs(w2, nil)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	h := w2.head(t)
	if !raced || h.State != batch.HeadSealed || strings.Join(h.Unfinished, ",") != testBatch {
		t.Errorf("raced=%v head %+v; want sealed with the sweeper's unfinished list kept", raced, h)
	}
}

// racingStore runs onHeadWrite just before a conditional write of the head.
type racingStore struct {
	*blob.Memory
	onHeadWrite func()
}

func (r *racingStore) Write(ctx context.Context, bucket, name string, obj blob.Object, cond blob.Cond) (blob.Attrs, error) {
	if bucket == stateBucket && name == batch.HeadObject() && cond.GenerationMatch != 0 {
		r.onHeadWrite()
	}
	return r.Memory.Write(ctx, bucket, name, obj, cond)
}
