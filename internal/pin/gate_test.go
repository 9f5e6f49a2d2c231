package pin

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/audit"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/errclass"
)

// The attack of issue 11: one forged event dated 2099 pinned a digest and then made every
// legitimate push "outdated". Now the forged event is refused (and recorded), and the next
// legitimate push pins.
func TestForgedFutureEventDoesNotCaptureOrdering(t *testing.T) {
	prov := &memProvider{}
	f := newFixture(t, prov)
	p, log, clk := f.p, f.log, f.clk
	ctx := t.Context()
	now := clk.now()

	forged := insert(6, time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	res, err := p.Pin(ctx, forged, "forged")
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != Refused || !strings.Contains(res.Reason, "2099-01-01") || res.Record == "" {
		t.Fatalf("forged 2099 event: %+v; want refused, naming its date, recorded", res)
	}
	if prov.sets != 0 {
		t.Fatalf("the forged event PATCHed the provider")
	}
	if _, ok, _ := log.Latest(ctx); ok {
		t.Fatal("the forged event entered the audit chain")
	}

	clk.set(now.Add(time.Second))
	res, err = p.Pin(ctx, insert(7, now.Add(time.Second)), "legit")
	if err != nil || res.Outcome != Pinned || prov.cond != render(t, 7) {
		t.Fatalf("legitimate push after the forged one: %+v, %v; want pinned", res, err)
	}
}

// Within the allowed skew an event dated ahead is accepted, but ordered at the time it was
// received: a push one second later still pins.
func TestEventAheadWithinSkewIsOrderedAtReceipt(t *testing.T) {
	prov := &memProvider{}
	f := newFixture(t, prov)
	p, log, clk := f.p, f.log, f.clk
	ctx := t.Context()
	now := clk.now()
	res, err := p.Pin(ctx, insert(1, now.Add(MaxClockSkew-time.Second)), "ahead")
	if err != nil || res.Outcome != Pinned {
		t.Fatalf("event 4m59s ahead: %+v, %v; want pinned", res, err)
	}
	head, _, _ := log.Latest(ctx)
	if !head.Record.OrderTime.Equal(now) {
		t.Errorf("order time %s, want the receive time %s", head.Record.OrderTime, now)
	}
	clk.set(now.Add(time.Second))
	if res, err := p.Pin(ctx, insert(2, now.Add(time.Second)), "next"); err != nil || res.Outcome != Pinned {
		t.Fatalf("push one second later: %+v, %v; want pinned", res, err)
	}
	if prov.cond != render(t, 2) {
		t.Error("provider does not pin the later push")
	}
}

// A `gcr` message naming a digest the repository does not hold is refused and recorded; it
// never reaches the provider or the chain.
func TestDigestNotInRepositoryIsRefused(t *testing.T) {
	prov := &memProvider{}
	f := newFixture(t, prov)
	p, log, reg := f.p, f.log, f.reg
	reg.digests = map[string]bool{digest(1): true}
	ctx := t.Context()
	res, err := p.Pin(ctx, insert(2, t0), "forged")
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != Refused || !strings.Contains(res.Reason, "not in the repository") {
		t.Fatalf("Pin(absent digest) = %+v; want refused", res)
	}
	if prov.sets != 0 {
		t.Error("absent digest PATCHed the provider")
	}
	if _, ok, _ := log.Latest(ctx); ok {
		t.Error("absent digest entered the audit chain")
	}
	b, _, err := blob.ReadAll(ctx, f.store, "audit", audit.RefusedPrefix+res.Record+".json", 0)
	if err != nil || !strings.Contains(string(b), digest(2)) {
		t.Errorf("refusal record: %s, %v", b, err)
	}
	if res, err := p.Pin(ctx, insert(1, t0), "legit"); err != nil || res.Outcome != Pinned {
		t.Errorf("Pin(pushed digest) = %+v, %v", res, err)
	}
}

func TestRegistryUnreachableIsRetried(t *testing.T) {
	prov := &memProvider{}
	f := newFixture(t, prov)
	p, reg := f.p, f.reg
	reg.down = errors.New("registry: 503")
	_, err := p.Pin(t.Context(), insert(1, t0), "ev")
	if err == nil || errclass.IsPermanent(err) || prov.sets != 0 {
		t.Errorf("Pin() with the registry down = %v (%d PATCHes); want a retryable error and no PATCH", err, prov.sets)
	}
}

// A corrupt audit log (the attack: pins/latest.json overwritten with a condition of
// `true`) no longer blocks pins forever: the next legitimate pin starts a new segment that
// records the break, and the provider gets the rendered condition, not `true`.
func TestCorruptLogStartsNewSegment(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(t *testing.T, s blob.Store, head audit.Entry)
	}{
		{"latest.json condition true", func(t *testing.T, s blob.Store, h audit.Entry) {
			writeObj(t, s, audit.LatestObject, `{"record":"`+h.Hash+`","sequence":1,"digest":"`+h.Record.Digest+
				`","image_reference":"`+h.Record.ImageReference+`","condition":"true"}`)
		}},
		{"latest.json without a record", func(t *testing.T, s blob.Store, _ audit.Entry) {
			writeObj(t, s, audit.LatestObject, `{"condition":"true"}`)
		}},
		{"a whole forged chain dated 2099", func(t *testing.T, s blob.Store, _ audit.Entry) {
			l := audit.New(s, "audit")
			r := pinnedRecord(t, 9, time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
			if _, err := l.StartSegment(t.Context(), r, "forged"); err != nil {
				t.Fatal(err)
			}
		}},
		{"a record ordered after it was pinned", func(t *testing.T, s blob.Store, _ audit.Entry) {
			r := pinnedRecord(t, 9, t0.Add(time.Hour))
			r.OrderTime = r.PinnedAt.Add(4 * time.Minute)
			if _, err := audit.New(s, "audit").StartSegment(t.Context(), r, "forged"); err != nil {
				t.Fatal(err)
			}
		}},
		{"a forged record whose condition is true", func(t *testing.T, s blob.Store, _ audit.Entry) {
			r := pinnedRecord(t, 9, t0)
			r.Condition = "true"
			if _, err := audit.New(s, "audit").StartSegment(t.Context(), r, "forged"); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prov := &memProvider{}
			f := newFixture(t, prov)
			p, log := f.p, f.log
			ctx := t.Context()
			if _, err := p.Pin(ctx, insert(1, t0), "ev1"); err != nil {
				t.Fatal(err)
			}
			head, _, _ := log.Latest(ctx)
			tt.corrupt(t, f.store, head)
			prov.cond = "true"

			res, err := p.Pin(ctx, insert(2, t0.Add(time.Minute)), "ev2")
			if err != nil {
				t.Fatalf("pin after corruption: %v", err)
			}
			if res.Outcome != Pinned || res.Break == "" || prov.cond != render(t, 2) {
				t.Fatalf("pin after corruption: %+v, provider %q; want pinned in a new segment", res, prov.cond)
			}
			head, ok, err := log.Latest(ctx)
			if err != nil || !ok || head.Record.Break == nil || head.Record.Break.Reason == "" {
				t.Fatalf("head after corruption: %+v, %v", head.Record, err)
			}
			if n, err := log.Walk(ctx, func(e audit.Entry) error { return audit.CheckRecord(e.Record) }); n != 1 || err != nil {
				t.Errorf("new segment: %d records, %v", n, err)
			}
			if res, err := p.Pin(ctx, insert(3, t0.Add(2*time.Minute)), "ev3"); err != nil || res.Outcome != Pinned || res.Break != "" {
				t.Errorf("next pin: %+v, %v; want pinned on the new segment", res, err)
			}
		})
	}
}

func writeObj(t *testing.T, s blob.Store, name, data string) {
	t.Helper()
	if _, err := s.Write(t.Context(), "audit", name, blob.Object{Data: []byte(data)}, blob.Cond{}); err != nil {
		t.Fatal(err)
	}
}
