//go:build linux

package modelfile_test

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cspipe/cspipe/internal/inference/modelfile"
)

// BenchmarkQuantVsFloat runs the int8 model CSPIPE_QBENCH and the float
// model CSPIPE_FBENCH (the same network) alternately at batch
// CSPIPE_QBENCH_BATCH on CSPIPE_QBENCH_THREADS threads and reports the
// median of the float model's time over the int8 model's as "ratio"
// (item 6's int8/float throughput target is 2), with its quartiles. On
// one thread the time is the OS thread's CPU time (RUSAGE_THREAD), on more
// the process's (both models share the process, so its other work falls on
// both alike), per run over windows of 100 ms: that clock moves in steps
// of up to a scheduler tick, and windows of four runs gave ratios heaped
// at 2.0 whatever the models did.
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
	const window = 100 * time.Millisecond
	var runs [2]func() time.Duration
	who := unix.RUSAGE_SELF
	if threads == 1 {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		who = unix.RUSAGE_THREAD
	}
	clock := func() time.Duration {
		var ru unix.Rusage
		if err := unix.Getrusage(who, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
			// Run until the window has passed: the time per run.
			t0 := clock()
			n := 0
			for clock()-t0 < window {
				if err := m.Run(in, batch, out); err != nil {
					b.Fatal(err)
				}
				n++
			}
			return (clock() - t0) / time.Duration(n)
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
