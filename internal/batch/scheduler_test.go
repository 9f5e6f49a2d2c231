package batch

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
		{"old state prefix", Object{Bucket: testBucket, Name: "_cspipe/claims/a.jpg#1", Generation: 1, ContentType: "application/json"}, "pipeline's own object"},
		{"old state image name", Object{Bucket: testBucket, Name: "_cspipe/x.png", Generation: 1}, "pipeline's own object"},
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
			for _, b := range []string{testBucket, stateBucket} {
				_ = e.mem.List(t.Context(), b, "", func(a blob.Attrs) error { t.Errorf("ignored object wrote gs://%s/%s", b, a.Name); return nil })
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

func TestScheduleFirstUploadOpensBatchAndStartsRun(t *testing.T) {
	e := newEnv(t)
	res := e.schedule(t, "dir/cat 1.jpg", 7)
	if res.Swept == nil || res.SweepErr != nil {
		t.Errorf("the opening event did not sweep: %+v", res)
	}
	res.Swept, res.SweepErr = nil, nil
	want := Result{Outcome: Batched, BatchID: firstBatch, RunID: "batch-" + firstBatch, Opened: true,
		Started: true, Execution: testWorkflow + "/executions/e1"}
	if d := cmp.Diff(want, res); d != "" {
		t.Errorf("result (-want +got):\n%s", d)
	}
	ex := e.exec.executions()
	if len(ex) != 1 {
		t.Fatalf("%d executions, want 1", len(ex))
	}
	if d := cmp.Diff(map[string]string{LabelRunID: "batch-" + firstBatch}, ex[0].Labels); d != "" {
		t.Errorf("labels (-want +got):\n%s", d)
	}
	var arg Argument
	if err := json.Unmarshal([]byte(ex[0].Argument), &arg); err != nil {
		t.Fatal(err)
	}
	wantArg := Argument{
		RunID: "batch-" + firstBatch, ImageReference: testImage.Reference, Project: "secundus", Zone: "europe-west4-a",
		MachineType: "n2d-standard-2", ServiceAccount: "workload-sa@secundus.iam.gserviceaccount.com", ResultsBucket: "results",
		Env: map[string]string{
			"CSPIPE_INPUT_BUCKET": testBucket, "CSPIPE_BATCH_BUCKET": stateBucket,
			"CSPIPE_BATCH_PREFIX": "batches/" + firstBatch + "/items/", "CSPIPE_RESULTS_BUCKET": "results",
			"CSPIPE_MODEL":                  "gs://primus-models/model.tar.gz",
			"CSPIPE_WIP_PROVIDER":           "projects/1/locations/global/workloadIdentityPools/p/providers/attestation-verifier",
			"CSPIPE_PRIMUS_SERVICE_ACCOUNT": "primus-sa@primus.iam.gserviceaccount.com",
		},
		ShardCount: 1, TimeoutSeconds: 3600,
		Batch: &BatchSpec{StateBucket: stateBucket, BatchID: firstBatch, Head: "head.json",
			ItemsPrefix: "batches/" + firstBatch + "/items/", Plan: "batches/" + firstBatch + "/plan.json",
			QuietSeconds: 15, MaxWaitSeconds: 600, PollSeconds: 5, SettleSeconds: 7, ImagesPerShard: 500, MaxShards: 10},
	}
	if d := cmp.Diff(wantArg, arg); d != "" {
		t.Errorf("argument (-want +got):\n%s", d)
	}
	b, _, err := blob.ReadAll(t.Context(), e.mem, stateBucket, "batches/"+firstBatch+"/items/dir%2Fcat%201.jpg#7", 0)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(`{"bucket":"input","name":"dir/cat 1.jpg","generation":7}`, string(b)); d != "" {
		t.Errorf("item content (-want +got):\n%s", d)
	}
	if rr := e.readRun(t, firstBatch); rr.State != RunStarted || rr.Execution != res.Execution || rr.Holder != "" {
		t.Errorf("run.json = %+v, want started with %s", rr, res.Execution)
	}
	h := e.head(t)
	if h.BatchID != firstBatch || h.State != HeadOpen || !h.OpenedAt.Equal(t0) || !slices.Equal(h.Unfinished, []string{firstBatch}) {
		t.Errorf("head = %+v", h)
	}
	// Nothing of the bookkeeping is in the user's bucket.
	_ = e.mem.List(t.Context(), testBucket, "", func(a blob.Attrs) error { t.Errorf("state in the input bucket: %s", a.Name); return nil })
}

func TestScheduleDuplicateDelivery(t *testing.T) {
	e := newEnv(t)
	first := e.schedule(t, "a.jpg", 1)
	wf := e.workflow(first.BatchID)
	e.clock.Advance(20 * time.Second)
	wf.poll(t)
	e.clock.Advance(20 * time.Second)
	if !wf.poll(t) {
		t.Fatal("batch not sealed after a quiet period")
	}
	// The duplicate arrives after the seal: the claim (and the item) decide, no batch opens.
	dup := e.schedule(t, "a.jpg", 1)
	if !dup.Duplicate || dup.Started || dup.Opened || dup.Moved || dup.BatchID != first.BatchID {
		t.Errorf("duplicate: %+v (first %+v)", dup, first)
	}
	if n := len(e.exec.executions()); n != 1 {
		t.Errorf("%d executions, want 1", n)
	}
	if h := e.head(t); h.BatchID != first.BatchID || h.State != HeadSealed || h.SealReason != "quiet" {
		t.Errorf("head = %+v, want the first batch sealed", h)
	}
	if d := cmp.Diff(map[string][]string{"a.jpg#1": {first.BatchID}}, e.holders(t)); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
}

func TestScheduleOutOfOrderDelivery(t *testing.T) {
	e := newEnv(t)
	// Generation 2 of a.jpg and b.jpg arrive before generation 1 of a.jpg, which is redelivered.
	for _, o := range []Object{img("a.jpg", 2), img("b.jpg", 5), img("a.jpg", 1), img("a.jpg", 2), img("a.jpg", 1)} {
		if _, err := e.s.Schedule(t.Context(), o); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
	}
	if d := cmp.Diff([]string{"a.jpg#1", "a.jpg#2", "b.jpg#5"}, e.items(t, firstBatch)); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
	if n := len(e.exec.executions()); n != 1 {
		t.Errorf("%d executions, want 1", n)
	}
}

// TestScheduleContinuousBurstIsOneBatch: uploads every 5 s for two minutes (far longer than the
// quiet period, across minute boundaries) form one batch; the quiet period after the last one
// seals it.
func TestScheduleContinuousBurstIsOneBatch(t *testing.T) {
	e := newEnv(t)
	var wf *workflow
	for i := range 25 {
		res := e.schedule(t, fmt.Sprintf("slow/%02d.jpg", i), 1)
		if wf == nil {
			wf = e.workflow(res.BatchID)
		}
		if res.BatchID != firstBatch {
			t.Fatalf("upload %d went to %s", i, res.BatchID)
		}
		e.clock.Advance(5 * time.Second)
		if wf.poll(t) {
			t.Fatalf("sealed after upload %d with uploads still arriving (%s)", i, wf.reason)
		}
	}
	for !wf.poll(t) {
		e.clock.Advance(5 * time.Second)
	}
	if wf.reason != "quiet" || wf.count != 25 {
		t.Errorf("sealed for %s with %d items, want quiet with 25", wf.reason, wf.count)
	}
	if quiet := e.clock.Now().Sub(wf.lastChange); quiet < 15*time.Second || quiet > 20*time.Second {
		t.Errorf("sealed %s after the last upload, want within one poll of the 15s quiet period", quiet)
	}
	if n := len(e.exec.executions()); n != 1 {
		t.Errorf("%d executions, want 1", n)
	}
}

// TestScheduleBurstAnyPhase: 10,000 events (2,000 at the other phases, to keep -race quick) (every tenth delivered twice) from 64 goroutines,
// as several function instances (Schedulers) sharing the store, starting at different phases
// of the clock and advancing it, give one batch and one execution.
func TestScheduleBurstAnyPhase(t *testing.T) {
	for _, tc := range []struct {
		phase time.Duration
		n     int
	}{{0, 10000}, {59*time.Second + 990*time.Millisecond, 2000}, {14*time.Second + 999*time.Millisecond, 2000}} {
		phase, n := tc.phase, tc.n
		t.Run(phase.String(), func(t *testing.T) {
			e := newEnv(t)
			e.clock.Set(t0.Truncate(time.Minute).Add(phase))
			instances := []*Scheduler{e.s}
			for range 3 {
				s, err := New(e.store, e.exec, StaticImage(testImage), e.s.opt)
				if err != nil {
					t.Fatal(err)
				}
				instances = append(instances, s)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 2*n)
			sem := make(chan struct{}, 64)
			for i := range n {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					if i%100 == 0 {
						e.clock.Advance(50 * time.Millisecond) // 5 s over the burst
					}
					obj := img(fmt.Sprintf("burst/%05d.jpg", i), 1)
					if _, err := instances[i%len(instances)].Schedule(t.Context(), obj); err != nil {
						errs <- err
					}
					if i%10 == 0 {
						if _, err := instances[(i+1)%len(instances)].Schedule(t.Context(), obj); err != nil {
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
			h := e.head(t)
			if got := len(e.items(t, h.BatchID)); got != n || h.Seq != 1 {
				t.Errorf("%d items in batch %s (seq %d), want %d in the first batch", got, h.BatchID, h.Seq, n)
			}
		})
	}
}

func TestScheduleMaxWaitCut(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxWait = 2 * time.Minute })
	var wf *workflow
	var batches []string
	for i := range 40 { // every 5 s for 200 s: never quiet
		res := e.schedule(t, fmt.Sprintf("busy/%02d.jpg", i), 1)
		if wf == nil || (wf.sealed && res.Opened) {
			wf = e.workflow(res.BatchID)
			batches = append(batches, res.BatchID)
		}
		e.clock.Advance(5 * time.Second)
		wf.poll(t)
		if wf.sealed && wf.reason != "max_wait" {
			t.Fatalf("sealed for %s, want max_wait", wf.reason)
		}
	}
	if len(batches) != 2 {
		t.Fatalf("batches %v, want two (cut at max wait)", batches)
	}
	first := e.items(t, batches[0])
	if len(first) != 24 { // uploads at 0..115 s; the poll at 120 s seals
		t.Errorf("first batch has %d items, want 24", len(first))
	}
	total := 0
	for k, hs := range e.holders(t) {
		if len(hs) != 1 {
			t.Errorf("%s is in %v", k, hs)
		}
		total++
	}
	if total != 40 || len(e.exec.executions()) != 2 {
		t.Errorf("%d items, %d executions; want 40 and 2", total, len(e.exec.executions()))
	}
}

func TestScheduleMaxItemsCut(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxItems = 100 })
	var wf *workflow
	var batches []string
	for i := range 250 {
		res := e.schedule(t, fmt.Sprintf("many/%03d.jpg", i), 1)
		if wf == nil || (wf.sealed && res.Opened) {
			wf = e.workflow(res.BatchID)
			batches = append(batches, res.BatchID)
		}
		e.clock.Advance(100 * time.Millisecond)
		if i%10 == 9 {
			wf.poll(t)
		}
	}
	if len(batches) != 3 {
		t.Fatalf("batches %v, want three (cut at 100 items)", batches)
	}
	for _, b := range batches[:2] {
		if n := len(e.items(t, b)); n != 100 {
			t.Errorf("batch %s has %d items, want 100", b, n)
		}
	}
	if len(e.holders(t)) != 250 {
		t.Errorf("%d distinct items, want 250", len(e.holders(t)))
	}
}

// TestScheduleLateItemAfterSeal: an upload that saw the batch open but was slow (the workflow
// sealed the batch meanwhile and the join limit passed) goes to the next batch, never into the
// sealed one after its count.
func TestScheduleLateItemAfterSeal(t *testing.T) {
	e := newEnv(t)
	first := e.schedule(t, "early.jpg", 1)
	late := itemName(first.BatchID, "late.jpg#1")
	stalled := false
	e.store.setFail(func(name string, _ blob.Cond) error {
		if name == claimName("late.jpg#1") && !stalled {
			stalled = true
			// The event stalls after reading the head: the workflow seals meanwhile.
			e.clock.Advance(20 * time.Second)
			if ok, err := e.s.Seal(t.Context(), first.BatchID, "quiet"); !ok || err != nil {
				t.Errorf("seal: %v %v", ok, err)
			}
		}
		if name == late {
			t.Errorf("item written into the sealed batch")
		}
		return nil
	})
	res := e.schedule(t, "late.jpg", 1)
	e.store.setFail(nil)
	if res.BatchID == first.BatchID || !res.Moved || !res.Opened || !res.Started {
		t.Errorf("late upload: %+v, want moved to a new batch that it opened and started", res)
	}
	if d := cmp.Diff(map[string][]string{"early.jpg#1": {first.BatchID}, "late.jpg#1": {res.BatchID}}, e.holders(t)); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
	if n := len(e.exec.executions()); n != 2 {
		t.Errorf("%d executions, want 2", n)
	}
	// A redelivery changes nothing.
	again := e.schedule(t, "late.jpg", 1)
	if again.BatchID != res.BatchID || again.Started || again.Moved || again.Opened {
		t.Errorf("redelivery: %+v", again)
	}
}

// TestScheduleCrashBetweenClaimAndItem: the item write failed; the redelivery finds the claim.
func TestScheduleCrashBetweenClaimAndItem(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		t.Run(fmt.Sprint("sealed=", sealed), func(t *testing.T) {
			e := newEnv(t)
			first := e.schedule(t, "a.jpg", 1)
			crash := errors.New("instance died")
			e.store.setFail(func(name string, _ blob.Cond) error {
				if name == itemName(first.BatchID, "b.jpg#1") {
					return crash
				}
				return nil
			})
			if _, err := e.s.Schedule(t.Context(), img("b.jpg", 1)); !errors.Is(err, crash) || errclass.IsPermanent(err) {
				t.Fatalf("got %v, want the retryable write error", err)
			}
			e.store.setFail(nil)
			if sealed {
				e.clock.Advance(time.Minute)
				if ok, err := e.s.Seal(t.Context(), first.BatchID, "quiet"); !ok || err != nil {
					t.Fatal(ok, err)
				}
			}
			res := e.schedule(t, "b.jpg", 1)
			if !res.Duplicate || (res.BatchID == first.BatchID) == sealed || res.Moved != sealed {
				t.Errorf("redelivery: %+v", res)
			}
			if hs := e.holders(t)["b.jpg#1"]; len(hs) != 1 || hs[0] != res.BatchID {
				t.Errorf("b.jpg is in %v, want only %s", hs, res.BatchID)
			}
		})
	}
}

func TestScheduleCreateFailsThenNextEventStarts(t *testing.T) {
	e := newEnv(t)
	e.exec.failNext = 1
	if _, err := e.s.Schedule(t.Context(), img("a.jpg", 1)); err == nil || errclass.IsPermanent(err) {
		t.Fatalf("got %v, want a retryable error", err)
	}
	rr := e.readRun(t, firstBatch)
	if rr.State != RunPending || rr.LastError == "" || !rr.LeaseUntil.IsZero() {
		t.Errorf("after a failed start run.json = %+v, want pending with the lease released", rr)
	}
	// Another image of the same batch arrives first and takes over at once.
	if res := e.schedule(t, "b.jpg", 1); !res.Started {
		t.Errorf("next event did not start the run: %+v", res)
	}
	// The failed event's redelivery then does nothing more.
	if res := e.schedule(t, "a.jpg", 1); res.Started {
		t.Errorf("redelivery: %+v", res)
	}
	if n := len(e.exec.executions()); n != 1 {
		t.Errorf("%d executions, want 1", n)
	}
	if rr := e.readRun(t, firstBatch); rr.State != RunStarted || rr.Attempt != 2 {
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
		if name == runName(firstBatch) && c.GenerationMatch != 0 {
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
	e.clock.Advance(3 * time.Minute)
	res := e.schedule(t, "a.jpg", 1)
	if res.Started || res.Execution != testWorkflow+"/executions/e1" {
		t.Errorf("takeover: %+v, want the existing execution found", res)
	}
	if n := len(e.exec.executions()); n != 1 {
		t.Errorf("%d executions, want 1", n)
	}
	if rr := e.readRun(t, firstBatch); rr.State != RunStarted || rr.Execution != res.Execution {
		t.Errorf("run.json = %+v", rr)
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
	if _, err := e.mem.Write(t.Context(), stateBucket, headName, blob.Object{Data: []byte("{")}, blob.Cond{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Schedule(t.Context(), img("ok.jpg", 1)); !errclass.IsPermanent(err) {
		t.Errorf("corrupt head: got %v, want a permanent error", err)
	}
}

func TestShardsFor(t *testing.T) {
	for _, tc := range []struct{ items, per, max, want int }{
		{0, 500, 10, 1}, {1, 500, 10, 1}, {500, 500, 10, 1}, {501, 500, 10, 2},
		{1000, 100, 10, 10}, {10000, 100, 10, 10}, {7, 1, 100, 7}, {7, 0, 100, 7},
	} {
		if got := ShardsFor(tc.items, tc.per, tc.max); got != tc.want {
			t.Errorf("ShardsFor(%d, %d, %d) = %d, want %d", tc.items, tc.per, tc.max, got, tc.want)
		}
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	good := testOptions()
	tests := []struct {
		name string
		edit func(*Options)
	}{
		{"no bucket", func(o *Options) { o.InputBucket = "" }},
		{"no state bucket", func(o *Options) { o.StateBucket = "" }},
		{"state in the input bucket", func(o *Options) { o.StateBucket = o.InputBucket }},
		{"fractional quiet", func(o *Options) { o.Quiet = 1500 * time.Millisecond }},
		{"no quiet", func(o *Options) { o.Quiet = 0 }},
		{"max wait below quiet", func(o *Options) { o.MaxWait = 10 * time.Second }},
		{"negative max items", func(o *Options) { o.MaxItems = -1 }},
		{"no images per shard", func(o *Options) { o.ImagesPerShard = 0 }},
		{"no shards", func(o *Options) { o.MaxShards = 0 }},
		{"too many shards", func(o *Options) { o.MaxShards = MaxShardsLimit + 1 }},
		{"no lease", func(o *Options) { o.Lease = 0 }},
		{"workflow short name", func(o *Options) { o.Workflow = "launch" }},
		{"workflow wrong shape", func(o *Options) { o.Workflow = "projects/p/locations/l/functions/f" }},
		{"no model", func(o *Options) { o.Run.Model = "" }},
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

// TestSealRaceRealClock seals a batch in the middle of a burst from concurrent instances, on the
// real clock, the way the workflow does: seal, wait settle, count. No item may appear in the
// sealed batch after that count, and every upload is an item of exactly one batch.
func TestSealRaceRealClock(t *testing.T) {
	mem := blob.NewMemory()
	e := &env{store: &faultyStore{Store: mem}, mem: mem, exec: &fakeExec{}}
	opt := testOptions()
	opt.Quiet, opt.MaxWait = time.Second, time.Minute
	var instances []*Scheduler
	for range 4 {
		s, err := New(e.store, e.exec, StaticImage(testImage), opt)
		if err != nil {
			t.Fatal(err)
		}
		instances = append(instances, s)
	}
	e.s = instances[0]
	first := e.schedule(t, "first.jpg", 1)
	stop := time.Now().Add(600 * time.Millisecond)
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent := 0
	for w := range 16 {
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); i++ {
				if _, err := instances[w%4].Schedule(t.Context(), img(fmt.Sprintf("w%02d/%05d.jpg", w, i), 1)); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				sent++
				mu.Unlock()
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	if ok, err := e.s.Seal(t.Context(), first.BatchID, "quiet"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	time.Sleep(opt.settle())
	counted := len(e.items(t, first.BatchID))
	wg.Wait()
	if after := len(e.items(t, first.BatchID)); after != counted {
		t.Errorf("the sealed batch had %d items when counted and %d later", counted, after)
	}
	hs := e.holders(t)
	if len(hs) != sent+1 {
		t.Errorf("%d items for %d uploads", len(hs), sent+1)
	}
	for k, b := range hs {
		if len(b) != 1 {
			t.Errorf("%s is in batches %v", k, b)
		}
	}
	if h := e.head(t); h.BatchID == first.BatchID || len(e.exec.executions()) != 2 {
		t.Errorf("head %s, %d executions; want the uploads after the seal in one second batch", h.BatchID, len(e.exec.executions()))
	}
	t.Logf("%d uploads, %d in the sealed batch", sent+1, counted)
}
