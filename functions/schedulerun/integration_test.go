package schedulerun

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/workflows/executions/apiv1/executionspb"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/internal/batch"
	"github.com/cspipe/cspipe/internal/batch/executionstest"
	"github.com/cspipe/cspipe/internal/batch/workflowexec"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/envconfig"
	"github.com/cspipe/cspipe/internal/fnutil"
	"github.com/cspipe/cspipe/internal/fnutil/fnutiltest"
	"github.com/cspipe/cspipe/internal/records"
)

var t0 = time.Date(2026, 11, 28, 21, 0, 5, 0, time.UTC)

// firstBatch is the id of the batch the first upload at t0 opens.
const firstBatch = "20261128-210005-1"

type stack struct {
	fn    *Function
	url   string
	store *blob.GCS
	exec  *executionstest.Server
	now   *time.Time
	mu    *sync.Mutex
}

// newStack serves ScheduleRun over HTTP against fake-gcs-server and the fake executions gRPC
// server, through the real storage and executions clients.
func newStack(t *testing.T, edit func(map[string]string)) *stack {
	t.Helper()
	_, sc := fnutiltest.FakeGCS(t, "input", "audit", "state", "results")
	srv, err := executionstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ec, err := workflowexec.Dial(t.Context(), srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ec.Close() })
	env := baseEnv()
	env["CSPIPE_MAX_EVENT_AGE"] = "0"
	if edit != nil {
		edit(env)
	}
	var cfg Config
	if err := envconfig.Load(&cfg, envconfig.MapEnv(env)); err != nil {
		t.Fatal(err)
	}
	st := &stack{store: blob.NewGCS(sc), exec: srv, now: new(time.Time), mu: new(sync.Mutex)}
	*st.now = t0
	f, err := New(cfg, Deps{Store: st.store, Executions: workflowexec.New(ec), Log: fnutil.DiscardLogger(),
		Now: func() time.Time { st.mu.Lock(); defer st.mu.Unlock(); return *st.now }})
	if err != nil {
		t.Fatal(err)
	}
	st.fn, st.url = f, fnutiltest.Serve(t, f.Handle)
	return st
}

// upload writes an object and returns its finalize event's parameters.
func (s *stack) upload(t *testing.T, name, contentType string) (string, int64) {
	t.Helper()
	a, err := s.store.Write(t.Context(), "input", name, blob.Object{Data: []byte("\xff\xd8\xff fake jpeg"), ContentType: contentType}, blob.Cond{})
	if err != nil {
		t.Fatal(err)
	}
	return name, a.Generation
}

func (s *stack) send(t *testing.T, id, name string, gen int64) error {
	t.Helper()
	return fnutiltest.Send(t.Context(), s.url, fnutiltest.StorageEvent(id, "input", name, gen, 16, t0))
}

func (s *stack) items(t *testing.T, batchID string) []batch.Item {
	t.Helper()
	var out []batch.Item
	err := s.store.List(t.Context(), "state", batch.BatchPrefix(batchID), func(a blob.Attrs) error {
		b, _, err := blob.ReadAll(t.Context(), s.store, "state", a.Name, 0)
		if err != nil {
			return err
		}
		var it batch.Item
		if err := json.Unmarshal(b, &it); err != nil {
			return err
		}
		out = append(out, it)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestHTTPDuplicateAndOutOfOrderDelivery(t *testing.T) {
	s := newStack(t, nil)
	a, ga := s.upload(t, "cats/a.jpg", "image/jpeg")
	b, gb := s.upload(t, "cats/b.png", "")
	notes, gn := s.upload(t, "notes.txt", "text/plain")
	// b before a, a twice, a non-image, then b again.
	for i, ev := range []struct {
		name string
		gen  int64
	}{{b, gb}, {a, ga}, {a, ga}, {notes, gn}, {b, gb}} {
		if err := s.send(t, fmt.Sprint("ev-", i), ev.name, ev.gen); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	ex := s.exec.Executions()
	if len(ex) != 1 {
		t.Fatalf("%d executions, want 1", len(ex))
	}
	var arg batch.Argument
	if err := json.Unmarshal([]byte(ex[0].GetArgument()), &arg); err != nil {
		t.Fatal(err)
	}
	if arg.RunID != "batch-"+firstBatch || arg.ImageReference != "europe-docker.pkg.dev/primus/w/infer@"+digest ||
		arg.Env["CSPIPE_BATCH_PREFIX"] != "batches/"+firstBatch+"/items/" || arg.Env["CSPIPE_BATCH_BUCKET"] != "state" ||
		arg.Batch == nil || arg.Batch.QuietSeconds != 15 || arg.Batch.MaxWaitSeconds != 600 || arg.Batch.StateBucket != "state" {
		t.Errorf("argument %+v", arg)
	}
	want := []batch.Item{{Bucket: "input", Name: a, Generation: ga}, {Bucket: "input", Name: b, Generation: gb}}
	if d := cmp.Diff(want, s.items(t, firstBatch)); d != "" {
		t.Errorf("items (-want +got):\n%s", d)
	}
}

func TestHTTPBurstStartsOneExecution(t *testing.T) {
	const n = 60
	s := newStack(t, nil)
	type obj struct {
		name string
		gen  int64
	}
	objs := make([]obj, n)
	for i := range objs {
		objs[i].name, objs[i].gen = s.upload(t, fmt.Sprintf("burst/%03d.jpg", i), "image/jpeg")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	// deliver sends like the platform: a 5xx (e.g. a duplicate of the event that is starting the
	// run, told to come back) is redelivered.
	deliver := func(id string, o obj) {
		var err error
		for range 20 {
			if err = s.send(t, id, o.name, o.gen); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		errs <- err
	}
	for i, o := range objs {
		wg.Go(func() { deliver(fmt.Sprint("e", i), o) })
		if i%3 == 0 {
			wg.Go(func() { deliver(fmt.Sprint("e", i), o) }) // duplicate delivery
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := len(s.exec.Executions()); got != 1 {
		t.Errorf("%d executions, want exactly 1", got)
	}
	if got := len(s.items(t, firstBatch)); got != n {
		t.Errorf("%d items, want %d", got, n)
	}
}

func TestHTTPStartFailureIsRedelivered(t *testing.T) {
	s := newStack(t, nil)
	name, gen := s.upload(t, "a.jpg", "image/jpeg")
	s.exec.FailNextCreates(1)
	if err := s.send(t, "e1", name, gen); err == nil {
		t.Fatal("failed start was acked; want a 5xx for redelivery")
	}
	if err := s.send(t, "e1", name, gen); err != nil {
		t.Fatalf("redelivery: %v", err)
	}
	if got := len(s.exec.Executions()); got != 1 {
		t.Errorf("%d executions, want 1", got)
	}
}

func TestHTTPPinPointer(t *testing.T) {
	s := newStack(t, func(m map[string]string) {
		delete(m, "CSPIPE_WORKLOAD_IMAGE")
		m["CSPIPE_PIN_POINTER"] = "gs://audit/pins/latest.json"
	})
	name, gen := s.upload(t, "a.jpg", "image/jpeg")
	// Nothing pinned yet: retried, not lost.
	if err := s.send(t, "e1", name, gen); err == nil {
		t.Fatal("event acked with no pinned image")
	}
	ref := "europe-docker.pkg.dev/primus/w/infer@" + digest
	pin := fmt.Sprintf(`{"record":"r","digest":%q,"image_reference":%q,"condition":"c","pinned_at":"2026-11-28T20:00:00Z"}`, digest, ref)
	if _, err := s.store.Write(t.Context(), "audit", "pins/latest.json", blob.Object{Data: []byte(pin)}, blob.Cond{}); err != nil {
		t.Fatal(err)
	}
	if err := s.send(t, "e1", name, gen); err != nil {
		t.Fatal(err)
	}
	ex := s.exec.Executions()
	if len(ex) != 1 {
		t.Fatalf("%d executions, want 1", len(ex))
	}
	var arg batch.Argument
	_ = json.Unmarshal([]byte(ex[0].GetArgument()), &arg)
	if arg.ImageReference != ref {
		t.Errorf("image_reference %q, want %q", arg.ImageReference, ref)
	}
}

func TestHTTPIgnoresOwnObjectsAndMalformedEvents(t *testing.T) {
	s := newStack(t, nil)
	for _, name := range []string{"_cspipe/batches/x/run.png", "runs/r/summary.json"} {
		if err := s.send(t, "own", name, 1); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A malformed event is permanent: acked, nothing happens.
	e := fnutiltest.StorageEvent("bad", "input", "a.jpg", 1, 1, t0)
	_ = e.SetData("application/json", []byte(`{"bucket":"input"}`))
	if err := fnutiltest.Send(t.Context(), s.url, e); err != nil {
		t.Errorf("malformed event: %v (want acked)", err)
	}
	if got := len(s.exec.Executions()); got != 0 {
		t.Errorf("%d executions, want 0", got)
	}
	var names []string
	_ = s.store.List(t.Context(), "state", "", func(a blob.Attrs) error { names = append(names, a.Name); return nil })
	if len(names) != 0 {
		t.Errorf("state written: %v", names)
	}
}

func TestHTTPDropsOldEvents(t *testing.T) {
	s := newStack(t, func(m map[string]string) { m["CSPIPE_MAX_EVENT_AGE"] = "1h" })
	name, gen := s.upload(t, "a.jpg", "image/jpeg")
	old := fnutiltest.StorageEvent("old", "input", name, gen, 16, time.Now().Add(-2*time.Hour))
	if err := fnutiltest.Send(t.Context(), s.url, old); err != nil {
		t.Fatalf("old event: %v (want acked)", err)
	}
	if got := len(s.exec.Executions()); got != 0 {
		t.Errorf("%d executions for a dropped event", got)
	}
	fresh := fnutiltest.StorageEvent("new", "input", name, gen, 16, time.Now())
	if err := fnutiltest.Send(t.Context(), s.url, fresh); err != nil {
		t.Fatal(err)
	}
	if got := len(s.exec.Executions()); got != 1 {
		t.Errorf("%d executions, want 1", got)
	}
}

// TestHTTPStateStaysOutOfTheInputBucket: the user's bucket holds only the uploads.
func TestHTTPStateStaysOutOfTheInputBucket(t *testing.T) {
	s := newStack(t, nil)
	name, gen := s.upload(t, "a.jpg", "image/jpeg")
	if err := s.send(t, "e1", name, gen); err != nil {
		t.Fatal(err)
	}
	var names []string
	_ = s.store.List(t.Context(), "input", "", func(a blob.Attrs) error { names = append(names, a.Name); return nil })
	if d := cmp.Diff([]string{"a.jpg"}, names); d != "" {
		t.Errorf("input bucket (-want +got):\n%s", d)
	}
	if len(s.items(t, firstBatch)) != 1 {
		t.Error("no item in the state bucket")
	}
}

func (s *stack) runRecord(t *testing.T) batch.RunRecord {
	t.Helper()
	b, _, err := blob.ReadAll(t.Context(), s.store, "state", "batches/"+firstBatch+"/run.json", 0)
	if err != nil {
		t.Fatal(err)
	}
	var rr batch.RunRecord
	if err := json.Unmarshal(b, &rr); err != nil {
		t.Fatal(err)
	}
	return rr
}

// TestHTTPSweepFailsDeadRun: the run's execution failed after its batch was sealed; the sweeper
// writes a failed summary (through the real storage client) for PublishResults to send.
func TestHTTPSweepFailsDeadRun(t *testing.T) {
	s := newStack(t, nil)
	name, gen := s.upload(t, "a.jpg", "image/jpeg")
	if err := s.send(t, "e1", name, gen); err != nil {
		t.Fatal(err)
	}
	ex := s.exec.Executions()
	if len(ex) != 1 {
		t.Fatalf("%d executions", len(ex))
	}
	if ok, err := s.fn.sched.Seal(t.Context(), firstBatch, "quiet"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	s.exec.SetState(ex[0].GetName(), executionspb.Execution_FAILED, "boom")
	// The deployed sweeper (SweepRuns) gets a Cloud Scheduler tick through Pub/Sub.
	tick := event.New()
	tick.SetID("tick-1")
	tick.SetSource("//pubsub.googleapis.com/projects/p/topics/cspipe-sweep")
	tick.SetType("google.cloud.pubsub.topic.v1.messagePublished")
	if err := (Sweeper{F: s.fn}).Handle(t.Context(), tick); err != nil {
		t.Fatal(err)
	}
	if rr := s.runRecord(t); rr.State != batch.RunFailed {
		t.Fatalf("run.json after the tick: %+v", rr)
	}
	b, _, err := blob.ReadAll(t.Context(), s.store, "results", "runs/batch-"+firstBatch+"/summary.json", 0)
	if err != nil {
		t.Fatal(err)
	}
	var sum records.Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Status != records.StatusFailed || sum.Source != "sweeper" || !strings.Contains(sum.Error, "ended FAILED: boom") {
		t.Errorf("summary %+v", sum)
	}
}
