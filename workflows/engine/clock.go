package engine

import (
	"context"
	"sync"
	"time"
)

// Clock is the engine's source of time: sys.now, sys.sleep, retry backoff and polling.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done (then it returns ctx's error).
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is wall-clock time.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// Sleep waits for d.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// FakeClock is a virtual clock whose Sleep returns at once after moving time forward by d, so an
// hour of polling takes milliseconds. Concurrent sleepers each advance it; time only moves on.
type FakeClock struct {
	mu  sync.Mutex
	now time.Time
	// OnSleep, if set, is called (without the lock) before each sleep returns; tests use it to
	// observe or block progress.
	OnSleep func(ctx context.Context, d time.Duration) error
}

// NewFakeClock returns a fake clock at start.
func NewFakeClock(start time.Time) *FakeClock { return &FakeClock{now: start} }

// Now returns the virtual time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep advances virtual time by d.
func (c *FakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.OnSleep != nil {
		if err := c.OnSleep(ctx, d); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}
