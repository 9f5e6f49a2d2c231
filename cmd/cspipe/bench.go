package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"syscall"
	"time"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/imageprep"
	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelfile"
)

func init() {
	register("bench", "benchmark model throughput (--model) or photo decode+resize (--decode)", runBench)
}

// modelBench is the JSON `cspipe bench --model M --json` prints.
type modelBench struct {
	Model   string `json:"model"`
	Input   [3]int `json:"input_hwc"`
	Classes int    `json:"classes"`
	Batch   int    `json:"batch"`
	Threads int    `json:"threads"`
	Runs    int    `json:"runs"`
	// Rounds is how many equal parts the duration was split into (--rounds); with more than one,
	// img_per_s, ms_per_img, ms_per_batch and cpu_ms_per_img are the medians of the rounds, the
	// statistic tools/oracle/bench_ort.js reports for ONNX Runtime, and RoundMSPerImg lists them.
	Rounds        int       `json:"rounds"`
	RoundMSPerImg []float64 `json:"round_ms_per_img,omitempty"`
	Images        int       `json:"images"`
	Seconds       float64   `json:"seconds"`
	ImgPerS       float64   `json:"img_per_s"`
	MSPerImg      float64   `json:"ms_per_img"`
	MSPerBatch    float64   `json:"ms_per_batch"`
	GoMaxProcs    int       `json:"gomaxprocs"`
	// CPUMSPerImg is process CPU time per image: steadier than wall time on a shared machine.
	CPUMSPerImg float64 `json:"cpu_ms_per_img"`
	// Kernels is the kernel path in use (avx512, avx2, generic; CSPIPE_KERNELS caps it).
	Kernels string `json:"kernels"`
	// MACsPerImg is the planner's count of multiply-adds per image, of the model as written: a
	// 3x3 layer run as Winograd counts its direct convolution's, so the FMA shares below are
	// effective rates (they may exceed what the FMA units execute).
	MACsPerImg int64 `json:"macs_per_img"`
	// PeakMACsPerCore is one core's measured FMA ceiling on the kernel path; FMAShare is the
	// run's multiply-adds per second over PeakMACsPerCore × threads.
	PeakMACsPerCore float64 `json:"peak_macs_per_core"`
	FMAShare        float64 `json:"fma_share"`
	// FMAShareCPU is the same share per CPU second actually used (multiply-adds per image over
	// CPU seconds per image × PeakMACsPerCore), which other jobs on the machine disturb less.
	FMAShareCPU float64 `json:"fma_share_cpu"`
	// Nodes is the per-operator time of the run, only with --node-times.
	Nodes []graph.NodeTime `json:"nodes,omitempty"`
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelPath := fs.String("model", "", "the .tflite or .onnx model or model archive to benchmark (or, with --decode, to compare top-1 across decode paths)")
	batch := fs.Int("batch", 1, "images per model run")
	threads := fs.Int("threads", 0, "goroutines per model run (0: GOMAXPROCS)")
	duration := fs.Duration("duration", 5*time.Second, "how long to run the model")
	rounds := fs.Int("rounds", 1, "with --model: split --duration into this many rounds and report their medians (as bench_ort.js does for ONNX Runtime)")
	asJSON := fs.Bool("json", false, "print JSON")
	decode := fs.Bool("decode", false, "benchmark decode+resize of the photos given as arguments")
	size := fs.Int("size", 224, "with --decode: target size when no model is given")
	repeat := fs.Int("repeat", 3, "with --decode: runs per photo and path (the fastest is reported)")
	nodeTimes := fs.Bool("node-times", false, "with --model: time every operator and print the table (adds a clock read per operator)")
	paced := fs.Bool("paced", false, "with --model --json: load and warm up, print {\"ready\":true}, then run one round of --duration for every line read on standard input and print its JSON line (make bench alternates engines slice by slice this way)")
	formats := fs.Bool("formats", true, "with --decode: also re-encode the first photo as arithmetic-coded JPEG, PNG, WebP, GIF and BMP and time each")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cspipe bench --model M.tflite|M.onnx [--batch N] [--threads T] [--duration 5s] [--json]")
		fmt.Fprintln(stderr, "       cspipe bench --decode [--model M.tflite|M.onnx] [--size 224] [--repeat 3] [--json] [PHOTO...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitError{code: 2}
	}
	var m *graph.Model
	if *modelPath != "" {
		files, err := loadModel(*modelPath)
		if err != nil {
			return err
		}
		if m, err = modelfile.Load(files.model); err != nil {
			return err
		}
	}
	if *decode {
		photos := fs.Args()
		if len(photos) == 0 {
			return exitError{code: 2, msg: "no photos given: cspipe bench --decode PHOTO... (make bench passes the codelab's sample photos)"}
		}
		return benchDecode(ctx, photos, m, *size, max(*repeat, 1), *asJSON, *formats, stdout)
	}
	if m == nil {
		fs.Usage()
		return exitError{code: 2, msg: "--model or --decode is required"}
	}
	if *batch < 1 {
		return exitError{code: 2, msg: "--batch must be at least 1"}
	}
	if *rounds < 1 {
		return exitError{code: 2, msg: "--rounds must be at least 1"}
	}
	if *paced && (!*asJSON || *nodeTimes || *rounds != 1) {
		return exitError{code: 2, msg: "--paced needs --json and takes neither --node-times nor --rounds (each input line is one round)"}
	}
	m.SetThreads(*threads)
	m.SetNodeTiming(*nodeTimes)
	t := *threads
	if t <= 0 {
		t = runtime.GOMAXPROCS(0)
	}
	if *paced {
		return benchPaced(ctx, m, *batch, t, *duration, filepath.Base(*modelPath), benchStdin, stdout)
	}
	r := benchModel(ctx, m, *batch, t, *duration, *rounds)
	r.Model = filepath.Base(*modelPath)
	r.Threads = t
	r.Nodes = m.NodeTimes()
	if *asJSON {
		return json.NewEncoder(stdout).Encode(r)
	}
	fmt.Fprintf(stdout, "%s %dx%dx%d batch %d threads %d: %.1f img/s, %.3f ms/img (%d images in %.2fs)\n",
		r.Model, r.Input[0], r.Input[1], r.Input[2], r.Batch, r.Threads, r.ImgPerS, r.MSPerImg, r.Images, r.Seconds)
	if r.Nodes != nil {
		printNodeTimes(stdout, r.Nodes)
		printTimeGoes(stdout, r.Nodes, r.PeakMACsPerCore, r.Batch, r.Threads)
	}
	return ctx.Err()
}

// printNodeTimes prints the per-operator table of --node-times: microseconds
// per image, share of the summed time, multiply-adds per nanosecond, and
// the thread CPU microseconds per image of the calls that ran on one
// thread ("-" when none did).
func printNodeTimes(w io.Writer, nodes []graph.NodeTime) {
	var sum time.Duration
	for _, n := range nodes {
		sum += n.Total
	}
	fmt.Fprintf(w, "%4s %9s %6s %7s %9s  %-22s %-18s %s\n", "#", "us/img", "share", "GMAC/s", "cpu-us", "kernel", "shape", "name")
	for i, n := range nodes {
		cpu := "-"
		if n.CPUImages > 0 {
			cpu = fmt.Sprintf("%.1f", float64(n.CPU.Nanoseconds())/1e3/float64(n.CPUImages))
		}
		per := float64(n.Total.Nanoseconds()) / 1e3 / float64(max(n.Images, 1))
		share := 0.0
		if sum > 0 {
			share = 100 * float64(n.Total) / float64(sum)
		}
		rate := 0.0
		if per > 0 {
			rate = float64(n.MACs) / (per * 1e3)
		}
		fmt.Fprintf(w, "%4d %9.1f %5.1f%% %7.1f %9s  %-22s %-18s %s\n", i, per, share, rate, cpu, n.Kernel, fmt.Sprint(n.Shape), n.Name)
	}
}

// timeGroup is one row of the "where the time goes" summary: the
// operators of one kernel kind at one output size.
type timeGroup struct {
	key      string
	ops      int
	us, macs float64 // per image
}

// printTimeGoes prints, after the --node-times table, where the time goes
// against the FMA peak: the operators grouped by kernel and output size
// (e.g. "conv@8x8"), each group's share of the time and of the
// multiply-adds, its rate and share of the peak, and the microseconds per
// image it spends beyond what its multiply-adds would take at the peak
// ("over") with that excess's share of the whole run's: the rows with the
// largest "of gap" are where the FMA share is lost. Times are per image on
// one core: the thread CPU time where every call ran on one thread, else
// the wall time, times T cores at batch 1 on T threads.
func printTimeGoes(w io.Writer, nodes []graph.NodeTime, peak float64, batch, threads int) {
	if peak <= 0 {
		return
	}
	cores := 1.0
	if batch == 1 {
		cores = float64(max(threads, 1))
	}
	var groups []*timeGroup
	byKey := map[string]*timeGroup{}
	var sumUS, sumMACs, sumOver float64
	for _, n := range nodes {
		key := n.Kernel
		if len(n.Shape) == 4 {
			key = fmt.Sprintf("%s@%dx%d", n.Kernel, n.Shape[1], n.Shape[2])
		}
		g := byKey[key]
		if g == nil {
			g = &timeGroup{key: key}
			byKey[key] = g
			groups = append(groups, g)
		}
		us := float64(n.Total.Nanoseconds()) / 1e3 / float64(max(n.Images, 1)) * cores
		if n.CPUImages > 0 && n.CPUImages == n.Images {
			// Every call ran on one thread: its CPU clock leaves out preemption.
			us = float64(n.CPU.Nanoseconds()) / 1e3 / float64(n.CPUImages)
		}
		g.ops++
		g.us += us
		g.macs += float64(n.MACs)
		sumUS += us
		sumMACs += float64(n.MACs)
	}
	over := func(g *timeGroup) float64 { return max(g.us-g.macs/peak*1e6, 0) }
	for _, g := range groups {
		sumOver += over(g)
	}
	if sumUS <= 0 {
		return
	}
	fmt.Fprintf(w, "\nwhere the time goes (core-us per image; FMA peak %.1f GMAC/s per core; %.0f%% of it overall)\n",
		peak/1e9, 100*sumMACs/(sumUS/1e6*peak))
	fmt.Fprintf(w, "%-32s %4s %9s %6s %6s %7s %7s %9s %7s\n", "kernel@output", "ops", "us/img", "time", "MACs", "GMAC/s", "of peak", "over-us", "of gap")
	for _, g := range groups {
		rate, gap, macShare := 0.0, 0.0, 0.0
		if g.us > 0 {
			rate = g.macs / (g.us * 1e3)
		}
		if sumOver > 0 {
			gap = 100 * over(g) / sumOver
		}
		if sumMACs > 0 {
			macShare = 100 * g.macs / sumMACs
		}
		fmt.Fprintf(w, "%-32s %4d %9.1f %5.1f%% %5.1f%% %7.1f %6.0f%% %9.1f %6.1f%%\n",
			g.key, g.ops, g.us, 100*g.us/sumUS, macShare, rate, 100*rate*1e9/peak, over(g), gap)
	}
}

// benchStdin is where --paced reads its go-ahead lines (tests replace it).
var benchStdin io.Reader = os.Stdin

// benchRun is a model with its pseudo-random input, run batch by batch.
type benchRun struct {
	m       *graph.Model
	batch   int
	in, out []float32
}

func newBenchRun(m *graph.Model, batch int) *benchRun {
	h, w, c := m.InputShape()
	b := &benchRun{m: m, batch: batch, in: make([]float32, batch*h*w*c), out: make([]float32, batch*m.NumClasses())}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range b.in {
		b.in[i] = rng.Float32()
	}
	return b
}

// round runs the model for d (at least once, so that a short d still measures) and returns the
// wall seconds, process CPU seconds and runs it took.
func (b *benchRun) round(ctx context.Context, d time.Duration) (sec, cpu float64, runs int) {
	start, cpu0 := time.Now(), cpuTime()
	for runs == 0 || time.Since(start) < d && ctx.Err() == nil {
		_ = b.m.Run(b.in, b.batch, b.out)
		runs++
	}
	return time.Since(start).Seconds(), (cpuTime() - cpu0).Seconds(), runs
}

// benchPaced serves --paced: after the warm-up it prints {"ready":true}, then measures one round
// of d per line read from in and prints it as one modelBench line, until in ends. Two engines
// driven this way by one script take turns slice by slice, so a slow spell of a shared host
// falls on both alike (make bench compares each slice with its neighbour).
func benchPaced(ctx context.Context, m *graph.Model, batch, threads int, d time.Duration, name string, in io.Reader, stdout io.Writer) error {
	b := newBenchRun(m, batch)
	peak := kernels.PeakMACs(300 * time.Millisecond)
	_ = m.Run(b.in, batch, b.out)
	enc := json.NewEncoder(stdout)
	if err := enc.Encode(map[string]bool{"ready": true}); err != nil {
		return err
	}
	lines := bufio.NewScanner(in)
	for lines.Scan() && ctx.Err() == nil {
		sec, cpu, runs := b.round(ctx, d)
		r := summarize(m, batch, threads, peak, []float64{sec}, []float64{cpu}, []int{runs})
		r.Model = name
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	if err := lines.Err(); err != nil {
		return fmt.Errorf("--paced: reading standard input: %w", err)
	}
	return ctx.Err()
}

// benchModel runs batches of pseudo-random images until d has passed (after one warm-up run).
func benchModel(ctx context.Context, m *graph.Model, batch, threads int, d time.Duration, rounds int) modelBench {
	b := newBenchRun(m, batch)
	peak := kernels.PeakMACs(300 * time.Millisecond)
	_ = m.Run(b.in, batch, b.out)
	if m.NodeTimes() != nil {
		m.SetNodeTiming(true) // per-operator times restart after the warm-up
	}
	rounds = max(rounds, 1)
	var secs, cpus []float64
	var runs []int
	for r := 0; r < rounds && ctx.Err() == nil; r++ {
		s, cs, n := b.round(ctx, d/time.Duration(rounds))
		secs, cpus, runs = append(secs, s), append(cpus, cs), append(runs, n)
	}
	return summarize(m, batch, threads, peak, secs, cpus, runs)
}

// summarize turns rounds (wall seconds, CPU seconds and runs of each) into a modelBench: with
// more than one round the per-image and per-batch times are the medians of the rounds', with
// one they are its totals over its images.
func summarize(m *graph.Model, batch, threads int, peak float64, secs, cpus []float64, runsPer []int) modelBench {
	var wallMS, cpuMS, batchMS []float64
	var sec, cpu float64
	runs := 0
	for i, s := range secs {
		n := runsPer[i]
		sec, cpu, runs = sec+s, cpu+cpus[i], runs+n
		wallMS = append(wallMS, s*1000/float64(n*batch))
		cpuMS = append(cpuMS, cpus[i]*1000/float64(n*batch))
		batchMS = append(batchMS, s*1000/float64(n))
	}
	h, w, c := m.InputShape()
	images := runs * batch
	r := modelBench{Input: [3]int{h, w, c}, Classes: m.NumClasses(), Batch: batch, Threads: threads, Runs: runs, Images: images,
		Rounds: len(wallMS), Seconds: sec, GoMaxProcs: runtime.GOMAXPROCS(0), Kernels: kernels.Path(),
		MACsPerImg: m.Work(), PeakMACsPerCore: peak}
	if len(wallMS) > 1 {
		r.RoundMSPerImg = append([]float64(nil), wallMS...)
		r.MSPerImg, r.CPUMSPerImg, r.MSPerBatch = median(wallMS), median(cpuMS), median(batchMS)
	} else {
		r.MSPerImg = sec * 1000 / float64(max(images, 1))
		r.MSPerBatch = sec * 1000 / float64(max(runs, 1))
		r.CPUMSPerImg = cpu * 1000 / float64(max(images, 1))
	}
	if r.MSPerImg > 0 {
		r.ImgPerS = 1000 / r.MSPerImg
	}
	if peak > 0 {
		r.FMAShare = float64(m.Work()) * r.ImgPerS / (peak * float64(threads))
		if r.CPUMSPerImg > 0 {
			r.FMAShareCPU = float64(m.Work()) / (r.CPUMSPerImg / 1000 * peak)
		}
	}
	return r
}

// median is the middle of v (the upper middle for an even count, as
// bench_ort.js takes it); v is sorted in place.
func median(v []float64) float64 {
	slices.Sort(v)
	return v[len(v)/2]
}

// decodeBench is one photo's line of `cspipe bench --decode --json`.
type decodeBench struct {
	Photo  string `json:"photo"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Target int    `json:"target"`
	// Fastest of --repeat runs, in milliseconds, for image/jpeg and our exact and fast paths.
	StdlibMS float64 `json:"stdlib_ms"`
	ExactMS  float64 `json:"exact_ms"`
	FastMS   float64 `json:"fast_ms"`
	// Fastest process CPU time (user+system, including the garbage collector) of one run: on
	// a loaded machine this is steadier than the wall clock.
	StdlibCPUMS float64 `json:"stdlib_cpu_ms"`
	ExactCPUMS  float64 `json:"exact_cpu_ms"`
	FastCPUMS   float64 `json:"fast_cpu_ms"`
	// The path that ran when exact or fast was asked for: fast needs the 1/8-scale image to
	// cover the target and otherwise runs exact.
	ExactPath string `json:"exact_path"`
	FastPath  string `json:"fast_path"`
	// Speed-ups over image/jpeg.
	ExactSpeedup float64 `json:"exact_speedup"`
	FastSpeedup  float64 `json:"fast_speedup"`
	// libjpeg-turbo's djpeg decoding the whole photo (fastest wall and CPU time of --repeat
	// runs, each right after one exact run so that both meet the same load; absent without
	// djpeg), and how many times less CPU time our exact decode+resize takes (CPU time, because
	// a loaded machine distorts wall times).
	DjpegMS         float64 `json:"djpeg_ms,omitempty"`
	DjpegCPUMS      float64 `json:"djpeg_cpu_ms,omitempty"`
	ExactVsDjpegCPU float64 `json:"exact_vs_djpeg_cpu,omitempty"`
	// Bytes allocated by one decode with the collector off: an upper bound of its peak heap.
	StdlibAllocMB float64 `json:"stdlib_alloc_mb"`
	ExactAllocMB  float64 `json:"exact_alloc_mb"`
	FastAllocMB   float64 `json:"fast_alloc_mb"`
	// Differences of the prepared [0,1] tensors.
	ExactVsStdlibMaxAbs  float64 `json:"exact_vs_stdlib_max_abs"`
	ExactVsStdlibMeanAbs float64 `json:"exact_vs_stdlib_mean_abs"`
	FastVsExactMaxAbs    float64 `json:"fast_vs_exact_max_abs"`
	FastVsExactMeanAbs   float64 `json:"fast_vs_exact_mean_abs"`
	// With a model: the top-1 class of each path.
	Top1Stdlib *int `json:"top1_stdlib,omitempty"`
	Top1Exact  *int `json:"top1_exact,omitempty"`
	Top1Fast   *int `json:"top1_fast,omitempty"`
}

func benchDecode(ctx context.Context, photos []string, m *graph.Model, size, repeat int, asJSON, formats bool, stdout io.Writer) error {
	h, w := size, size
	if m != nil {
		h, w, _ = m.InputShape()
	}
	enc := json.NewEncoder(stdout)
	for _, p := range photos {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := readFileLimit(p, maxPhotoFileBytes, "photo")
		if err != nil {
			return err
		}
		r := decodeBench{Photo: filepath.Base(p), Target: w}
		tensors := map[string][]float32{}
		djpegMS, djpegCPU := math.Inf(1), math.Inf(1)
		for _, path := range []string{imageprep.PathStdlib, imageprep.PathExact, imageprep.PathFast} {
			o := imageprep.Options{Width: w, Height: h, Stdlib: path == imageprep.PathStdlib, Fast: path == imageprep.PathFast}
			dst := make([]float32, o.TensorLen())
			best, bestCPU := math.Inf(1), math.Inf(1)
			var res imageprep.Result
			settleHeap(func() { _, _ = imageprep.Prepare(data, o, dst) })
			for range repeat {
				start, cpu0 := time.Now(), cpuTime()
				if res, err = imageprep.Prepare(data, o, dst); err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
				best = min(best, float64(time.Since(start).Microseconds())/1000)
				bestCPU = min(bestCPU, float64((cpuTime()-cpu0).Microseconds())/1000)
				if path == imageprep.PathExact {
					// djpeg runs interleaved with the exact path, so that both meet the same
					// machine load and their ratio holds on a busy machine.
					if wall, cpu, ok := djpegOnce(p); ok {
						djpegMS, djpegCPU = min(djpegMS, wall), min(djpegCPU, cpu)
					}
				}
			}
			if path == imageprep.PathExact {
				r.ExactPath = res.Path
			} else if path == imageprep.PathFast {
				r.FastPath = res.Path
			}
			alloc := allocOf(func() { _, _ = imageprep.Prepare(data, o, dst) })
			r.Width, r.Height = res.Width, res.Height
			tensors[path] = dst
			switch path {
			case imageprep.PathStdlib:
				r.StdlibMS, r.StdlibCPUMS, r.StdlibAllocMB = best, bestCPU, alloc
			case imageprep.PathExact:
				r.ExactMS, r.ExactCPUMS, r.ExactAllocMB = best, bestCPU, alloc
			case imageprep.PathFast:
				r.FastMS, r.FastCPUMS, r.FastAllocMB = best, bestCPU, alloc
			}
		}
		r.ExactSpeedup, r.FastSpeedup = r.StdlibMS/r.ExactMS, r.StdlibMS/r.FastMS
		if !math.IsInf(djpegCPU, 1) {
			r.DjpegMS, r.DjpegCPUMS = djpegMS, djpegCPU
			r.ExactVsDjpegCPU = r.DjpegCPUMS / r.ExactCPUMS
		}
		r.ExactVsStdlibMaxAbs, r.ExactVsStdlibMeanAbs = absDiff(tensors[imageprep.PathExact], tensors[imageprep.PathStdlib])
		r.FastVsExactMaxAbs, r.FastVsExactMeanAbs = absDiff(tensors[imageprep.PathFast], tensors[imageprep.PathExact])
		if m != nil {
			top := func(in []float32) *int {
				out := make([]float32, m.NumClasses())
				if err := m.Run(in, 1, out); err != nil {
					return nil
				}
				i := 0
				for k, v := range out {
					if v > out[i] {
						i = k
					}
				}
				return &i
			}
			r.Top1Stdlib, r.Top1Exact, r.Top1Fast = top(tensors[imageprep.PathStdlib]), top(tensors[imageprep.PathExact]), top(tensors[imageprep.PathFast])
		}
		if asJSON {
			if err := enc.Encode(r); err != nil {
				return err
			}
			continue
		}
		djpeg := "djpeg not installed"
		if r.DjpegMS > 0 {
			djpeg = fmt.Sprintf("djpeg %.0f ms (cpu %.0f), exact %.1fx less cpu", r.DjpegMS, r.DjpegCPUMS, r.ExactVsDjpegCPU)
		}
		fmt.Fprintf(stdout, "%s %dx%d -> %d: image/jpeg %.0f ms (cpu %.0f, %.0f MB) | exact %.0f ms (cpu %.0f, %.0f MB, %.1fx) | %s %.1f ms (cpu %.1f, %.1f MB, %.1fx) | fast-exact max %.3f mean %.4f | %s\n",
			r.Photo, r.Width, r.Height, r.Target, r.StdlibMS, r.StdlibCPUMS, r.StdlibAllocMB, r.ExactMS, r.ExactCPUMS, r.ExactAllocMB, r.ExactSpeedup,
			r.FastPath, r.FastMS, r.FastCPUMS, r.FastAllocMB, r.FastSpeedup, r.FastVsExactMaxAbs, r.FastVsExactMeanAbs, djpeg)
	}
	if formats {
		return benchFormats(photos[0], w, h, repeat, asJSON, stdout)
	}
	return nil
}

// settleHeap starts a path's timed runs in its own steady state: the garbage of the paths
// timed before (image/jpeg's full-size image is hundreds of megabytes) is collected and its
// memory returned to the OS, so its sweeping and scavenging are not billed to the next path,
// and one untimed warm-up run leaves the garbage the timed runs' collections will meet.
func settleHeap(warmUp func()) {
	debug.FreeOSMemory()
	warmUp()
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// allocOf runs f once with the garbage collector off and returns the megabytes it allocated.
func allocOf(f func()) float64 {
	runtime.GC()
	old := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(old)
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return float64(b.TotalAlloc-a.TotalAlloc) / (1 << 20)
}

func absDiff(a, b []float32) (maxAbs, meanAbs float64) {
	if len(a) != len(b) || len(a) == 0 {
		return math.NaN(), math.NaN()
	}
	var sum float64
	for i := range a {
		d := math.Abs(float64(a[i] - b[i]))
		maxAbs = max(maxAbs, d)
		sum += d
	}
	return maxAbs, sum / float64(len(a))
}
