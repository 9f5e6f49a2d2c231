package classify

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/cspipe/cspipe/internal/records"
)

// Source opens the i-th image of a stream.
type Source func(ctx context.Context, i int) (io.ReadCloser, error)

type prepared struct {
	i   int
	in  []float32
	p   Prediction
	err error
}

// ClassifyMany classifies images 0..n-1 and calls emit for each, in index order, from the
// calling goroutine. Options.Threads workers read and decode; one goroutine runs the model on
// batches of up to Options.Batch decoded images (whatever is ready, so the engine spreads a
// batch over the cores and a single image over the cores inside it). Memory holds at most
// Threads images being decoded plus two batches of tensors, plus finished predictions waiting
// for an earlier one. An open failure is an ImageError with code records.ErrRead. It returns
// ctx.Err() if the context ends first; images not started then are not emitted.
func (c *Classifier) ClassifyMany(ctx context.Context, n int, open Source, emit func(i int, p Prediction, err error)) error {
	jobs := make(chan int)
	ready := make(chan prepared, c.opts.Batch)
	done := make(chan prepared, c.opts.Batch)
	var wg sync.WaitGroup
	for range min(c.opts.Threads, max(n, 1)) {
		wg.Go(func() {
			for i := range jobs {
				in, p, err := c.openAndPrepare(ctx, i, open)
				ready <- prepared{i: i, in: in, p: p, err: err}
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
	go func() { wg.Wait(); close(ready) }()
	go func() {
		defer close(done)
		c.inferBatches(ready, done)
	}()
	pending := map[int]prepared{}
	next := 0
	for r := range done {
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

// inferBatches takes decoded images from ready, runs them through the model in batches of
// what is available (at most Options.Batch) and passes every item on to done.
func (c *Classifier) inferBatches(ready <-chan prepared, done chan<- prepared) {
	per := c.prep.TensorLen()
	in := make([]float32, c.opts.Batch*per)
	out := make([]float32, c.opts.Batch*c.classes)
	var batch []prepared
	for r := range ready {
		batch = append(batch[:0], r)
	fill:
		for len(batch) < c.opts.Batch {
			select {
			case r, ok := <-ready:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		var ok []prepared
		for _, b := range batch {
			if b.err != nil {
				done <- b
				continue
			}
			copy(in[len(ok)*per:], b.in)
			ok = append(ok, b)
		}
		if len(ok) == 0 {
			continue
		}
		start := time.Now()
		err := c.model.Run(in[:len(ok)*per], len(ok), out[:len(ok)*c.classes])
		each := ms(time.Since(start)) / float64(len(ok))
		for k, b := range ok {
			b.in = nil
			if err != nil {
				b.err = &ImageError{Code: records.ErrInference, Err: fmt.Errorf("running model: %w", err)}
			} else {
				b.p.InferMS = each
				c.rank(out[k*c.classes:(k+1)*c.classes], &b.p)
			}
			done <- b
		}
	}
}

func (c *Classifier) openAndPrepare(ctx context.Context, i int, open Source) ([]float32, Prediction, error) {
	start := time.Now()
	rc, err := open(ctx, i)
	if err != nil {
		return nil, Prediction{}, &ImageError{Code: records.ErrRead, Err: err}
	}
	defer rc.Close()
	data, err := c.read(rc)
	if err != nil {
		return nil, Prediction{}, err
	}
	return c.prepare(ctx, data, start)
}
