package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/errclass"
	"github.com/cspipe/cspipe/internal/records"
)

// fakeTopic records published messages; failAt makes the call that would publish the
// failAt-th message (1-based, counted over all calls) fail without publishing anything.
type fakeTopic struct {
	mu     sync.Mutex
	msgs   []Message
	calls  int
	failAt int
}

func (f *fakeTopic) Publish(ctx context.Context, msgs []Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failAt > 0 && len(f.msgs) < f.failAt && f.failAt <= len(f.msgs)+len(msgs) {
		f.failAt = 0
		return errors.New("pubsub unavailable")
	}
	f.msgs = append(f.msgs, msgs...)
	return nil
}

func (f *fakeTopic) published() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Message(nil), f.msgs...)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

type env struct {
	mem   *blob.Memory
	topic *fakeTopic
	clock *clock
	p     *Publisher
}

func newEnv(t testing.TB, chunk int) *env {
	t.Helper()
	e := &env{mem: blob.NewMemory(), topic: &fakeTopic{}, clock: &clock{t: time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)}}
	p, err := New(e.mem, e.topic, Options{ResultsBucket: "results", Chunk: chunk, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.p = p
	return e
}

func (e *env) put(t testing.TB, name, data string) int64 {
	t.Helper()
	a, err := e.mem.Write(t.Context(), "results", name, blob.Object{Data: []byte(data)}, blob.Cond{})
	if err != nil {
		t.Fatal(err)
	}
	return a.Generation
}

func intp(i int) *int { return &i }

// writeShard writes n records and a summary under prefix and returns the summary object.
func (e *env) writeShard(t testing.TB, runID, prefix string, shard, n int) Object {
	t.Helper()
	var sb strings.Builder
	for i := range n {
		rec := records.Record{RunID: runID, Shard: shard, Image: fmt.Sprintf("img-%03d.jpg", i), Status: records.StatusOK,
			PredictedClass: intp(i % 7), Label: fmt.Sprintf("class %d", i%7)}
		if i%5 == 4 {
			rec = records.Record{RunID: runID, Shard: shard, Image: fmt.Sprintf("img-%03d.jpg", i), Status: records.StatusError, ErrorCode: records.ErrNotAnImage}
		}
		b, _ := json.Marshal(rec)
		sb.Write(b)
		sb.WriteByte('\n')
	}
	e.put(t, prefix+records.ResultsFile, sb.String())
	sum, _ := json.Marshal(records.Summary{RunID: runID, Shard: shard, ShardCount: 1, Status: records.StatusOK, Images: n})
	gen := e.put(t, prefix+records.SummaryFile, string(sum))
	return Object{Bucket: "results", Name: prefix + records.SummaryFile, Generation: gen}
}

// indexes lists the AttrIndex of published messages.
func indexes(msgs []Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Attributes[AttrIndex])
	}
	return out
}

func wantIndexes(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprint(i))
	}
	return append(out, KindSummary)
}

func TestPublishIgnores(t *testing.T) {
	e := newEnv(t, 0)
	e.writeShard(t, "r1", "runs/r1/", 0, 2)
	for _, obj := range []Object{
		{Bucket: "other", Name: "runs/r1/summary.json", Generation: 1},
		{Bucket: "results", Name: "runs/r1/results.jsonl", Generation: 1},
		{Bucket: "results", Name: "runs/r1/published.json", Generation: 1},
		{Bucket: "results", Name: "runs/r1/receipt.jwt", Generation: 1},
		{Bucket: "results", Name: "summary.json", Generation: 1},
		{Bucket: "results", Name: "runs/gone/summary.json", Generation: 1},
	} {
		res, err := e.p.Publish(t.Context(), obj)
		if err != nil || !res.Ignored {
			t.Errorf("%s/%s: %+v, %v; want ignored", obj.Bucket, obj.Name, res, err)
		}
	}
	if n := len(e.topic.published()); n != 0 {
		t.Errorf("%d messages published for ignored objects", n)
	}
}

func TestPublishShard(t *testing.T) {
	e := newEnv(t, 0)
	obj := e.writeShard(t, "batch-1", "runs/batch-1/", 0, 3)
	res, err := e.p.Publish(t.Context(), obj)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(Result{RunID: "batch-1", Images: 3, Summary: true}, res); d != "" {
		t.Errorf("result (-want +got):\n%s", d)
	}
	msgs := e.topic.published()
	if len(msgs) != 4 {
		t.Fatalf("%d messages, want 4", len(msgs))
	}
	lines := strings.Split(strings.TrimSpace(string(must(blob.ReadAll(t.Context(), e.mem, "results", "runs/batch-1/results.jsonl", 0)))), "\n")
	for i := range 3 {
		if string(msgs[i].Data) != lines[i] {
			t.Errorf("message %d data %s, want %s", i, msgs[i].Data, lines[i])
		}
	}
	want := []map[string]string{
		{"run_id": "batch-1", "kind": "image", "image": "img-000.jpg", "status": "ok", "predicted_class": "0", "label": "class 0", "shard": "0", "index": "0"},
		{"run_id": "batch-1", "kind": "image", "image": "img-001.jpg", "status": "ok", "predicted_class": "1", "label": "class 1", "shard": "0", "index": "1"},
		{"run_id": "batch-1", "kind": "image", "image": "img-002.jpg", "status": "ok", "predicted_class": "2", "label": "class 2", "shard": "0", "index": "2"},
		{"run_id": "batch-1", "kind": "summary", "status": "ok", "shard": "0", "index": "summary"},
	}
	for i, m := range msgs {
		if d := cmp.Diff(want[i], m.Attributes); d != "" {
			t.Errorf("message %d attributes (-want +got):\n%s", i, d)
		}
		if m.OrderingKey != "batch-1" {
			t.Errorf("message %d ordering key %q", i, m.OrderingKey)
		}
	}
	var sum records.Summary
	if err := json.Unmarshal(msgs[3].Data, &sum); err != nil || sum.RunID != "batch-1" || sum.Images != 3 {
		t.Errorf("summary message %s: %v", msgs[3].Data, err)
	}
}

func must(b []byte, _ blob.Attrs, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestPublishRedeliveryPublishesOnce(t *testing.T) {
	e := newEnv(t, 0)
	obj := e.writeShard(t, "r", "runs/r/", 0, 12)
	for i := range 3 {
		res, err := e.p.Publish(t.Context(), obj)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && (!res.Duplicate || res.Images != 0 || res.Summary) {
			t.Errorf("delivery %d: %+v; want a duplicate that publishes nothing", i+1, res)
		}
	}
	if d := cmp.Diff(wantIndexes(12), indexes(e.topic.published())); d != "" {
		t.Errorf("published (-want +got):\n%s", d)
	}
}

// TestPublishResumesAfterFailure: Pub/Sub fails in the middle; the redelivery resumes after the
// last confirmed chunk, and every image is announced once.
func TestPublishResumesAfterFailure(t *testing.T) {
	e := newEnv(t, 4)
	obj := e.writeShard(t, "r", "runs/r/", 0, 10)
	e.topic.failAt = 6 // the second chunk (messages 5..8) fails
	if _, err := e.p.Publish(t.Context(), obj); err == nil || errclass.IsPermanent(err) {
		t.Fatalf("got %v, want a retryable error", err)
	}
	res, err := e.p.Publish(t.Context(), obj)
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed != 4 || res.Images != 6 || !res.Summary {
		t.Errorf("resumed delivery: %+v; want resumed=4 images=6 summary", res)
	}
	if d := cmp.Diff(wantIndexes(10), indexes(e.topic.published())); d != "" {
		t.Errorf("published (-want +got):\n%s", d)
	}
}

// TestPublishCrashWithFreshLease: a delivery died holding the lease (its marker says 4 lines
// confirmed). A duplicate during the lease is told to retry; after the lease it resumes.
func TestPublishCrashWithFreshLease(t *testing.T) {
	e := newEnv(t, 4)
	obj := e.writeShard(t, "r", "runs/r/", 0, 9)
	first := e.topic.published()
	m, _ := json.Marshal(Marker{SummaryGeneration: obj.Generation, Published: 4, Holder: "dead",
		LeaseUntil: e.clock.Now().Add(time.Minute)})
	e.put(t, "runs/r/published.json", string(m))
	e.topic.msgs = append(first, []Message{{Attributes: map[string]string{AttrIndex: "0"}}, {Attributes: map[string]string{AttrIndex: "1"}},
		{Attributes: map[string]string{AttrIndex: "2"}}, {Attributes: map[string]string{AttrIndex: "3"}}}...)
	_, err := e.p.Publish(t.Context(), obj)
	if !errors.Is(err, ErrInProgress) || errclass.IsPermanent(err) {
		t.Fatalf("during the lease: %v, want retryable ErrInProgress", err)
	}
	e.clock.Add(2 * time.Minute)
	res, err := e.p.Publish(t.Context(), obj)
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed != 4 || res.Images != 5 {
		t.Errorf("takeover: %+v", res)
	}
	if d := cmp.Diff(wantIndexes(9), indexes(e.topic.published())); d != "" {
		t.Errorf("published (-want +got):\n%s", d)
	}
}

func TestPublishFailedShardWithoutResults(t *testing.T) {
	e := newEnv(t, 0)
	sum, _ := json.Marshal(records.Summary{RunID: "r", Shard: 2, ShardCount: 3, Status: records.StatusFailed,
		Error: "VM did not finish", Source: "workflow"})
	gen := e.put(t, "runs/r/shard-002/summary.json", string(sum))
	res, err := e.p.Publish(t.Context(), Object{Bucket: "results", Name: "runs/r/shard-002/summary.json", Generation: gen})
	if err != nil {
		t.Fatal(err)
	}
	if res.Images != 0 || !res.Summary || res.Shard != 2 {
		t.Errorf("result %+v", res)
	}
	msgs := e.topic.published()
	want := map[string]string{"run_id": "r", "kind": "summary", "status": "failed", "shard": "2", "index": "summary"}
	if len(msgs) != 1 || !cmp.Equal(want, msgs[0].Attributes) {
		t.Errorf("messages %+v, want one failed summary", msgs)
	}
}

func TestPublishPermanentErrors(t *testing.T) {
	tests := []struct {
		name    string
		summary string
		results string // "" means absent
	}{
		{"summary not json", `{`, ""},
		{"summary of another run", `{"run_id":"other","status":"ok","images":1}`, `{"image":"a"}` + "\n"},
		{"line too long", `{"run_id":"r","status":"ok","images":1}`, `{"image":"` + strings.Repeat("x", 2000) + `"}` + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 0)
			e.p.opt.MaxLine = 1024
			if tc.results != "" {
				e.put(t, "runs/r/results.jsonl", tc.results)
			}
			gen := e.put(t, "runs/r/summary.json", tc.summary)
			_, err := e.p.Publish(t.Context(), Object{Bucket: "results", Name: "runs/r/summary.json", Generation: gen})
			if !errclass.IsPermanent(err) {
				t.Errorf("got %v, want a permanent error", err)
			}
			if n := len(e.topic.published()); n != 0 {
				t.Errorf("%d messages published", n)
			}
		})
	}
}

// A summary that reports images but whose results.jsonl is missing used to be acked as a permanent
// error and never announced. It is published, as failed, with the error named in it.
func TestPublishSummaryWithoutResults(t *testing.T) {
	e := newEnv(t, 0)
	gen := e.put(t, "runs/r/summary.json", `{"run_id":"r","status":"ok","images":2,"succeeded":2,"source":"workload"}`)
	obj := Object{Bucket: "results", Name: "runs/r/summary.json", Generation: gen}
	res, err := e.p.Publish(t.Context(), obj)
	if err != nil {
		t.Fatalf("Publish: %v, want the summary published", err)
	}
	msgs := e.topic.published()
	if !res.MissingResults || !res.Summary || len(msgs) != 1 {
		t.Fatalf("result %+v, %d messages: want one summary flagged MissingResults", res, len(msgs))
	}
	var sum records.Summary
	if err := json.Unmarshal(msgs[0].Data, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Status != records.StatusFailed || !strings.HasPrefix(sum.Error, "results_missing: ") ||
		!strings.Contains(sum.Error, "runs/r/results.jsonl does not exist") || sum.Images != 2 || sum.Source != "workload" {
		t.Errorf("summary = %+v, want failed naming the missing results.jsonl, the rest kept", sum)
	}
	if a := msgs[0].Attributes; a[records.AttrStatus] != records.StatusFailed || a[records.AttrKind] != KindSummary || a[AttrIndex] != KindSummary {
		t.Errorf("attributes = %v, want a failed summary", a)
	}
	// A redelivery sends nothing more.
	if res, err := e.p.Publish(t.Context(), obj); err != nil || !res.Duplicate || len(e.topic.published()) != 1 {
		t.Errorf("redelivery: %+v, %v, %d messages", res, err, len(e.topic.published()))
	}
}

func TestPublishSkipsBadLines(t *testing.T) {
	e := newEnv(t, 0)
	e.put(t, "runs/r/results.jsonl", `{"run_id":"r","image":"a.jpg","status":"ok"}`+"\n\nnot json\n"+`{"run_id":"r","image":"b.jpg","status":"ok"}`+"\n")
	gen := e.put(t, "runs/r/summary.json", `{"run_id":"r","status":"ok","images":3}`)
	res, err := e.p.Publish(t.Context(), Object{Bucket: "results", Name: "runs/r/summary.json", Generation: gen})
	if err != nil {
		t.Fatal(err)
	}
	if res.Images != 2 || res.Skipped != 1 {
		t.Errorf("result %+v; want 2 images, 1 skipped", res)
	}
	if d := cmp.Diff([]string{"0", "2", "summary"}, indexes(e.topic.published())); d != "" {
		t.Errorf("indexes (-want +got):\n%s", d)
	}
}

// TestPublishConcurrentDuplicates: several deliveries of one event at once, each retried until
// it succeeds, announce every image exactly once.
func TestPublishConcurrentDuplicates(t *testing.T) {
	e := newEnv(t, 7)
	obj := e.writeShard(t, "r", "runs/r/", 0, 200)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				_, err := e.p.Publish(t.Context(), obj)
				if err == nil {
					return
				}
				if !errors.Is(err, ErrInProgress) {
					t.Error(err)
					return
				}
				time.Sleep(time.Millisecond) // the holder finishes; nobody crashes, so no lease expires
			}
		})
	}
	wg.Wait()
	got := indexes(e.topic.published())
	if d := cmp.Diff(wantIndexes(200), got); d != "" {
		t.Errorf("published (-want +got):\n%s", d)
	}
}
