package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/blob"
)

const (
	testBucket   = "input"
	stateBucket  = "state"
	testWorkflow = "projects/p/locations/l/workflows/launch"
	testDigest   = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

var testImage = ImageRef{Reference: "europe-docker.pkg.dev/primus/w/infer@" + testDigest, Digest: testDigest}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time                  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)                 { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func (c *clock) Advance(d time.Duration)         { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
func (c *clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// fakeExec is an in-memory Executions that records every created execution.
type fakeExec struct {
	mu       sync.Mutex
	created  []fakeExecution
	failNext int // Create calls left to fail
	states   map[string]ExecutionState
	gone     map[string]bool
}

type fakeExecution struct {
	Name, Workflow, Argument string
	Labels                   map[string]string
}

func (f *fakeExec) Create(ctx context.Context, workflow, argument string, labels map[string]string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failNext > 0 {
		f.failNext--
		return "", errors.New("executions API unavailable")
	}
	name := fmt.Sprintf("%s/executions/e%d", workflow, len(f.created)+1)
	f.created = append(f.created, fakeExecution{name, workflow, argument, labels})
	return name, nil
}

func (f *fakeExec) FindByLabel(ctx context.Context, workflow, key, value string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.created {
		st := f.states[e.Name].State
		if e.Workflow == workflow && e.Labels[key] == value && !f.gone[e.Name] && st != "FAILED" && st != "CANCELLED" {
			return e.Name, nil
		}
	}
	return "", nil
}

func (f *fakeExec) State(ctx context.Context, name string) (ExecutionState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.created {
		if e.Name == name && !f.gone[name] {
			if st, ok := f.states[name]; ok {
				return st, nil
			}
			return ExecutionState{State: "ACTIVE"}, nil
		}
	}
	return ExecutionState{}, fmt.Errorf("%s: %w", name, ErrExecutionNotFound)
}

func (f *fakeExec) set(name, state, errText string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.states == nil {
		f.states = map[string]ExecutionState{}
	}
	f.states[name] = ExecutionState{State: state, Error: errText}
}

func (f *fakeExec) forget(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gone == nil {
		f.gone = map[string]bool{}
	}
	f.gone[name] = true
}

func (f *fakeExec) executions() []fakeExecution {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeExecution(nil), f.created...)
}

// faultyStore calls hook before each write; a non-nil error fails the write.
type faultyStore struct {
	blob.Store
	mu   sync.Mutex
	fail func(name string, cond blob.Cond) error
}

func (f *faultyStore) setFail(fn func(name string, cond blob.Cond) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fn
}

func (f *faultyStore) Write(ctx context.Context, bucket, name string, obj blob.Object, cond blob.Cond) (blob.Attrs, error) {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail != nil {
		if err := fail(name, cond); err != nil {
			return blob.Attrs{}, err
		}
	}
	return f.Store.Write(ctx, bucket, name, obj, cond)
}

func testTemplate() RunTemplate {
	return RunTemplate{
		Project: "secundus", Zone: "europe-west4-a", MachineType: "n2d-standard-2",
		ServiceAccount: "workload-sa@secundus.iam.gserviceaccount.com", ResultsBucket: "results",
		Model: "gs://primus-models/model.tar.gz", WIPProvider: "projects/1/locations/global/workloadIdentityPools/p/providers/attestation-verifier",
		PrimusServiceAccount: "primus-sa@primus.iam.gserviceaccount.com", Timeout: time.Hour,
	}
}

func testOptions() Options {
	return Options{
		InputBucket: testBucket, StateBucket: stateBucket, Quiet: 15 * time.Second, MaxWait: 10 * time.Minute,
		ImagesPerShard: 500, MaxShards: 10, Lease: 2 * time.Minute, Workflow: testWorkflow, Run: testTemplate(),
	}
}

// t0 is an arbitrary moment, deliberately not on any round boundary.
var t0 = time.Date(2026, 11, 28, 21, 0, 10, 0, time.UTC)

// firstBatch is the id of the first batch opened at t0.
const firstBatch = "20261128-210010-1"

type env struct {
	store *faultyStore
	mem   *blob.Memory
	exec  *fakeExec
	clock *clock
	s     *Scheduler
}

func newEnv(t testing.TB, edit ...func(*Options)) *env {
	t.Helper()
	mem := blob.NewMemory()
	e := &env{store: &faultyStore{Store: mem}, mem: mem, exec: &fakeExec{}, clock: &clock{t: t0}}
	opt := testOptions()
	opt.Now = e.clock.Now
	for _, f := range edit {
		f(&opt)
	}
	s, err := New(e.store, e.exec, StaticImage(testImage), opt)
	if err != nil {
		t.Fatal(err)
	}
	e.s = s
	return e
}

func img(name string, gen int64) Object {
	return Object{Bucket: testBucket, Name: name, Generation: gen, ContentType: "image/jpeg"}
}

func (e *env) schedule(t testing.TB, name string, gen int64) Result {
	t.Helper()
	res, err := e.s.Schedule(t.Context(), img(name, gen))
	if err != nil {
		t.Fatalf("%s#%d: %v", name, gen, err)
	}
	return res
}

// items lists the item names (unescaped "name#gen" keys) of a batch.
func (e *env) items(t testing.TB, batchID string) []string {
	t.Helper()
	var out []string
	err := e.mem.List(t.Context(), stateBucket, BatchPrefix(batchID), func(a blob.Attrs) error {
		out = append(out, strings.TrimPrefix(a.Name, BatchPrefix(batchID)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// holders maps every item key to the batches that hold it.
func (e *env) holders(t testing.TB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := e.mem.List(t.Context(), stateBucket, batchesPrefix, func(a blob.Attrs) error {
		id, rest, _ := strings.Cut(strings.TrimPrefix(a.Name, batchesPrefix), "/items/")
		if rest != "" {
			out[rest] = append(out[rest], id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) head(t testing.TB) Head {
	t.Helper()
	b, _, err := blob.ReadAll(t.Context(), e.mem, stateBucket, headName, 0)
	if err != nil {
		t.Fatal(err)
	}
	var h Head
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func (e *env) readRun(t testing.TB, batchID string) RunRecord {
	t.Helper()
	b, _, err := blob.ReadAll(t.Context(), e.mem, stateBucket, runName(batchID), 0)
	if err != nil {
		t.Fatal(err)
	}
	var rr RunRecord
	if err := json.Unmarshal(b, &rr); err != nil {
		t.Fatal(err)
	}
	return rr
}

// workflow models launch.yaml's wait_batch against the in-memory store and the test clock: it
// counts the batch's items at each poll, remembers when the count last changed, and seals the
// batch with the same precondition as the YAML when it is quiet, overdue or full.
type workflow struct {
	e          *env
	batchID    string
	start      time.Time
	lastChange time.Time
	count      int
	sealed     bool
	reason     string
}

func (e *env) workflow(batchID string) *workflow {
	now := e.clock.Now()
	return &workflow{e: e, batchID: batchID, start: now, lastChange: now, count: -1}
}

// poll is one poll of the wait loop; it reports whether the batch is sealed.
func (w *workflow) poll(t testing.TB) bool {
	t.Helper()
	if w.sealed {
		return true
	}
	now := w.e.clock.Now()
	if n := len(w.e.items(t, w.batchID)); n != w.count {
		w.count, w.lastChange = n, now
	}
	o := w.e.s.opt
	switch {
	case o.MaxItems > 0 && w.count >= o.MaxItems:
		w.reason = "max_items"
	case now.Sub(w.lastChange) >= o.Quiet:
		w.reason = "quiet"
	case now.Sub(w.start) >= o.MaxWait:
		w.reason = "max_wait"
	default:
		return false
	}
	ok, err := w.e.s.Seal(t.Context(), w.batchID, w.reason)
	if err != nil || !ok {
		t.Fatalf("sealing %s: %v, %v", w.batchID, ok, err)
	}
	w.sealed = true
	return true
}
