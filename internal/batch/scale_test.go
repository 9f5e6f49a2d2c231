package batch

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/blob"
)

// countingStore counts the store operations made through it.
type countingStore struct {
	blob.Store
	mu  sync.Mutex
	ops opCount
}

// opCount is a tally of store operations.
type opCount struct {
	Reads, Writes, Attrs, Lists, Listed int
}

func (c *countingStore) add(f func(*opCount)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(&c.ops)
}

func (c *countingStore) take() opCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.ops
	c.ops = opCount{}
	return o
}

func (c *countingStore) NewReader(ctx context.Context, bucket, name string) (io.ReadCloser, blob.Attrs, error) {
	c.add(func(o *opCount) { o.Reads++ })
	return c.Store.NewReader(ctx, bucket, name)
}

func (c *countingStore) Write(ctx context.Context, bucket, name string, obj blob.Object, cond blob.Cond) (blob.Attrs, error) {
	c.add(func(o *opCount) { o.Writes++ })
	return c.Store.Write(ctx, bucket, name, obj, cond)
}

func (c *countingStore) Attrs(ctx context.Context, bucket, name string) (blob.Attrs, error) {
	c.add(func(o *opCount) { o.Attrs++ })
	return c.Store.Attrs(ctx, bucket, name)
}

func (c *countingStore) List(ctx context.Context, bucket, prefix string, fn func(blob.Attrs) error) error {
	c.add(func(o *opCount) { o.Lists++ })
	return c.Store.List(ctx, bucket, prefix, func(a blob.Attrs) error {
		c.add(func(o *opCount) { o.Listed++ })
		return fn(a)
	})
}

// TestScheduleWorkPerUploadDoesNotGrowWithTheBatch is the structural guard against per-event
// work that grows with the batch (a listing of the batch, or of the claims, on every upload):
// the store operations of an upload into an open batch are the same with 100 and with 3,000
// items already in it, and none of them is a listing.
func TestScheduleWorkPerUploadDoesNotGrowWithTheBatch(t *testing.T) {
	mem := blob.NewMemory()
	cs := &countingStore{Store: mem}
	c := &clock{t: t0}
	opt := testOptions()
	opt.Now = c.Now
	s, err := New(cs, &fakeExec{}, StaticImage(testImage), opt)
	if err != nil {
		t.Fatal(err)
	}
	uploaded := 0
	upload := func(n int) {
		for ; uploaded < n; uploaded++ {
			c.Advance(time.Millisecond) // a steady burst: the batch stays open
			if _, err := s.Schedule(t.Context(), img(fmt.Sprintf("photos/p%05d.jpg", uploaded), 1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	measure := func(n int) opCount {
		cs.take()
		upload(uploaded + n)
		return cs.take()
	}
	upload(100)
	small := measure(20)
	upload(3000)
	big := measure(20)
	t.Logf("store operations of 20 uploads into a batch of 100 / 3,000 items: %+v / %+v", small, big)
	if big != small {
		t.Errorf("20 uploads into a batch of 3,000 items: %+v; into one of 100: %+v; want the same work", big, small)
	}
	if big.Lists != 0 || big.Listed != 0 {
		t.Errorf("an upload lists the store: %+v", big)
	}
	if h, _, err := s.readHead(t.Context()); err != nil || h == nil || !h.open() || h.Seq != 1 {
		t.Fatalf("head %+v, %v: want the first batch, still open", h, err)
	}
}
