package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/policy"
)

const bucket = "primus-audit"

func rec(i int) Record {
	d := fmt.Sprintf("sha256:%064x", i)
	return Record{Digest: d, ImageReference: "r.example/p/r/img@" + d, Condition: "cond " + d,
		PinnedAt: time.Date(2026, 11, 28, 21, 0, i, 0, time.UTC), EventID: fmt.Sprint(i)}
}

func TestAppendChainsRecords(t *testing.T) {
	l := New(blob.NewMemory(), bucket)
	ctx := t.Context()
	if _, ok, err := l.Latest(ctx); ok || err != nil {
		t.Fatalf("Latest() on an empty log = %v, %v", ok, err)
	}
	if n, err := l.Verify(ctx); n != 0 || err != nil {
		t.Fatalf("Verify() on an empty log = %d, %v", n, err)
	}
	var prev string
	for i := 1; i <= 3; i++ {
		e, err := l.Append(ctx, rec(i), nil)
		if err != nil {
			t.Fatal(err)
		}
		want := rec(i)
		want.Previous, want.Sequence = prev, int64(i)
		if diff := cmp.Diff(want, e.Record); diff != "" {
			t.Errorf("record %d mismatch (-want +got):\n%s", i, diff)
		}
		prev = e.Hash
	}
	latest, ok, err := l.Latest(ctx)
	if err != nil || !ok || latest.Hash != prev || latest.Record.Digest != rec(3).Digest {
		t.Errorf("Latest() = %+v, %v, %v; want record 3 (%s)", latest, ok, err, prev)
	}
	if n, err := l.Verify(ctx); n != 3 || err != nil {
		t.Errorf("Verify() = %d, %v; want 3, nil", n, err)
	}
}

func TestAppendConcurrent(t *testing.T) {
	l := New(blob.NewMemory(), bucket)
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if _, err := l.Append(context.Background(), rec(i+1), nil); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if !strings.Contains(err.Error(), "giving up") {
			t.Errorf("Append() = %v", err)
		}
		failed++
	}
	got, err := l.Verify(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got != n-failed {
		t.Errorf("Verify() counted %d records, %d appends succeeded", got, n-failed)
	}
	if got < n/2 {
		t.Errorf("only %d of %d concurrent appends succeeded", got, n)
	}
}

func TestAppendCheckRefuses(t *testing.T) {
	s := blob.NewMemory()
	l := New(s, bucket)
	if _, err := l.Append(t.Context(), rec(1), func(h *Entry) error {
		if h != nil {
			t.Errorf("check got head %+v on an empty log", h)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	errNewer := errors.New("a newer pin exists")
	_, err := l.Append(t.Context(), rec(2), func(h *Entry) error {
		if h == nil || h.Record.Digest != rec(1).Digest {
			t.Errorf("check got head %+v, want record 1", h)
		}
		return errNewer
	})
	if !errors.Is(err, errNewer) {
		t.Fatalf("Append() = %v, want the check's error", err)
	}
	if n, _ := l.Verify(t.Context()); n != 1 {
		t.Errorf("log has %d records after a refused append, want 1", n)
	}
}

// headRaceStore fails every write of the head with a precondition error.
type headRaceStore struct{ blob.Store }

func (s headRaceStore) Write(ctx context.Context, b, n string, o blob.Object, c blob.Cond) (blob.Attrs, error) {
	if n == LatestObject {
		return blob.Attrs{}, blob.ErrPrecondition
	}
	return s.Store.Write(ctx, b, n, o, c)
}

func TestAppendGivesUp(t *testing.T) {
	l := New(headRaceStore{blob.NewMemory()}, bucket)
	_, err := l.Append(t.Context(), rec(1), nil)
	if err == nil || !strings.Contains(err.Error(), "giving up") {
		t.Errorf("Append() = %v, want it to give up", err)
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, s *blob.Memory, hashes []string)
	}{
		{"record rewritten", func(t *testing.T, s *blob.Memory, h []string) {
			write(t, s, recordName(h[1]), `{"previous":"`+h[0]+`","sequence":2,"digest":"sha256:evil"}`)
		}},
		{"head names a missing record", func(t *testing.T, s *blob.Memory, h []string) {
			write(t, s, LatestObject, `{"record":"`+strings.Repeat("0", 64)+`","sequence":3}`)
		}},
		{"head disagrees with its record", func(t *testing.T, s *blob.Memory, h []string) {
			write(t, s, LatestObject, `{"record":"`+h[2]+`","sequence":3,"digest":"sha256:other"}`)
		}},
		{"head skips a record", func(t *testing.T, s *blob.Memory, h []string) {
			r, _ := New(s, bucket).Get(t.Context(), h[1])
			write(t, s, LatestObject, fmt.Sprintf(`{"record":%q,"sequence":3,"digest":%q,"condition":%q}`, h[1], r.Digest, r.Condition))
		}},
		{"head not json", func(t *testing.T, s *blob.Memory, h []string) { write(t, s, LatestObject, `{`) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := blob.NewMemory()
			l := New(s, bucket)
			var hashes []string
			for i := 1; i <= 3; i++ {
				e, err := l.Append(t.Context(), rec(i), nil)
				if err != nil {
					t.Fatal(err)
				}
				hashes = append(hashes, e.Hash)
			}
			tc.tamper(t, s, hashes)
			if _, err := l.Verify(t.Context()); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Verify() = %v, want ErrCorrupt", err)
			}
		})
	}
}

func write(t *testing.T, s blob.Store, name, data string) {
	t.Helper()
	if _, err := s.Write(t.Context(), bucket, name, blob.Object{Data: []byte(data)}, blob.Cond{}); err != nil {
		t.Fatal(err)
	}
}

// pinned is a record as PinWorkloadImage writes it: typed policy values and their condition.
func pinned(t *testing.T, i int) Record {
	t.Helper()
	d := fmt.Sprintf("sha256:%064x", i)
	p := &policy.Policy{ImageRepository: "r.example/p/r/img", ImageDigest: d,
		ServiceAccounts: []string{"workload-sa@s.iam.gserviceaccount.com"}}
	c, err := p.Render()
	if err != nil {
		t.Fatal(err)
	}
	r := rec(i)
	r.Condition, r.Policy = c, p
	return r
}

// The attack of issue 11: pins/latest.json overwritten with a condition of `true`. The head no
// longer agrees with its record, so Head (not only Verify) calls the log corrupt.
func TestHeadOverwrittenWithTrueIsCorrupt(t *testing.T) {
	s := blob.NewMemory()
	l := New(s, bucket)
	e, err := l.Append(t.Context(), pinned(t, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := e.Record
	write(t, s, LatestObject, fmt.Sprintf(`{"record":%q,"sequence":1,"digest":%q,"image_reference":%q,"condition":"true"}`,
		e.Hash, r.Digest, r.ImageReference))
	if _, ok, err := l.Latest(t.Context()); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Latest() = %v, %v; want ErrCorrupt", ok, err)
	}
	write(t, s, LatestObject, `{"condition":"true"}`)
	if _, ok, err := l.Latest(t.Context()); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Latest() on a head without a record = %v, %v; want ErrCorrupt", ok, err)
	}
}

// A corrupt log does not block the next pin: StartSegment begins a new segment that records
// what it replaced, and the log verifies again from there.
func TestStartSegmentAfterCorruption(t *testing.T) {
	s := blob.NewMemory()
	l := New(s, bucket)
	for i := 1; i <= 2; i++ {
		if _, err := l.Append(t.Context(), pinned(t, i), nil); err != nil {
			t.Fatal(err)
		}
	}
	write(t, s, LatestObject, `{"condition":"true"}`)
	_, err := l.Verify(t.Context())
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Verify() = %v, want ErrCorrupt", err)
	}
	e, err := l.StartSegment(t.Context(), pinned(t, 3), err.Error())
	if err != nil {
		t.Fatal(err)
	}
	b := e.Record.Break
	if b == nil || b.HeadSHA256 != hashOf([]byte(`{"condition":"true"}`)) || b.HeadGeneration == 0 || !strings.Contains(b.Reason, "corrupt") {
		t.Errorf("break = %+v, want the replaced head's hash, generation and the reason", b)
	}
	if e.Record.Sequence != 1 || e.Record.Previous != "" {
		t.Errorf("segment start has sequence %d, previous %q", e.Record.Sequence, e.Record.Previous)
	}
	if n, err := l.Walk(t.Context(), func(e Entry) error { return CheckRecord(e.Record) }); n != 1 || err != nil {
		t.Errorf("Walk() = %d, %v; want the new segment's one record", n, err)
	}
	if _, err := l.Append(t.Context(), pinned(t, 4), nil); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Verify(t.Context()); n != 2 || err != nil {
		t.Errorf("Verify() = %d, %v; want 2", n, err)
	}
	// A second segment start racing the first loses on the generation precondition.
	race := New(headRaceStore{s}, bucket)
	if _, err := race.StartSegment(t.Context(), pinned(t, 5), "x"); !errors.Is(err, blob.ErrPrecondition) {
		t.Errorf("StartSegment over a moved head = %v, want ErrPrecondition", err)
	}
}

func TestCheckRecord(t *testing.T) {
	good := pinned(t, 1)
	tests := []struct {
		name   string
		mutate func(*Record)
		ok     bool
	}{
		{"as pinned", func(*Record) {}, true},
		{"condition true", func(r *Record) { r.Condition = "true" }, false},
		{"no policy values", func(r *Record) { r.Policy = nil }, false},
		{"policy of another digest", func(r *Record) { p := *r.Policy; p.ImageDigest = fmt.Sprintf("sha256:%064x", 9); r.Policy = &p }, false},
		{"reference of another repository", func(r *Record) { r.ImageReference = "evil.example/x@" + r.Digest }, false},
		{"debug admitted behind the values' back", func(r *Record) {
			p := *r.Policy
			p.AllowDebugImageUnsafe = true
			r.Policy = &p
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			tt.mutate(&r)
			if err := CheckRecord(r); (err == nil) != tt.ok {
				t.Errorf("CheckRecord() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestRefuseStoresOutsideTheChain(t *testing.T) {
	s := blob.NewMemory()
	l := New(s, bucket)
	r := Refusal{Digest: "sha256:" + strings.Repeat("a", 64), Reason: "not in the repository", RefusedAt: time.Unix(1, 0).UTC()}
	h, err := l.Refuse(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	if h2, err := l.Refuse(t.Context(), r); err != nil || h2 != h {
		t.Errorf("second Refuse() = %s, %v; want the same record", h2, err)
	}
	b, _, err := blob.ReadAll(t.Context(), s, bucket, RefusedPrefix+h+".json", 0)
	if err != nil || !strings.Contains(string(b), "not in the repository") {
		t.Errorf("refusal object = %s, %v", b, err)
	}
	if _, ok, err := l.Latest(t.Context()); ok || err != nil {
		t.Errorf("a refusal moved the head: %v, %v", ok, err)
	}
}
