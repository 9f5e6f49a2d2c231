package pin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/audit"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/errclass"
	"github.com/cspipe/cspipe/internal/events"
	"github.com/cspipe/cspipe/internal/policy"
)

const (
	testRepo     = "us-docker.pkg.dev/primus/workloads/inference"
	testProvider = "projects/123/locations/global/workloadIdentityPools/pool/providers/attestation"
)

var t0 = time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)

func digest(i int) string { return fmt.Sprintf("sha256:%064x", i) }

func settings() Settings {
	return Settings{Provider: testProvider, ImageRepository: testRepo,
		ServiceAccounts: []string{"workload-sa@secundus.iam.gserviceaccount.com"}, SupportAttribute: "STABLE"}
}

func insert(i int, published time.Time) events.GCRNotification {
	return events.GCRNotification{Action: events.ActionInsert, Repository: testRepo, Digest: digest(i), Tag: "v1", PublishTime: published}
}

// memProvider is an in-memory Provider that counts SetCondition calls.
type memProvider struct {
	mu      sync.Mutex
	cond    string
	sets    int
	failSet error
	failGet error
}

func (m *memProvider) Condition(context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cond, m.failGet
}

func (m *memProvider) SetCondition(_ context.Context, c string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failSet != nil {
		return m.failSet
	}
	m.sets++
	m.cond = c
	return nil
}

func render(t *testing.T, i int) string {
	t.Helper()
	d, err := policy.ParseDigest(digest(i))
	if err != nil {
		t.Fatal(err)
	}
	c, err := settings().Policy(d).Render()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// memRegistry holds the digests pushed to testRepo; Resolve fails with down when set.
type memRegistry struct {
	mu      sync.Mutex
	digests map[string]bool // nil: every digest of testRepo is there
	down    error
	calls   int
}

func (m *memRegistry) Resolve(_ context.Context, repo string, d policy.Digest) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.down != nil {
		return m.down
	}
	if repo != testRepo || (m.digests != nil && !m.digests[d.String()]) {
		return fmt.Errorf("HEAD %s@%s: 404: %w", repo, d, ErrNotInRegistry)
	}
	return nil
}

// clock is the function's clock in tests: an hour after t0 unless moved.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func newPinner(t *testing.T, prov Provider) (*Pinner, *audit.Log) {
	t.Helper()
	f := newFixture(t, prov)
	return f.p, f.log
}

// fixture is a Pinner with its collaborators, for tests that reach behind it.
type fixture struct {
	p     *Pinner
	log   *audit.Log
	store blob.Store
	reg   *memRegistry
	clk   *clock
}

func newFixture(t *testing.T, prov Provider) fixture {
	t.Helper()
	f := fixture{store: blob.NewMemory(), reg: &memRegistry{}, clk: &clock{t: t0.Add(time.Hour)}}
	f.log = audit.New(f.store, "audit")
	var err error
	f.p, err = New(settings(), Deps{Provider: prov, Registry: f.reg, Audit: f.log, Now: f.clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// pinnedRecord is the audit record a pin of digest i ordered at order writes.
func pinnedRecord(t *testing.T, i int, order time.Time) audit.Record {
	d, _ := policy.ParseDigest(digest(i))
	pol := settings().Policy(d)
	return audit.Record{Digest: digest(i), ImageReference: testRepo + "@" + digest(i), Condition: render(t, i),
		PinnedAt: order, PublishTime: order, OrderTime: order, Policy: &pol}
}

func TestPinSequence(t *testing.T) {
	prov := &memProvider{cond: "assertion.swname == 'CONFIDENTIAL_SPACE'"}
	p, log := newPinner(t, prov)
	ctx := t.Context()
	steps := []struct {
		name        string
		n           events.GCRNotification
		wantOutcome Outcome
		wantCond    int // digest index the provider must pin afterwards
		wantSets    int
		wantRecords int
	}{
		{"first pin", insert(1, t0), Pinned, 1, 1, 1},
		{"duplicate delivery", insert(1, t0), AlreadyPinned, 1, 1, 1},
		{"same digest pushed again later", insert(1, t0.Add(time.Minute)), AlreadyPinned, 1, 1, 1},
		{"newer digest", insert(2, t0.Add(2*time.Minute)), Pinned, 2, 2, 2},
		{"older event for another digest arrives late", insert(3, t0.Add(90*time.Second)), Outdated, 2, 2, 2},
		{"older event for the earlier digest redelivered", insert(1, t0), Outdated, 2, 2, 2},
	}
	for _, s := range steps {
		res, err := p.Pin(ctx, s.n, "ev")
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if res.Outcome != s.wantOutcome {
			t.Errorf("%s: outcome %q (%s), want %q", s.name, res.Outcome, res.Reason, s.wantOutcome)
		}
		if prov.cond != render(t, s.wantCond) {
			t.Errorf("%s: provider condition does not pin digest %d", s.name, s.wantCond)
		}
		if prov.sets != s.wantSets {
			t.Errorf("%s: %d PATCHes so far, want %d", s.name, prov.sets, s.wantSets)
		}
		if n, err := log.Verify(ctx); err != nil || n != s.wantRecords {
			t.Errorf("%s: audit log has %d records (%v), want %d", s.name, n, err, s.wantRecords)
		}
	}
	head, _, _ := log.Latest(ctx)
	if head.Record.ImageReference != testRepo+"@"+digest(2) || head.Record.Provider != testProvider || !head.Record.PublishTime.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("latest record = %+v", head.Record)
	}
}

func TestPinRendersAnAdmittingCondition(t *testing.T) {
	prov := &memProvider{}
	p, _ := newPinner(t, prov)
	if _, err := p.Pin(t.Context(), insert(7, t0), "ev"); err != nil {
		t.Fatal(err)
	}
	claims := func(d string) map[string]any {
		return map[string]any{"swname": "CONFIDENTIAL_SPACE", "dbgstat": "disabled-since-boot",
			"google_service_accounts": []any{"workload-sa@secundus.iam.gserviceaccount.com"},
			"submods": map[string]any{"confidential_space": map[string]any{"support_attributes": []any{"STABLE"}},
				"container": map[string]any{"image_digest": d, "image_reference": testRepo + "@" + d}}}
	}
	for i, want := range map[int]bool{7: true, 8: false} {
		v, err := policy.Explain(prov.cond, claims(digest(i)))
		if err != nil {
			t.Fatal(err)
		}
		if v.Allow != want {
			t.Errorf("digest %d: allow = %v, want %v", i, v.Allow, want)
		}
	}
}

func TestPinIgnores(t *testing.T) {
	prov := &memProvider{}
	p, log := newPinner(t, prov)
	for name, n := range map[string]events.GCRNotification{
		"delete":        {Action: events.ActionDelete, Repository: testRepo, Digest: digest(1)},
		"other image":   {Action: events.ActionInsert, Repository: testRepo + "-debug", Digest: digest(1)},
		"other project": {Action: events.ActionInsert, Repository: "us-docker.pkg.dev/evil/workloads/inference", Digest: digest(1)},
		"tag only":      {Action: events.ActionInsert, Repository: testRepo, Tag: "latest"},
	} {
		res, err := p.Pin(t.Context(), n, "ev")
		if err != nil || res.Outcome != Ignored {
			t.Errorf("%s: Pin() = %+v, %v; want ignored", name, res, err)
		}
	}
	if prov.sets != 0 {
		t.Errorf("%d PATCHes for ignored events", prov.sets)
	}
	if _, ok, _ := log.Latest(t.Context()); ok {
		t.Error("ignored events wrote an audit record")
	}
}

func TestPinRefusesTagAsDigest(t *testing.T) {
	p, _ := newPinner(t, &memProvider{})
	n := insert(1, t0)
	n.Digest = "latest"
	if _, err := p.Pin(t.Context(), n, "ev"); err == nil || !errclass.IsPermanent(err) {
		t.Errorf("Pin(tag as digest) = %v, want a permanent error", err)
	}
}

func TestPinRepairsDrift(t *testing.T) {
	prov := &memProvider{}
	p, _ := newPinner(t, prov)
	ctx := t.Context()
	if _, err := p.Pin(ctx, insert(1, t0), "ev"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Pin(ctx, insert(2, t0.Add(time.Minute)), "ev"); err != nil {
		t.Fatal(err)
	}
	prov.cond = "true" // someone widened the gate by hand
	res, err := p.Pin(ctx, insert(1, t0), "ev")
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != Outdated || !res.Repaired || prov.cond != render(t, 2) {
		t.Errorf("Pin() = %+v, provider pins %q; want outdated, repaired to digest 2", res, prov.cond)
	}
}

func TestPinFailures(t *testing.T) {
	errDown := errors.New("iam unavailable")
	t.Run("provider down: retryable, nothing recorded", func(t *testing.T) {
		prov := &memProvider{failSet: errDown}
		p, log := newPinner(t, prov)
		_, err := p.Pin(t.Context(), insert(1, t0), "ev")
		if !errors.Is(err, errDown) || errclass.IsPermanent(err) {
			t.Errorf("Pin() = %v, want retryable wrapping %v", err, errDown)
		}
		if _, ok, _ := log.Latest(t.Context()); ok {
			t.Error("a failed PATCH was recorded")
		}
	})
	t.Run("patched but not recorded: redelivery records without a second PATCH", func(t *testing.T) {
		prov := &memProvider{}
		p, log := newPinner(t, prov)
		if err := prov.SetCondition(t.Context(), render(t, 1)); err != nil { // as if the previous attempt died after the PATCH
			t.Fatal(err)
		}
		res, err := p.Pin(t.Context(), insert(1, t0), "ev")
		if err != nil || res.Outcome != Pinned || prov.sets != 1 {
			t.Errorf("Pin() = %+v, %v with %d PATCHes; want pinned with no new PATCH", res, err, prov.sets)
		}
		if n, _ := log.Verify(t.Context()); n != 1 {
			t.Errorf("audit has %d records, want 1", n)
		}
	})
	t.Run("condition unreadable: retryable", func(t *testing.T) {
		p, _ := newPinner(t, &memProvider{failGet: errDown})
		if _, err := p.Pin(t.Context(), insert(1, t0), "ev"); !errors.Is(err, errDown) {
			t.Errorf("Pin() = %v", err)
		}
	})
}

func TestNewRefusesBadSettings(t *testing.T) {
	for name, mod := range map[string]func(*Settings){
		"no service account": func(s *Settings) { s.ServiceAccounts = nil },
		"quote in repo":      func(s *Settings) { s.ImageRepository = testRepo + "'" },
		"no provider":        func(s *Settings) { s.Provider = "" },
	} {
		s := settings()
		mod(&s)
		if _, err := New(s, Deps{Provider: &memProvider{}, Registry: &memRegistry{}, Audit: audit.New(blob.NewMemory(), "a")}); err == nil {
			t.Errorf("%s: New() succeeded", name)
		} else if !strings.Contains(err.Error(), "pin settings") {
			t.Errorf("%s: error %q", name, err)
		}
	}
}

// racingProvider records a newer pin in the audit log while SetCondition runs, as a concurrent
// function instance handling a newer event would.
type racingProvider struct {
	memProvider
	t     *testing.T
	log   *audit.Log
	raced bool
}

func (r *racingProvider) SetCondition(ctx context.Context, c string) error {
	if !r.raced {
		r.raced = true
		newer := render(r.t, 2)
		if _, err := r.log.Append(ctx, pinnedRecord(r.t, 2, t0.Add(time.Minute)), nil); err != nil {
			return err
		}
		if err := r.memProvider.SetCondition(ctx, newer); err != nil {
			return err
		}
	}
	return r.memProvider.SetCondition(ctx, c)
}

func TestPinLosesRaceToNewerPin(t *testing.T) {
	log := audit.New(blob.NewMemory(), "audit")
	prov := &racingProvider{t: t, log: log}
	p, err := New(settings(), Deps{Provider: prov, Registry: &memRegistry{}, Audit: log})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Pin(t.Context(), insert(1, t0), "ev")
	if !errors.Is(err, errRaced) || errclass.IsPermanent(err) {
		t.Fatalf("Pin() = %v, want the retryable race error", err)
	}
	// The older condition overwrote the newer one at the provider; the redelivery repairs it.
	res, err := p.Pin(t.Context(), insert(1, t0), "ev")
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != Outdated || !res.Repaired || prov.cond != render(t, 2) {
		t.Errorf("redelivery: %+v, provider pins digest 2: %v; want outdated and repaired", res, prov.cond == render(t, 2))
	}
	if n, err := log.Verify(t.Context()); err != nil || n != 1 {
		t.Errorf("audit log: %d records, %v; want only the newer pin", n, err)
	}
}
