package batch

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/blob"
)

// Uploads that arrive before the first pin (or between the provider's update and the audit
// record) wait for it: however often their start is retried, and however often the sweeper
// looks, the run is not failed for it, and it starts once the pin is written.
func TestRunWaitsForThePinWithoutSpendingAttempts(t *testing.T) {
	mem := blob.NewMemory()
	e := &env{store: &faultyStore{Store: mem}, mem: mem, exec: &fakeExec{}, clock: &clock{t: t0}}
	opt := testOptions()
	opt.Now = e.clock.Now
	opt.MaxAttempts = 3
	pin := PinPointer{Store: mem, Bucket: "audit", Object: "pins/latest.json"}
	s, err := New(e.store, e.exec, pin, opt)
	if err != nil {
		t.Fatal(err)
	}
	e.s = s
	for i := range 3 * opt.MaxAttempts {
		if _, err := s.Schedule(t.Context(), img("photos/a.jpg", int64(i+1))); err == nil {
			t.Fatalf("upload %d: scheduled with nothing pinned", i)
		}
		e.clock.Advance(opt.Lease + time.Second)
		rep, err := s.Sweep(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Failed) != 0 {
			t.Fatalf("the sweeper failed the waiting run after %d uploads: %+v", i+1, rep)
		}
	}
	if n := len(e.exec.executions()); n != 0 {
		t.Fatalf("%d executions with nothing pinned", n)
	}
	b, _ := json.Marshal(map[string]string{"image_reference": testImage.Reference, "digest": testImage.Digest})
	if _, err := mem.Write(t.Context(), "audit", "pins/latest.json", blob.Object{Data: b}, blob.Cond{}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(opt.Lease + time.Second)
	if _, err := s.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(e.exec.executions()); n != 1 {
		t.Fatalf("%d executions once pinned, want 1", n)
	}
}
