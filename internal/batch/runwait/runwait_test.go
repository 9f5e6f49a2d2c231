package runwait

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/internal/batch"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/records"
)

type fixture struct {
	mem *blob.Memory
}

func (f fixture) put(t *testing.T, bucket, name string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.mem.Write(context.Background(), bucket, name, blob.Object{Data: b}, blob.Cond{}); err != nil {
		t.Error(err)
	}
}

func (f fixture) claim(t *testing.T, u Upload, batchID string) {
	f.put(t, "state", fmt.Sprintf("claims/%s#%d", url.PathEscape(u.Name), u.Generation), map[string]any{"batch_id": batchID})
}

func (f fixture) summary(t *testing.T, run string, shard, count int, status string, images int) {
	f.put(t, "results", records.Prefix(run, shard, count)+records.SummaryFile, records.Summary{
		RunID: run, Shard: shard, ShardCount: count, Status: status, Images: images, Succeeded: images, Error: map[bool]string{true: "", false: "boom"}[status == records.StatusOK]})
}

var opts = Options{StateBucket: "state", ResultsBucket: "results", Poll: 5 * time.Millisecond}

// Uploads that went into two runs (one sharded, one failed by the sweeper before its seal) are
// all reported once both are over; Wait keeps waiting while results are missing.
func TestWaitFollowsUploadsIntoEveryRun(t *testing.T) {
	f := fixture{blob.NewMemory()}
	a, b, c := Upload{"p/a.jpg", 1}, Upload{"p/b dir/b.jpg", 2}, Upload{"p/c.jpg", 3}
	f.claim(t, a, "20261129-080000-1")
	f.claim(t, b, "20261129-080000-1")
	f.put(t, "state", batch.PlanObject("20261129-080000-1"), batch.Plan{Items: 2, ShardCount: 2})
	f.summary(t, "batch-20261129-080000-1", 0, 2, records.StatusOK, 1)

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := Wait(ctx, f.mem, []Upload{a, b, c}, opts); err == nil {
		t.Fatal("returned before every run was over")
	}

	f.summary(t, "batch-20261129-080000-1", 1, 2, records.StatusOK, 1)
	f.claim(t, c, "20261129-080100-2")
	f.summary(t, "batch-20261129-080100-2", 0, 1, records.StatusFailed, 0)
	runs, err := Wait(t.Context(), f.mem, []Upload{a, b, c}, opts)
	if err != nil {
		t.Fatal(err)
	}
	type brief struct {
		Run, Status     string
		Uploads, Shards int
		Images, Errors  int
	}
	var got []brief
	for _, r := range runs {
		got = append(got, brief{r.RunID, r.Status, r.Uploads, r.ShardCount, r.Images, len(r.Errors)})
	}
	want := []brief{
		{"batch-20261129-080000-1", records.StatusOK, 2, 2, 2, 0},
		{"batch-20261129-080100-2", records.StatusFailed, 1, 1, 0, 1},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("runs (-want +got):\n%s", d)
	}
}

// An upload whose claim moved to a later batch is followed there.
func TestWaitFollowsMovedClaim(t *testing.T) {
	f := fixture{blob.NewMemory()}
	a := Upload{"a.jpg", 1}
	f.claim(t, a, "20261129-080000-1")
	f.put(t, "state", batch.PlanObject("20261129-080000-1"), batch.Plan{Items: 0, ShardCount: 1})
	f.summary(t, "batch-20261129-080000-1", 0, 1, records.StatusOK, 0)
	f.put(t, "state", batch.PlanObject("20261129-080100-2"), batch.Plan{Items: 1, ShardCount: 1})
	f.summary(t, "batch-20261129-080100-2", 0, 1, records.StatusOK, 1)
	// The claim moves right after the waiter saw the first run over.
	hooked := &hookStore{Store: f.mem, after: records.Prefix("batch-20261129-080000-1", 0, 1) + records.SummaryFile,
		hook: func() { f.claim(t, a, "20261129-080100-2") }}
	runs, err := Wait(t.Context(), hooked, []Upload{a}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].RunID != "batch-20261129-080100-2" || runs[0].Uploads != 1 {
		t.Errorf("runs = %+v", runs)
	}
}

func TestListSkipsWhatIsNotBatched(t *testing.T) {
	f := fixture{blob.NewMemory()}
	for _, n := range []string{"p/a.jpg", "p/notes.txt", "p/", "p/b.png", "q/c.jpg"} {
		f.put(t, "in", n, "x")
	}
	got, err := List(t.Context(), f.mem, "in", "p/")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "p/a.jpg" || got[1].Name != "p/b.png" || got[0].Generation == 0 {
		t.Errorf("List = %+v", got)
	}
}

// hookStore runs hook once, after the first read of the object named after.
type hookStore struct {
	blob.Store
	after string
	hook  func()
	done  bool
}

func (h *hookStore) NewReader(ctx context.Context, bucket, name string) (io.ReadCloser, blob.Attrs, error) {
	r, a, err := h.Store.NewReader(ctx, bucket, name)
	if name == h.after && !h.done {
		h.done = true
		h.hook()
	}
	return r, a, err
}
