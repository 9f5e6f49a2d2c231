package workload_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/archive"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/receipt"
	"github.com/cspipe/cspipe/internal/receipt/receipttest"
	"github.com/cspipe/cspipe/internal/records"
	"github.com/cspipe/cspipe/internal/workload"
	"github.com/cspipe/cspipe/internal/workload/workloadtest"
)

// BenchmarkRunOverhead measures how much of the workload's per-image time goes to anything other
// than decoding and inference (listing, reading objects, buffering, result encoding and
// ordering, hashing, the results write) with the production engine (workload.LoadEngine) and a
// random-weight MobileNet V1 generated in memory, over real JPEGs in an in-memory store. Each
// iteration is one whole workload.Run over n images; the receipt and summary are written as in
// production. Run it with
//
//	go test -run '^$' -bench RunOverhead -benchtime 1x ./internal/workload
//
// (the 10,000-image case takes most of a minute on two cores).
//
// Metrics (per iteration, averaged over b.N):
//   - setup_ms: fetching the archive, checking its sha256 and loading the model (once per run,
//     not per image, so left out of the per-image figures).
//   - ms/img: wall time of the rest of the run divided by n.
//   - decode_ms/img, infer_ms/img: the means of the records' decode_ms and infer_ms.
//   - overhead_%: 100 × (1 − (decode+infer per image) / (ms/img × workers)). With a pool of
//     `workers` classifiers running side by side, wall time × workers is the worker time the run
//     used per image; whatever of it was not spent decoding or inferring (workers idle while
//     waiting for a read, listing, writing results, bookkeeping) is the overhead. This is the
//     strict measure: it also counts pipeline stalls, not only CPU spent elsewhere.
//   - rec_overhead_%: 100 × Σ(total_ms − decode_ms − infer_ms) / Σ total_ms over the records,
//     i.e. the part of each image's own recorded time spent reading it and ranking the
//     output. Reads happen in fetcher goroutines that overlap inference, so this overstates the
//     cost to the run's wall time; it is reported as a cross-check.
func BenchmarkRunOverhead(b *testing.B) {
	cases := []struct {
		name     string
		model    modelgen.Config
		w, h     int
		n        int
		variants int
	}{
		// The codelab's model at its real size, over camera-sized JPEGs.
		{"mobilenet_v1_1.0_224/640x480/n=200", modelgen.Config{Arch: "v1", Width: 1, Size: 224, Classes: 1001, Seed: 1}, 640, 480, 200, 8},
		// The 10,000-image run: a much cheaper model and small JPEGs, so any fixed per-image cost
		// weighs far more than it would with the real model; a stricter test of the overhead.
		{"mobilenet_v1_0.25_128/224x224/n=10000", modelgen.Config{Arch: "v1", Width: 0.25, Size: 128, Classes: 1001, Seed: 2}, 224, 224, 10000, 16},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			benchRunOverhead(b, tc.model, tc.w, tc.h, tc.n, tc.variants)
		})
	}
}

func benchRunOverhead(b *testing.B, mc modelgen.Config, w, h, n, variants int) {
	ctx := context.Background()
	g, err := modelgen.MobileNet(mc)
	if err != nil {
		b.Fatal(err)
	}
	var labels strings.Builder
	for i := range mc.Classes {
		fmt.Fprintf(&labels, "class-%04d\n", i)
	}
	arch := archive.Build([]archive.File{
		{Name: records.ModelFile, Data: g.TFLite()},
		{Name: records.LabelsFile, Data: []byte(labels.String())},
	})

	models := blob.NewMemory()
	ma, err := models.Write(ctx, modelBucket, modelObject, blob.Object{Data: arch}, blob.Cond{})
	if err != nil {
		b.Fatal(err)
	}
	// The workload always requires RegisterModel's accepted manifest (the pin only narrows it).
	manifest, _ := json.Marshal(records.Manifest{Object: modelObject, Generation: ma.Generation,
		SHA256: receipt.SHA256(arch), Status: records.ManifestAccepted})
	if _, err := models.Write(ctx, modelBucket, modelObject+records.ManifestSuffix, blob.Object{Data: manifest}, blob.Cond{}); err != nil {
		b.Fatal(err)
	}
	store := workloadtest.NewStore()
	jpegs := make([][]byte, variants)
	for i := range jpegs {
		jpegs[i] = benchJPEG(b, w, h, uint64(i))
	}
	for i := range n {
		if _, err := store.Write(ctx, inBucket, fmt.Sprintf("img/%05d.jpg", i), blob.Object{Data: jpegs[i%variants], ContentType: "image/jpeg"}, blob.Cond{}); err != nil {
			b.Fatal(err)
		}
	}

	cfg := workload.Config{
		RunID: "bench", ShardCount: 1, InputBucket: inBucket, InputPrefix: "img/", ResultsBucket: outBucket,
		Model: "gs://" + modelBucket + "/" + modelObject, ModelSHA256: receipt.SHA256(arch), TopK: 5,
		WIPProvider: "projects/1/locations/global/workloadIdentityPools/pool/providers/prov",
		STSEndpoint: "https://sts.googleapis.com", IAMCredentialsEndpoint: "https://iamcredentials.googleapis.com",
		LauncherDir: "/run/container_launcher",
	}
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	workers := cfg.WorkerCount()
	var loadedAt atomic.Int64 // unix nanoseconds when the model finished loading
	deps := workload.Deps{
		Store: store, Model: models,
		Receipts: &minter{iss: receipttest.New("https://issuer.test"), digest: "sha256:" + strings.Repeat("a", 64)},
		LoadModel: func(ctx context.Context, a []byte, k int) (workload.Classifier, error) {
			c, err := workload.LoadEngine(ctx, a, k)
			loadedAt.Store(time.Now().UnixNano())
			return c, err
		},
	}

	var setup, pipeline time.Duration
	var decode, infer, total, nonIO float64
	iter := 0
	for b.Loop() {
		iter++
		cfg.RunID = fmt.Sprintf("bench-%d", iter)
		start := time.Now()
		out := workload.Run(ctx, cfg, deps)
		end := time.Now()
		if out.Err != nil || out.Summary.Succeeded != n || out.Summary.Failed != 0 {
			b.Fatalf("run: err %v, %d succeeded, %d failed, errors %+v", out.Err, out.Summary.Succeeded, out.Summary.Failed, out.Summary.Errors)
		}
		loaded := time.Unix(0, loadedAt.Load())
		setup += loaded.Sub(start)
		pipeline += end.Sub(loaded)

		b.StopTimer()
		res, _, err := blob.ReadAll(ctx, store, outBucket, records.Prefix(cfg.RunID, 0, 1)+records.ResultsFile, 0)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(res))
		sc.Buffer(nil, 1<<20)
		got := 0
		for sc.Scan() {
			var r records.Record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				b.Fatal(err)
			}
			if r.Status != records.StatusOK || r.Timings == nil {
				b.Fatalf("record %+v", r)
			}
			got++
			decode += r.Timings.DecodeMS
			infer += r.Timings.InferMS
			total += r.Timings.TotalMS
			nonIO += r.Timings.TotalMS - r.Timings.DecodeMS - r.Timings.InferMS
		}
		if got != n {
			b.Fatalf("%d records, want %d", got, n)
		}
		b.StartTimer()
	}

	runs := float64(iter)
	images := runs * float64(n)
	perImg := float64(pipeline.Microseconds()) / 1000 / images
	work := (decode + infer) / images
	b.ReportMetric(float64(setup.Microseconds())/1000/runs, "setup_ms")
	b.ReportMetric(perImg, "ms/img")
	b.ReportMetric(decode/images, "decode_ms/img")
	b.ReportMetric(infer/images, "infer_ms/img")
	b.ReportMetric(100*(1-work/(perImg*float64(workers))), "overhead_%")
	b.ReportMetric(100*nonIO/total, "rec_overhead_%")
	b.ReportMetric(float64(workers), "workers")
}

// benchJPEG encodes a w×h picture (smooth gradients plus noise, so it compresses like a photo
// rather than a flat fill) as a quality-85 JPEG.
func benchJPEG(b *testing.B, w, h int, seed uint64) []byte {
	b.Helper()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	phase := rng.IntN(256)
	for y := range h {
		for x := range w {
			noise := rng.IntN(48) - 24
			img.SetRGBA(x, y, color.RGBA{
				R: clamp8(x*255/w + noise),
				G: clamp8(y*255/h + phase - 128 + noise),
				B: clamp8((x+y+phase)%256 + noise/2),
				A: 255,
			})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func clamp8(v int) uint8 { return uint8(min(max(v, 0), 255)) }
