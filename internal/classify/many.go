package classify

import (
	"context"
	"io"
	"sync"

	"github.com/cspipe/cspipe/internal/records"
)

// Source opens the i-th image of a stream.
type Source func(ctx context.Context, i int) (io.ReadCloser, error)

// ClassifyMany classifies images 0..n-1 on Options.Threads workers and calls emit for each, in
// index order, from the calling goroutine. At most Threads images are in memory at once (plus
// finished predictions waiting for an earlier one). An open failure is an ImageError with code
// records.ErrRead. It returns ctx.Err() if the context ends first; images not started then are
// not emitted.
func (c *Classifier) ClassifyMany(ctx context.Context, n int, open Source, emit func(i int, p Prediction, err error)) error {
	type result struct {
		i   int
		p   Prediction
		err error
	}
	jobs := make(chan int)
	results := make(chan result, c.opts.Threads)
	var wg sync.WaitGroup
	for range min(c.opts.Threads, max(n, 1)) {
		wg.Go(func() {
			for i := range jobs {
				p, err := c.classifyOne(ctx, i, open)
				results <- result{i, p, err}
			}
		})
	}
	go func() {
		defer close(jobs)
		for i := range n {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	pending := map[int]result{}
	next := 0
	for r := range results {
		pending[r.i] = r
		for {
			q, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			emit(q.i, q.p, q.err)
			next++
		}
	}
	if next < n {
		return ctx.Err()
	}
	return nil
}

func (c *Classifier) classifyOne(ctx context.Context, i int, open Source) (Prediction, error) {
	rc, err := open(ctx, i)
	if err != nil {
		return Prediction{}, &ImageError{Code: records.ErrRead, Err: err}
	}
	defer rc.Close()
	return c.Classify(ctx, rc)
}
