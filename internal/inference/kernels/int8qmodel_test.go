package kernels_test

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelfile"
)

// BenchmarkQuantModelRQFast runs the model named by CSPIPE_QBENCH (.tflite
// or .onnx) at batch CSPIPE_QBENCH_BATCH on CSPIPE_QBENCH_THREADS threads
// (default 1 and 1) with the Requant.tabF kernels off and on, alternately,
// and reports the median of off's time over on's as "speedup" (one
// process, so a loaded machine moves both alike). On one thread the time
// is the OS thread's CPU time, which other processes' turns on the CPU do
// not inflate. Skipped without it.
func BenchmarkQuantModelRQFast(b *testing.B) {
	path := os.Getenv("CSPIPE_QBENCH")
	if path == "" {
		b.Skip("CSPIPE_QBENCH not set")
	}
	file, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	m, err := modelfile.Load(file)
	if err != nil {
		b.Fatal(err)
	}
	batch, threads := 1, 1
	for name, p := range map[string]*int{"CSPIPE_QBENCH_BATCH": &batch, "CSPIPE_QBENCH_THREADS": &threads} {
		if v := os.Getenv(name); v != "" {
			if *p, err = strconv.Atoi(v); err != nil || *p < 1 {
				b.Fatalf("%s=%q: want a positive integer", name, v)
			}
		}
	}
	m.SetThreads(threads)
	h, w, c := m.InputShape()
	in := make([]float32, batch*h*w*c)
	out := make([]float32, batch*m.NumClasses())
	clock := func() time.Duration { return time.Duration(time.Now().UnixNano()) }
	if threads == 1 {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if _, ok := kernels.ThreadCPU(); ok {
			clock = func() time.Duration { t, _ := kernels.ThreadCPU(); return t }
		}
	}
	run := func(fast bool) time.Duration {
		kernels.SetRQFast(fast)
		defer kernels.SetRQFast(true)
		t0 := clock()
		for i := 0; i < 4; i++ {
			if err := m.Run(in, batch, out); err != nil {
				b.Fatal(err)
			}
		}
		return clock() - t0
	}
	var ratios []float64
	for b.Loop() {
		ratios = append(ratios, float64(run(false))/float64(run(true)))
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "speedup")
	b.ReportMetric(ratios[len(ratios)/4], "p25")
	b.ReportMetric(ratios[3*len(ratios)/4], "p75")
}

// BenchmarkQuantVsFloat runs the int8 model CSPIPE_QBENCH and the float
// model CSPIPE_FBENCH (the same network) alternately at batch
// CSPIPE_QBENCH_BATCH on CSPIPE_QBENCH_THREADS threads and reports the
// median of the float model's time over the int8 model's as "ratio"
// (item 6's int8/float throughput target is 2), with its quartiles. On
// one thread the time is the OS thread's CPU time, on more the process's
// (both models share the process, so its other work falls on both alike).
// Skipped without both.
func BenchmarkQuantVsFloat(b *testing.B) {
	qpath, fpath := os.Getenv("CSPIPE_QBENCH"), os.Getenv("CSPIPE_FBENCH")
	if qpath == "" || fpath == "" {
		b.Skip("CSPIPE_QBENCH and CSPIPE_FBENCH not set")
	}
	batch, threads := 1, 1
	for name, p := range map[string]*int{"CSPIPE_QBENCH_BATCH": &batch, "CSPIPE_QBENCH_THREADS": &threads} {
		if v := os.Getenv(name); v != "" {
			var err error
			if *p, err = strconv.Atoi(v); err != nil || *p < 1 {
				b.Fatalf("%s=%q: want a positive integer", name, v)
			}
		}
	}
	var runs [2]func() time.Duration
	clock := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if threads == 1 {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if _, ok := kernels.ThreadCPU(); ok {
			clock = func() time.Duration { t, _ := kernels.ThreadCPU(); return t }
		}
	}
	for i, path := range []string{qpath, fpath} {
		file, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		m, err := modelfile.Load(file)
		if err != nil {
			b.Fatal(err)
		}
		m.SetThreads(threads)
		h, w, c := m.InputShape()
		in := make([]float32, batch*h*w*c)
		out := make([]float32, batch*m.NumClasses())
		runs[i] = func() time.Duration {
			t0 := clock()
			for j := 0; j < 4; j++ {
				if err := m.Run(in, batch, out); err != nil {
					b.Fatal(err)
				}
			}
			return clock() - t0
		}
	}
	var ratios []float64
	for b.Loop() {
		q := runs[0]()
		ratios = append(ratios, float64(runs[1]())/float64(q))
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "ratio")
	b.ReportMetric(ratios[len(ratios)/4], "p25")
	b.ReportMetric(ratios[3*len(ratios)/4], "p75")
}
