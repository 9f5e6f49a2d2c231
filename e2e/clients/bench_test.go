package clients

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/storage"

	"github.com/cspipe/cspipe/infra/local/stack"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// benchPhotos is how many photos BenchmarkLocalUpPhotos drops (CSPIPE_BENCH_PHOTOS overrides).
const benchPhotos = 10_000

// BenchmarkLocalUpPhotos drops 10,000 small photos into the provisioned stack with Go's storage
// client and counts the result messages and summaries on a fresh subscription: none may be lost
// or duplicated. It reports wall time (upload of the first photo to the last summary), images/s
// end to end, the peak RSS of this process (the stack runs in it, with the uploader and the
// subscriber) and of the largest workload process. Each iteration is one full drop; run it with
// -benchtime 1x. The model is a small synthetic MobileNet (v1 0.25, 96×96, 10 classes): the
// benchmark measures the pipeline, the engine has its own benchmarks.
func BenchmarkLocalUpPhotos(b *testing.B) {
	if startErr != nil {
		b.Fatalf("starting the shared stack: %v", startErr)
	}
	n := benchPhotos
	if v := os.Getenv("CSPIPE_BENCH_PHOTOS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("CSPIPE_BENCH_PHOTOS=%q: want a positive count", v)
		}
	}
	ctx, cancel := context.WithTimeout(b.Context(), 60*time.Minute)
	defer cancel()
	arc, err := stack.SyntheticModel(modelgen.Config{Arch: "v1", Width: 0.25, Size: 96, Classes: 10, Seed: 3})
	if err != nil {
		b.Fatal(err)
	}
	wd, _ := os.Getwd()
	root, err := stack.ModuleRoot(wd)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := shared.Provision(ctx, stack.ProvisionOptions{ModuleRoot: root, Model: arc}); err != nil {
		b.Fatal(err)
	}
	photo := smallJPEG(b)
	sc, err := storage.NewClient(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Close()
	pc, err := pubsub.NewClient(ctx, stack.Secundus.ID)
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()

	peak := startRSSSampler(ctx)
	for i := 0; b.Loop(); i++ {
		prefix := fmt.Sprintf("bench-%d-%d/", time.Now().Unix(), i)
		subName := "projects/" + stack.Secundus.ID + "/subscriptions/bench-" + strings.Trim(prefix, "/")
		if _, err := pc.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
			Name: subName, Topic: "projects/" + stack.Secundus.ID + "/topics/" + stack.ResultsTopic, AckDeadlineSeconds: 600,
		}); err != nil {
			b.Fatal(err)
		}
		base := make([]string, n)
		names := make([]string, n)
		for j := range names {
			base[j] = fmt.Sprintf("p%05d.jpg", j)
			names[j] = prefix + base[j]
		}
		tl := newTally(prefix, base)
		rctx, stop := context.WithCancel(ctx)
		var mu sync.Mutex
		var lastSummary time.Time
		complete := make(chan struct{})
		recvDone := make(chan error, 1)
		go func() {
			recvDone <- pc.Subscriber(subName).Receive(rctx, func(_ context.Context, m *pubsub.Message) {
				m.Ack()
				mu.Lock()
				defer mu.Unlock()
				tl.add(m.Attributes, m.Data)
				if m.Attributes["kind"] == "summary" {
					lastSummary = time.Now()
				}
				if lastSummary.After(time.Time{}) && len(tl.records) == n && tl.complete() {
					select {
					case <-complete:
					default:
						close(complete)
					}
				}
			})
		}()

		start := time.Now()
		if err := uploadAll(ctx, sc, names, photo); err != nil {
			b.Fatal(err)
		}
		uploaded := time.Since(start)
		fmt.Fprintf(os.Stderr, "bench: %d photos uploaded in %s\n", n, uploaded.Round(time.Millisecond))
		tick := time.NewTicker(30 * time.Second)
	wait:
		for {
			select {
			case <-complete:
				break wait
			case <-tick.C:
				mu.Lock()
				fmt.Fprintf(os.Stderr, "bench: after %s, %d of %d photos have results, %d summaries\n",
					time.Since(start).Round(time.Second), len(tl.records), n, len(tl.sumCount))
				mu.Unlock()
				continue
			case <-ctx.Done():
			}
			tick.Stop()
			mu.Lock()
			b.Fatalf("after %s: %d of %d photos have results, %d summaries", time.Since(start), len(tl.records), n, len(tl.sumCount))
		}
		tick.Stop()
		mu.Lock()
		wall := lastSummary.Sub(start)
		mu.Unlock()
		time.Sleep(2 * time.Second) // a duplicate would arrive meanwhile
		stop()
		if err := <-recvDone; err != nil {
			b.Fatal(err)
		}
		mu.Lock()
		tl.check(b)
		runs, shards := len(tl.runs), 0
		for r := range tl.runs {
			shards += tl.shardCount(r)
		}
		mu.Unlock()
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(float64(n)/wall.Seconds(), "images/s")
		b.ReportMetric(uploaded.Seconds(), "upload-s")
		b.ReportMetric(float64(runs), "runs")
		b.ReportMetric(float64(shards), "shards")
		b.Logf("%d photos: uploaded in %s, last summary after %s (%d runs, %d shards, %d result messages and %d summaries, none lost or duplicated)",
			n, uploaded.Round(time.Millisecond), wall.Round(time.Millisecond), runs, shards, n, shards)
		_ = pc.SubscriptionAdminClient.DeleteSubscription(ctx, &pubsubpb.DeleteSubscriptionRequest{Subscription: subName})
	}
	self, total := peak()
	b.ReportMetric(self, "stack-peak-rss-MB")
	b.ReportMetric(total, "stack+vms-peak-rss-MB")
}

// uploadAll uploads every name with 16 concurrent uploaders.
func uploadAll(ctx context.Context, sc *storage.Client, names []string, data []byte) error {
	work := make(chan string)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for name := range work {
				w := sc.Bucket(stack.InputBucket).Object(name).NewWriter(ctx)
				w.ContentType = "image/jpeg"
				w.ChunkSize = 0 // one request per object
				if _, err := w.Write(data); err != nil {
					errs <- err
					return
				}
				if err := w.Close(); err != nil {
					errs <- fmt.Errorf("uploading %s: %w", name, err)
					return
				}
			}
		})
	}
	for _, n := range names {
		select {
		case work <- n:
		case err := <-errs:
			close(work)
			wg.Wait()
			return err
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// smallJPEG is a 64×48 photo (about 1 KB).
func smallJPEG(tb testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			img.SetRGBA(x, y, color.RGBA{uint8(4 * x), uint8(5 * y), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// startRSSSampler samples, every 100 ms, this process's resident set (the stack runs in it, with
// the uploader and the subscriber) and that plus its child processes' (the VMs' workloads). The
// returned function gives the peaks in MB: this process's own high-water mark (VmHWM), and the
// largest sampled sum.
func startRSSSampler(ctx context.Context) func() (self, total float64) {
	var mu sync.Mutex
	var maxTotal float64
	go func() {
		for {
			t := rssMB("/proc/self/status", "VmRSS:")
			tasks, _ := os.ReadDir("/proc/self/task")
			for _, task := range tasks {
				b, _ := os.ReadFile("/proc/self/task/" + task.Name() + "/children")
				for _, pid := range strings.Fields(string(b)) {
					t += rssMB("/proc/"+pid+"/status", "VmRSS:")
				}
			}
			mu.Lock()
			maxTotal = max(maxTotal, t)
			mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() (float64, float64) {
		mu.Lock()
		defer mu.Unlock()
		return rssMB("/proc/self/status", "VmHWM:"), maxTotal
	}
}

// rssMB reads one kB field of a /proc status file, in MB.
func rssMB(path, field string) float64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
