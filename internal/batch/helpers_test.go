package batch

import (
	"context"
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
	testWorkflow = "projects/p/locations/l/workflows/launch"
	testDigest   = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

var testImage = ImageRef{Reference: "europe-docker.pkg.dev/primus/w/infer@" + testDigest, Digest: testDigest}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// fakeExec is an in-memory Executions that records every created execution.
type fakeExec struct {
	mu       sync.Mutex
	created  []fakeExecution
	failNext int // Create calls left to fail
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
		if e.Workflow == workflow && e.Labels[key] == value {
			return e.Name, nil
		}
	}
	return "", nil
}

func (f *fakeExec) executions() []fakeExecution {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeExecution(nil), f.created...)
}

// faultyStore fails writes for which fail returns an error.
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
		PrimusServiceAccount: "primus-sa@primus.iam.gserviceaccount.com", ShardCount: 1, Timeout: time.Hour,
	}
}

// window0 is the start of a test window.
var window0 = time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)

type env struct {
	store *faultyStore
	mem   *blob.Memory
	exec  *fakeExec
	clock *clock
	s     *Scheduler
}

func newEnv(t testing.TB) *env {
	t.Helper()
	mem := blob.NewMemory()
	e := &env{store: &faultyStore{Store: mem}, mem: mem, exec: &fakeExec{}, clock: &clock{t: window0.Add(10 * time.Second)}}
	s, err := New(e.store, e.exec, StaticImage(testImage), Options{
		InputBucket: testBucket, Window: time.Minute, Grace: 20 * time.Second, Lease: 2 * time.Minute,
		Workflow: testWorkflow, Run: testTemplate(), Now: e.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.s = s
	return e
}

func img(name string, gen int64) Object {
	return Object{Bucket: testBucket, Name: name, Generation: gen, ContentType: "image/jpeg"}
}

// items lists the item names (unescaped "name#gen" keys) of a batch.
func (e *env) items(t testing.TB, batchID string) []string {
	t.Helper()
	var out []string
	err := e.mem.List(t.Context(), testBucket, BatchPrefix(batchID), func(a blob.Attrs) error {
		out = append(out, strings.TrimPrefix(a.Name, BatchPrefix(batchID)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
