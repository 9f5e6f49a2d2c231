package workflows

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/batch"
	"github.com/cspipe/cspipe/internal/records"
	"github.com/cspipe/cspipe/workflows/engine"
)

// lockstepClock is virtual time shared by concurrent sleepers the way real time is: a sleeper
// waits until every one of `want` parallel shards is asleep (or, when fewer are left, until no
// new sleep arrived for a moment), then time jumps to the earliest wake-up and those sleepers
// run. engine.FakeClock instead lets every sleeper advance time by itself, so twenty shards
// polling for an hour each see a twentieth of the polls they would make on Google.
type lockstepClock struct {
	mu      sync.Mutex
	now     time.Time
	want    int
	waiters []*sleeper
	gen     int
}

type sleeper struct {
	at   time.Time
	wake chan struct{}
}

func newLockstepClock(start time.Time, want int) *lockstepClock {
	return &lockstepClock{now: start, want: want}
}

func (c *lockstepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *lockstepClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	s := &sleeper{at: c.now.Add(d), wake: make(chan struct{})}
	c.waiters = append(c.waiters, s)
	c.gen++
	if len(c.waiters) >= c.want {
		c.advance()
	} else {
		g := c.gen
		time.AfterFunc(5*time.Millisecond, func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.gen == g && len(c.waiters) > 0 {
				c.advance()
			}
		})
	}
	c.mu.Unlock()
	select {
	case <-s.wake:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		c.waiters = slices.DeleteFunc(c.waiters, func(w *sleeper) bool { return w == s })
		c.mu.Unlock()
		return ctx.Err()
	}
}

// advance moves time to the earliest wake-up and wakes everyone due by then. Called with mu held.
func (c *lockstepClock) advance() {
	next := c.waiters[0].at
	for _, w := range c.waiters[1:] {
		if w.at.Before(next) {
			next = w.at
		}
	}
	if next.After(c.now) {
		c.now = next
	}
	c.waiters = slices.DeleteFunc(c.waiters, func(w *sleeper) bool {
		if w.at.After(c.now) {
			return false
		}
		close(w.wake)
		return true
	})
	c.gen++
}

// Cloud Workflows ends an execution after engine.MaxSteps steps, and nothing runs after that:
// no VM is deleted, no summary written. A run at the largest shard count whose VMs never finish,
// with a timeout far above the default, must still poll all of them to its timeout and clean up
// within the limit (it stretches its poll interval to fit). Polling every 10 s, it would need
// several times the limit.
func TestLaunchShardsFitTheStepLimit(t *testing.T) {
	const timeout = 6 * 3600
	w := newWorld(t)
	w.compute.RunningGets = -1 // the workloads never finish
	shards := batch.MaxShardsLimit
	clock := newLockstepClock(time.Unix(clockOrigin, 0), shards)
	wf, err := Launch()
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.WithClock(clock), engine.WithHTTPClient(w.srv.Client()))
	res, err := eng.Run(t.Context(), wf, w.args(shards, map[string]any{"timeout_seconds": timeout}))
	if err != nil {
		t.Fatalf("Run, %d shards for %d s: %v", shards, timeout, err)
	}
	if waited := clock.Now().Sub(time.Unix(clockOrigin, 0)); waited < timeout*time.Second {
		t.Errorf("gave up after %v, before the timeout", waited)
	}
	for i, s := range w.checkCleanup(t, shards) {
		if s.Status != records.StatusFailed || s.Source != "workflow" {
			t.Errorf("shard %d: summary %+v", i, s)
		}
	}
	if m, _ := res.(map[string]any); m["status"] != "failed" {
		t.Errorf("result = %v", res)
	}
}

// A batch polled until max_wait (its quiet period is longer here, so only max_wait seals it) must
// fit the step limit too: with a max_wait of a day, and with a batch that takes many list pages
// to count (each page costs steps; the fake serves pages of 10 so that 300 items take 30).
// Polling every 5 s, either would take several times the limit. The run after the seal still
// has room.
func TestLaunchBatchFitsTheStepLimit(t *testing.T) {
	for _, tc := range []struct {
		name           string
		items, page    int
		maxWaitSeconds int
	}{
		{"a day of waiting", 3, 0, 24 * 3600},
		{"many pages", 300, 10, 3 * 3600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.storage.MaxPage = tc.page
			w.openBatch(t, tc.items)
			res, err := w.run(t.Context(), t, batchArgs(w, map[string]any{
				"quiet_seconds": 25 * 3600, "max_wait_seconds": tc.maxWaitSeconds, "max_shards": batch.MaxShardsLimit}))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if h := w.head(t); h.State != batch.HeadSealed || h.SealReason != "max_wait" {
				t.Errorf("head %+v, want sealed at max_wait", h)
			}
			if res["status"] != "ok" {
				t.Errorf("result = %v", res)
			}
		})
	}
}
