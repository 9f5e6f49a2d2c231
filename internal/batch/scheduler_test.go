package batch

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/errclass"
)

func TestScheduleIgnores(t *testing.T) {
	tests := []struct {
		name string
		obj  Object
		want string
	}{
		{"other bucket", Object{Bucket: "elsewhere", Name: "a.jpg", Generation: 1}, "not the input bucket"},
		{"own state", Object{Bucket: testBucket, Name: "_cspipe/claims/a.jpg#1", Generation: 1, ContentType: "application/json"}, "pipeline's own object"},
		{"own state image name", Object{Bucket: testBucket, Name: "_cspipe/x.png", Generation: 1}, "pipeline's own object"},
		{"results prefix", Object{Bucket: testBucket, Name: "runs/r/summary.json", Generation: 1}, "pipeline's own object"},
		{"folder", Object{Bucket: testBucket, Name: "photos/", Generation: 1}, "folder placeholder"},
		{"text file", Object{Bucket: testBucket, Name: "notes.txt", Generation: 1, ContentType: "text/plain"}, "not an image"},
		{"archive", Object{Bucket: testBucket, Name: "m.tar.gz", Generation: 1, ContentType: "application/gzip"}, "not an image"},
		{"no type no ext", Object{Bucket: testBucket, Name: "README", Generation: 1}, "not an image"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			res, err := e.s.Schedule(t.Context(), tc.obj)
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != Ignored || res.Reason != tc.want {
				t.Errorf("got %+v, want ignored: %s", res, tc.want)
			}
			if n := len(e.exec.executions()); n != 0 {
				t.Errorf("%d executions started for an ignored object", n)
			}
			var names []string
			_ = e.mem.List(t.Context(), testBucket, "", func(a blob.Attrs) error { names = append(names, a.Name); return nil })
			if len(names) != 0 {
				t.Errorf("ignored object wrote state: %v", names)
			}
		})
	}
}

func TestScheduleAcceptsImages(t *testing.T) {
	for _, obj := range []Object{
		{Bucket: testBucket, Name: "cat", Generation: 1, ContentType: "image/png"},
		{Bucket: testBucket, Name: "dir/dog.JPG", Generation: 1, ContentType: "application/octet-stream"},
		{Bucket: testBucket, Name: "x.png", Generation: 1},
	} {
		e := newEnv(t)
		res, err := e.s.Schedule(t.Context(), obj)
		if err != nil || res.Outcome != Batched {
			t.Errorf("%+v: got %+v, %v; want batched", obj, res, err)
		}
	}
}

func TestScheduleFirstEventStartsRun(t *testing.T) {
	e := newEnv(t)
	res, err := e.s.Schedule(t.Context(), img("dir/cat 1.jpg", 7))
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Outcome: Batched, BatchID: "20261128-210000", RunID: "batch-20261128-210000",
		Started: true, Execution: testWorkflow + "/executions/e1"}
	if d := cmp.Diff(want, res); d != "" {
		t.Errorf("result (-want +got):\n%s", d)
	}
	ex := e.exec.executions()
	if len(ex) != 1 {
		t.Fatalf("%d executions, want 1", len(ex))
	}
	if d := cmp.Diff(map[string]string{LabelRunID: "batch-20261128-210000"}, ex[0].Labels); d != "" {
		t.Errorf("labels (-want +got):\n%s", d)
	}
	var arg Argument
	if err := json.Unmarshal([]byte(ex[0].Argument), &arg); err != nil {
		t.Fatal(err)
	}
	wantArg := Argument{
		RunID: "batch-20261128-210000", ImageReference: testImage.Reference, Project: "secundus", Zone: "europe-west4-a",
		MachineType: "n2d-standard-2", ServiceAccount: "workload-sa@secundus.iam.gserviceaccount.com", ResultsBucket: "results",
		Env: map[string]string{
			"CSPIPE_INPUT_BUCKET": testBucket, "CSPIPE_BATCH_PREFIX": "_cspipe/batches/20261128-210000/items/",
			"CSPIPE_RESULTS_BUCKET": "results", "CSPIPE_MODEL": "gs://primus-models/model.tar.gz",
			"CSPIPE_WIP_PROVIDER":           "projects/1/locations/global/workloadIdentityPools/p/providers/attestation-verifier",
			"CSPIPE_PRIMUS_SERVICE_ACCOUNT": "primus-sa@primus.iam.gserviceaccount.com",
		},
		ShardCount: 1, TimeoutSeconds: 3600, NotBefore: window0.Add(80 * time.Second).Unix(),
	}
	if d := cmp.Diff(wantArg, arg); d != "" {
		t.Errorf("argument (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"dir%2Fcat%201.jpg#7"}, e.items(t, res.BatchID)); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
	b, _, err := blob.ReadAll(t.Context(), e.mem, testBucket, "_cspipe/batches/20261128-210000/items/dir%2Fcat%201.jpg#7", 0)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(`{"bucket":"input","name":"dir/cat 1.jpg","generation":7}`, string(b)); d != "" {
		t.Errorf("item content (-want +got):\n%s", d)
	}
	rr := e.readRun(t, res.BatchID)
	if rr.State != RunStarted || rr.Execution != res.Execution || rr.Holder != "" {
		t.Errorf("run.json = %+v, want started with %s", rr, res.Execution)
	}
}

func (e *env) readRun(t testing.TB, batchID string) RunRecord {
	t.Helper()
	b, _, err := blob.ReadAll(t.Context(), e.mem, testBucket, runName(batchID), 0)
	if err != nil {
		t.Fatal(err)
	}
	var rr RunRecord
	if err := json.Unmarshal(b, &rr); err != nil {
		t.Fatal(err)
	}
	return rr
}

func TestScheduleDuplicateDelivery(t *testing.T) {
	e := newEnv(t)
	first, err := e.s.Schedule(t.Context(), img("a.jpg", 1))
	if err != nil {
		t.Fatal(err)
	}
	// The duplicate arrives later, even in a later window: the claim decides the batch.
	e.clock.Set(window0.Add(95 * time.Second))
	dup, err := e.s.Schedule(t.Context(), img("a.jpg", 1))
	if err != nil {
		t.Fatal(err)
	}
	if !dup.Duplicate || dup.Started || dup.BatchID != first.BatchID || dup.Moved {
		t.Errorf("duplicate: %+v (first %+v)", dup, first)
	}
	if n := len(e.exec.executions()); n != 1 {
		t.Errorf("%d executions, want 1", n)
	}
	if d := cmp.Diff([]string{"a.jpg#1"}, e.items(t, first.BatchID)); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
}

func TestScheduleWindows(t *testing.T) {
	e := newEnv(t)
	at := func(d time.Duration, name string) Result {
		t.Helper()
		e.clock.Set(window0.Add(d))
		res, err := e.s.Schedule(t.Context(), img(name, 1))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b := at(0, "a.jpg"), at(59*time.Second, "b.jpg")
	c := at(60*time.Second, "c.jpg")
	if a.BatchID != b.BatchID || c.BatchID == a.BatchID {
		t.Errorf("batches: a=%s b=%s c=%s; want a=b≠c", a.BatchID, b.BatchID, c.BatchID)
	}
	if !a.Started || b.Started || !c.Started {
		t.Errorf("started: a=%v b=%v c=%v; want true false true", a.Started, b.Started, c.Started)
	}
	if n := len(e.exec.executions()); n != 2 {
		t.Errorf("%d executions, want 2", n)
	}
	if d := cmp.Diff([]string{"a.jpg#1", "b.jpg#1"}, e.items(t, a.BatchID)); d != "" {
		t.Errorf("first batch items (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"c.jpg#1"}, e.items(t, c.BatchID)); d != "" {
		t.Errorf("second batch items (-want +got):\n%s", d)
	}
}

func TestScheduleOutOfOrderDelivery(t *testing.T) {
	e := newEnv(t)
	// Generation 2 of a.jpg and b.jpg arrive before generation 1 of a.jpg, which is redelivered.
	for _, o := range []Object{img("a.jpg", 2), img("b.jpg", 5), img("a.jpg", 1), img("a.jpg", 2), img("a.jpg", 1)} {
		if _, err := e.s.Schedule(t.Context(), o); err != nil {
			t.Fatal(err)
		}
	}
	if d := cmp.Diff([]string{"a.jpg#1", "a.jpg#2", "b.jpg#5"}, e.items(t, "20261128-210000")); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
	if n := len(e.exec.executions()); n != 1 {
		t.Errorf("%d executions, want 1", n)
	}
}

// TestScheduleBurst is the 10,000-event burst for one batch, concurrently, with duplicates.
func TestScheduleBurst(t *testing.T) {
	const n = 10000
	e := newEnv(t)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 64)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			obj := img(fmt.Sprintf("burst/%05d.jpg", i), 1)
			if _, err := e.s.Schedule(t.Context(), obj); err != nil {
				errs <- err
			}
			if i%10 == 0 { // every tenth event is delivered twice
				if _, err := e.s.Schedule(t.Context(), obj); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := len(e.exec.executions()); got != 1 {
		t.Fatalf("%d executions, want exactly 1", got)
	}
	if got := len(e.items(t, "20261128-210000")); got != n {
		t.Errorf("%d items, want %d", got, n)
	}
}

func TestScheduleCrashBetweenClaimAndItem(t *testing.T) {
	e := newEnv(t)
	crash := errors.New("instance died")
	e.store.setFail(func(name string, _ blob.Cond) error {
		if name == itemName("20261128-210000", "a.jpg#1") {
			return crash
		}
		return nil
	})
	if _, err := e.s.Schedule(t.Context(), img("a.jpg", 1)); !errors.Is(err, crash) || errclass.IsPermanent(err) {
		t.Fatalf("got %v, want the retryable write error", err)
	}
	e.store.setFail(nil)
	res, err := e.s.Schedule(t.Context(), img("a.jpg", 1))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Duplicate || !res.Started || res.BatchID != "20261128-210000" {
		t.Errorf("redelivery: %+v", res)
	}
	if d := cmp.Diff([]string{"a.jpg#1"}, e.items(t, res.BatchID)); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
}

func TestScheduleCreateFailsThenNextEventStarts(t *testing.T) {
	e := newEnv(t)
	e.exec.failNext = 1
	if _, err := e.s.Schedule(t.Context(), img("a.jpg", 1)); err == nil || errclass.IsPermanent(err) {
		t.Fatalf("got %v, want a retryable error", err)
	}
	rr := e.readRun(t, "20261128-210000")
	if rr.State != RunPending || rr.LastError == "" || !rr.LeaseUntil.IsZero() {
		t.Errorf("after a failed start run.json = %+v, want pending with the lease released", rr)
	}
	// Another image of the same batch arrives first and takes over at once.
	res, err := e.s.Schedule(t.Context(), img("b.jpg", 1))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Started {
		t.Errorf("next event did not start the run: %+v", res)
	}
	// The failed event's redelivery then does nothing more.
	res, err = e.s.Schedule(t.Context(), img("a.jpg", 1))
	if err != nil || res.Started {
		t.Errorf("redelivery: %+v, %v", res, err)
	}
	if n := len(e.exec.executions()); n != 1 {
		t.Errorf("%d executions, want 1", n)
	}
	if rr := e.readRun(t, "20261128-210000"); rr.State != RunStarted || rr.Attempt != 2 {
		t.Errorf("run.json = %+v, want started at attempt 2", rr)
	}
}

// TestScheduleCrashAfterCreate: the execution was created but the holder died before recording
// it. Other events ack; the holder's redelivery waits for its lease; the takeover finds the
// execution by its label instead of creating a second one.
func TestScheduleCrashAfterCreate(t *testing.T) {
	e := newEnv(t)
	crash := errors.New("instance died")
	e.store.setFail(func(name string, c blob.Cond) error {
		if name == runName("20261128-210000") && c.GenerationMatch != 0 {
			return crash
		}
		return nil
	})
	if _, err := e.s.Schedule(t.Context(), img("a.jpg", 1)); !errors.Is(err, crash) {
		t.Fatalf("got %v, want the crash", err)
	}
	e.store.setFail(nil)
	if res, err := e.s.Schedule(t.Context(), img("b.jpg", 1)); err != nil || res.Started {
		t.Errorf("other event during the lease: %+v, %v; want ack without start", res, err)
	}
	if _, err := e.s.Schedule(t.Context(), img("a.jpg", 1)); !errors.Is(err, ErrStartInProgress) || errclass.IsPermanent(err) {
		t.Errorf("holder redelivery during the lease: %v, want retryable ErrStartInProgress", err)
	}
	e.clock.Set(window0.Add(10*time.Second + 3*time.Minute))
	res, err := e.s.Schedule(t.Context(), img("a.jpg", 1))
	if err != nil {
		t.Fatal(err)
	}
	if res.Started || res.Execution != testWorkflow+"/executions/e1" {
		t.Errorf("takeover: %+v, want the existing execution found", res)
	}
	if n := len(e.exec.executions()); n != 1 {
		t.Errorf("%d executions, want 1", n)
	}
	if rr := e.readRun(t, "20261128-210000"); rr.State != RunStarted || rr.Execution != res.Execution {
		t.Errorf("run.json = %+v", rr)
	}
}

// TestScheduleLateItem: a delivery that crashed between claim and item and comes back after the
// batch stopped accepting items lands in the current batch, never in the sealed one.
func TestScheduleLateItem(t *testing.T) {
	tests := []struct {
		name      string
		redeliver time.Duration // after window0
		wantBatch string
		wantMoved bool
	}{
		{"before the item deadline", 69 * time.Second, "20261128-210000", false},
		{"after the item deadline", 70 * time.Second, "20261128-210100", true},
		{"much later", 10 * time.Minute, "20261128-211000", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if _, err := e.s.Schedule(t.Context(), img("early.jpg", 1)); err != nil {
				t.Fatal(err)
			}
			e.store.setFail(func(name string, _ blob.Cond) error {
				if name == itemName("20261128-210000", "late.jpg#1") {
					return errors.New("instance died")
				}
				return nil
			})
			if _, err := e.s.Schedule(t.Context(), img("late.jpg", 1)); err == nil {
				t.Fatal("want the injected failure")
			}
			e.store.setFail(nil)
			e.clock.Set(window0.Add(tc.redeliver))
			res, err := e.s.Schedule(t.Context(), img("late.jpg", 1))
			if err != nil {
				t.Fatal(err)
			}
			if res.BatchID != tc.wantBatch || res.Moved != tc.wantMoved {
				t.Errorf("got batch %s moved=%v, want %s moved=%v", res.BatchID, res.Moved, tc.wantBatch, tc.wantMoved)
			}
			// Exactly one batch holds the image.
			count := 0
			for _, b := range []string{"20261128-210000", "20261128-210100", "20261128-211000"} {
				for _, it := range e.items(t, b) {
					if it == "late.jpg#1" {
						count++
					}
				}
			}
			if count != 1 {
				t.Errorf("image is an item of %d batches, want 1", count)
			}
			wantExec := 1
			if tc.wantMoved {
				wantExec = 2
				if !res.Started {
					t.Errorf("moved item did not start its new batch: %+v", res)
				}
			}
			if n := len(e.exec.executions()); n != wantExec {
				t.Errorf("%d executions, want %d", n, wantExec)
			}
			// Redelivery after the move changes nothing.
			again, err := e.s.Schedule(t.Context(), img("late.jpg", 1))
			if err != nil || again.BatchID != tc.wantBatch || again.Started {
				t.Errorf("redelivery after move: %+v, %v", again, err)
			}
		})
	}
}

func TestSchedulePermanentErrors(t *testing.T) {
	e := newEnv(t)
	long := make([]byte, 1000)
	for i := range long {
		long[i] = '%'
	}
	for _, obj := range []Object{
		{Bucket: testBucket, Name: "a.jpg", ContentType: "image/jpeg"},
		{Bucket: testBucket, Name: string(long) + ".jpg", Generation: 1},
	} {
		if _, err := e.s.Schedule(t.Context(), obj); !errclass.IsPermanent(err) {
			t.Errorf("%.20q: got %v, want a permanent error", obj.Name, err)
		}
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	good := Options{InputBucket: testBucket, Window: time.Minute, Grace: 20 * time.Second, Lease: time.Minute,
		Workflow: testWorkflow, Run: testTemplate()}
	tests := []struct {
		name string
		edit func(*Options)
	}{
		{"no bucket", func(o *Options) { o.InputBucket = "" }},
		{"fractional window", func(o *Options) { o.Window = 1500 * time.Millisecond }},
		{"short grace", func(o *Options) { o.Grace = time.Second }},
		{"no lease", func(o *Options) { o.Lease = 0 }},
		{"workflow short name", func(o *Options) { o.Workflow = "launch" }},
		{"workflow wrong shape", func(o *Options) { o.Workflow = "projects/p/locations/l/functions/f" }},
		{"no model", func(o *Options) { o.Run.Model = "" }},
		{"no shards", func(o *Options) { o.Run.ShardCount = 0 }},
		{"short timeout", func(o *Options) { o.Run.Timeout = time.Second }},
	}
	if _, err := New(blob.NewMemory(), &fakeExec{}, StaticImage(testImage), good); err != nil {
		t.Fatalf("good options refused: %v", err)
	}
	for _, tc := range tests {
		o := good
		tc.edit(&o)
		if _, err := New(blob.NewMemory(), &fakeExec{}, StaticImage(testImage), o); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}
