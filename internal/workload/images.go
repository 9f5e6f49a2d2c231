package workload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/records"
)

// job is one image of this shard, in listing order.
type job struct {
	seq  int    // position in this shard's output
	item string // batch mode: the item object naming the image
	img  blob.Attrs
}

// inFlightBudget is InFlightBytes; tests lower it.
var inFlightBudget int64 = InFlightBytes

// result is a finished record and its place in the output.
type result struct {
	seq int
	rec records.Record
}

// batchItem is one object under CSPIPE_BATCH_PREFIX.
type batchItem struct {
	Bucket     string `json:"bucket"`
	Name       string `json:"name"`
	Generation int64  `json:"generation"`
}

// tally counts what the pipeline wrote.
type tally struct {
	images, ok, failed int
	errors             []records.ImageError
	decodeMS, inferMS  float64
	totalMS            float64
}

// classifyAll lists the shard's images, classifies them with a pool of workers and writes one
// record per image to out in listing order. Memory is bounded: the listing is streamed, at most
// window records wait for their turn, and each worker holds one image buffer.
func classifyAll(ctx context.Context, cfg *Config, d *Deps, clf Classifier, out io.Writer) (*tally, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := cfg.WorkerCount()
	window := 4 * workers
	slots := make(chan struct{}, window)
	jobs := make(chan job)
	done := make(chan result, window)

	var listErr error
	go func() {
		defer close(jobs)
		listErr = listShard(ctx, cfg, d.Store, func(j job) error {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case jobs <- j:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()

	// Two stages so that I/O overlaps inference: fetchers (2× workers) read images into
	// buffers, workers (one per core) classify them. At most fetchers+workers buffers are held.
	bufs := sync.Pool{New: func() any { return new(bytes.Buffer) }}
	release := func(buf *bytes.Buffer) {
		if buf != nil && buf.Cap() <= 4<<20 { // keep small buffers; let huge ones go
			buf.Reset()
			bufs.Put(buf)
		}
	}
	ready := make(chan fetched)
	budget := semaphore.NewWeighted(inFlightBudget)
	var fetchers sync.WaitGroup
	for range 2 * workers {
		fetchers.Go(func() {
			for j := range jobs {
				ready <- fetchOne(ctx, cfg, d, j, bufs.Get().(*bytes.Buffer), budget)
			}
		})
	}
	go func() { fetchers.Wait(); close(ready) }()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for f := range ready {
				rec := f.rec
				if f.ok {
					rec = classifyFetched(ctx, d, clf, f)
				}
				release(f.buf)
				budget.Release(f.held)
				done <- result{f.seq, rec}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()

	t := &tally{}
	pending := map[int]records.Record{}
	next := 0
	enc := json.NewEncoder(out)
	var writeErr error
	for res := range done {
		pending[res.seq] = res.rec
		for {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			t.add(r)
			if writeErr == nil {
				if writeErr = enc.Encode(r); writeErr != nil {
					cancel()
				}
			}
			<-slots
		}
	}
	if writeErr != nil {
		return t, fmt.Errorf("writing results: %w", writeErr)
	}
	if listErr != nil && !errors.Is(listErr, context.Canceled) {
		return t, fmt.Errorf("listing images: %w", listErr)
	}
	return t, ctx.Err()
}

func (t *tally) add(r records.Record) {
	t.images++
	if r.Status == records.StatusOK {
		t.ok++
	} else {
		t.failed++
		if len(t.errors) < records.MaxSummaryErrors {
			t.errors = append(t.errors, records.ImageError{Image: r.Image, Code: r.ErrorCode, Error: r.Error})
		}
	}
	if r.Timings != nil {
		t.decodeMS += r.Timings.DecodeMS
		t.inferMS += r.Timings.InferMS
		t.totalMS += r.Timings.TotalMS
	}
}

// listShard streams this shard's jobs to fn: items whose index in lexical order ≡ shard mod count.
func listShard(ctx context.Context, cfg *Config, store blob.Store, fn func(job) error) error {
	idx, seq := 0, 0
	prefix := cfg.InputPrefix
	if cfg.BatchPrefix != "" {
		prefix = cfg.BatchPrefix
	}
	bucket := cfg.InputBucket
	if cfg.BatchPrefix != "" {
		bucket = cfg.itemsBucket()
	}
	return store.List(ctx, bucket, prefix, func(a blob.Attrs) error {
		if strings.HasSuffix(a.Name, "/") {
			return nil
		}
		if cfg.BatchPrefix == "" && (strings.HasPrefix(a.Name, "_cspipe/") || strings.HasPrefix(a.Name, records.RunsPrefix)) {
			return nil
		}
		i := idx
		idx++
		if i%cfg.ShardCount != cfg.ShardIndex {
			return nil
		}
		j := job{seq: seq}
		seq++
		if cfg.BatchPrefix != "" {
			j.item = a.Name
		} else {
			j.img = a
		}
		return fn(j)
	})
}

// fetched is an image read into memory (ok), or the error record that ended its job early.
type fetched struct {
	seq    int
	rec    records.Record
	buf    *bytes.Buffer
	ok     bool
	start  time.Time
	readMS float64 // time to resolve and read the object
	held   int64   // bytes of the in-flight budget this image holds
}

// fetchOne resolves a job to its object and reads it into buf. It never fails: a problem is
// the returned record's error.
func fetchOne(ctx context.Context, cfg *Config, d *Deps, j job, buf *bytes.Buffer, budget *semaphore.Weighted) fetched {
	f := fetched{seq: j.seq, buf: buf, start: time.Now()}
	f.rec = records.Record{RunID: cfg.RunID, Shard: cfg.ShardIndex, Image: j.img.Name, Generation: j.img.Generation}
	fail := func(code string, err error) fetched {
		f.rec = failRecord(d, cfg.RunID, f.rec, f.start, code, err)
		return f
	}
	bucket := cfg.InputBucket
	if j.item != "" {
		f.rec.Image = j.item
		it, err := readItem(ctx, d.Store, cfg.itemsBucket(), j.item)
		if err != nil {
			return fail(records.ErrRead, err)
		}
		bucket, f.rec.Image, f.rec.Generation = it.Bucket, it.Name, it.Generation
		if bucket != cfg.InputBucket {
			f.rec.Image = "gs://" + bucket + "/" + it.Name
		}
	}
	name := strings.TrimPrefix(f.rec.Image, "gs://"+bucket+"/")
	if j.img.Size > MaxImageBytes {
		return fail(records.ErrTooLarge, fmt.Errorf("object is %d bytes, the limit is %d", j.img.Size, MaxImageBytes))
	}
	r, attrs, err := d.Store.NewReader(ctx, bucket, name)
	if err != nil {
		return fail(records.ErrRead, err)
	}
	defer r.Close()
	if f.rec.Generation != 0 && attrs.Generation != 0 && attrs.Generation != f.rec.Generation {
		return fail(records.ErrRead, fmt.Errorf("object is now generation %d, not the scheduled %d (replaced since)", attrs.Generation, f.rec.Generation))
	}
	f.rec.Generation = attrs.Generation
	if attrs.Size > MaxImageBytes {
		return fail(records.ErrTooLarge, fmt.Errorf("object is %d bytes, the limit is %d", attrs.Size, MaxImageBytes))
	}
	// Reserve the image's bytes (all of MaxImageBytes when the size is unknown) before reading;
	// the worker releases them after classification.
	want := attrs.Size
	if want <= 0 {
		want = MaxImageBytes
	}
	if err := budget.Acquire(ctx, want); err != nil {
		return fail(records.ErrRead, err)
	}
	f.held = want
	n, err := buf.ReadFrom(io.LimitReader(r, MaxImageBytes+1))
	if err != nil {
		return fail(records.ErrRead, fmt.Errorf("reading object: %w", err))
	}
	if n > MaxImageBytes {
		return fail(records.ErrTooLarge, fmt.Errorf("object is larger than %d bytes", MaxImageBytes))
	}
	if n == 0 {
		return fail(records.ErrEmpty, errors.New("object is empty"))
	}
	f.ok, f.readMS = true, ms(time.Since(f.start))
	return f
}

// classifyFetched runs the engine on a fetched image. Timings: total is the read plus the
// classification, without the time the image waited for a free worker.
func classifyFetched(ctx context.Context, d *Deps, clf Classifier, f fetched) records.Record {
	readMS := f.readMS
	begin := time.Now()
	rec := f.rec
	p, err := clf.Classify(ctx, f.buf.Bytes())
	if err != nil {
		var ie *ImageError
		if errors.As(err, &ie) {
			return failRecord(d, rec.RunID, rec, begin, ie.Code, ie.Err)
		}
		return failRecord(d, rec.RunID, rec, begin, records.ErrInference, err)
	}
	pc := p.PredictedClass
	rec.Status, rec.PredictedClass, rec.Label, rec.TopK = records.StatusOK, &pc, p.Label, p.TopK
	rec.Timings = &records.Timings{ReadMS: readMS, DecodeMS: p.DecodeMS, InferMS: p.InferMS, TotalMS: ms(time.Since(begin)) + readMS}
	return rec
}

func failRecord(d *Deps, runID string, rec records.Record, start time.Time, code string, err error) records.Record {
	rec.Status, rec.ErrorCode, rec.Error = records.StatusError, code, err.Error()
	rec.Timings = &records.Timings{TotalMS: ms(time.Since(start))}
	d.Log.Warn("image failed", "run_id", runID, "object", rec.Image, "code", code, "error", err.Error())
	return rec
}

func readItem(ctx context.Context, s blob.Store, bucket, name string) (*batchItem, error) {
	b, _, err := blob.ReadAll(ctx, s, bucket, name, MaxBatchItemBytes)
	if err != nil {
		return nil, fmt.Errorf("reading batch item: %w", err)
	}
	var it batchItem
	if err := json.Unmarshal(b, &it); err != nil {
		return nil, fmt.Errorf("batch item %s does not parse: %v", name, err)
	}
	if !bucketRe.MatchString(it.Bucket) || it.Name == "" {
		return nil, fmt.Errorf("batch item %s names no valid bucket and object", name)
	}
	return &it, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
