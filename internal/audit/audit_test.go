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
