// Package abbench is the A/B benchmark harness of the inference engine's
// tests: benchmarks that compare settings "run by run" (the house way of
// measuring on a shared, noisy machine) time their runs through Alternate
// and report from its Times. It lives in a package of its own, with no
// dependency on the engine, so that the tests of every engine package
// (kernels, graph) share one copy; only tests import it.
package abbench

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"
)

// Clock is the clock an A/B benchmark times its runs by.
type Clock int

const (
	// Wall is the wall clock: what a caller waits, helper threads
	// included.
	Wall Clock = iota
	// ThreadCPU is the CPU time of the benchmark's own thread (the
	// goroutine is locked to it for the run): steadier than the wall
	// clock on a loaded machine, blind to other threads' work.
	ThreadCPU
	// ProcessCPU is the CPU time of all the process's threads: a
	// multi-threaded run's work, blind to other processes' time.
	ProcessCPU
)

// String is the clock's name.
func (c Clock) String() string {
	switch c {
	case Wall:
		return "wall"
	case ThreadCPU:
		return "thread-cpu"
	case ProcessCPU:
		return "process-cpu"
	}
	return fmt.Sprintf("Clock(%d)", int(c))
}

// Available reports whether this platform has the clock.
func (c Clock) Available() bool {
	_, ok := c.Now()
	return ok
}

// start is the origin of the wall clock's readings.
var start = time.Now()

// Now reads the clock: for Wall the monotonic time since the package was
// loaded, for the CPU clocks the CPU time used so far (false where the
// platform lacks the clock or c is no clock).
func (c Clock) Now() (time.Duration, bool) {
	switch c {
	case Wall:
		return time.Since(start), true
	case ThreadCPU:
		return threadCPU()
	case ProcessCPU:
		return processCPU()
	}
	return 0, false
}

// Side is one of the settings an A/B benchmark compares.
type Side struct {
	// Name is the side's name in the reported metrics.
	Name string
	// Setup, when not nil, runs untimed ahead of every run of this side
	// (a switch flipped, a cache emptied by other work).
	Setup func()
	// Run is the timed work of one run.
	Run func()
	// Next, when not nil, is a second timed step right after Run (a hot
	// call after a cold one), timed apart from it.
	Next func()
	// Done, when not nil, runs untimed after every run; warm is true after
	// the warm-up run, whose times are not kept.
	Done func(warm bool)
}

// Times holds the seconds of an A/B benchmark's measured runs:
// Times[side][step][round], in the order the rounds ran (step 0 is Run,
// step 1 Next).
type Times struct {
	Names []string
	Times [][][]float64
}

// Alternate runs the sides once each to warm up (workspaces, pages),
// then, for every b.Loop iteration, one round in which every side runs
// once, the order rotated round by round (side (j+i) mod n runs j-th in
// round i; with two sides the order swaps every pair), so that all of
// them meet the same load. Each timed step is measured with the clock;
// the benchmark is skipped where the platform lacks it.
func Alternate(b *testing.B, clock Clock, sides ...Side) Times {
	b.Helper()
	if len(sides) == 0 {
		b.Fatal("abbench.Alternate: no sides")
	}
	if !clock.Available() {
		b.Skipf("no %v clock on this platform", clock)
	}
	if clock == ThreadCPU {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	now := func() time.Duration {
		t, _ := clock.Now()
		return t
	}
	t := Times{Names: make([]string, len(sides)), Times: make([][][]float64, len(sides))}
	for i, s := range sides {
		if s.Run == nil {
			b.Fatalf("abbench.Alternate: side %q has no Run", s.Name)
		}
		t.Names[i] = s.Name
		t.Times[i] = make([][]float64, 1)
		if s.Next != nil {
			t.Times[i] = append(t.Times[i], nil)
		}
	}
	run := func(j int, warm bool) {
		s := sides[j]
		if s.Setup != nil {
			s.Setup()
		}
		t0 := now()
		s.Run()
		t1 := now()
		var t2 time.Duration
		if s.Next != nil {
			s.Next()
			t2 = now()
		}
		if s.Done != nil {
			s.Done(warm)
		}
		if warm {
			return
		}
		t.Times[j][0] = append(t.Times[j][0], (t1 - t0).Seconds())
		if s.Next != nil {
			t.Times[j][1] = append(t.Times[j][1], (t2 - t1).Seconds())
		}
	}
	for j := range sides {
		run(j, true)
	}
	for i := 0; b.Loop(); i++ {
		for j := range sides {
			run((j+i)%len(sides), false)
		}
	}
	return t
}

// Speedup times old and new alternately on the wall clock (Alternate's
// warm-up and order swapped every round, the sides named "old" and "new")
// and reports the median per-round ratio of old's time over new's as
// "speedup": above 1 where new is faster, measured in one run so that a
// loaded machine moves both alike.
func Speedup(b *testing.B, old, new func()) Times {
	b.Helper()
	t := Alternate(b, Wall, Side{Name: "old", Run: old}, Side{Name: "new", Run: new})
	b.ReportMetric(Med(t.Ratios(0, 0, 1)), "speedup")
	return t
}

// Series is a sorted copy of the times of one side's step.
func (t Times) Series(side, step int) []float64 {
	s := slices.Clone(t.Times[side][step])
	slices.Sort(s)
	return s
}

// Ratios is the sorted per-round ratios of side num's time of a step over
// side den's: above 1 where den is faster.
func (t Times) Ratios(step, num, den int) []float64 {
	n, d := t.Times[num][step], t.Times[den][step]
	r := make([]float64, len(n))
	for i := range n {
		r[i] = n[i] / d[i]
	}
	slices.Sort(r)
	return r
}

// MedRatio is the ratio of side num's median time of a step over side
// den's (a ratio of medians, where Ratios gives the per-round ones).
func (t Times) MedRatio(step, num, den int) float64 {
	return Med(t.Series(num, step)) / Med(t.Series(den, step))
}

// Best is the least of a sorted series.
func Best(s []float64) float64 { return s[0] }

// Med is the median of a sorted series (the upper one of an even count).
func Med(s []float64) float64 { return s[len(s)/2] }

// Mean is the mean of a series.
func Mean(s []float64) float64 {
	var sum float64
	for _, v := range s {
		sum += v
	}
	return sum / float64(len(s))
}

// Report reports stat (Best, Med, Mean or the caller's own) of every
// side's sorted times of a step, times scale, under the metric name format
// with the side's name for its %s: e.g. Med, 1e3/batch and
// "%s-med-ms/img". Sides without that step are passed over.
func (t Times) Report(b *testing.B, step int, stat func(sorted []float64) float64, scale float64, format string) {
	for j, name := range t.Names {
		if step >= len(t.Times[j]) {
			continue
		}
		b.ReportMetric(stat(t.Series(j, step))*scale, fmt.Sprintf(format, name))
	}
}

// ReportRate reports work over stat (Best, Med, ...) of every side's
// sorted times of a step, under the metric name format with the side's
// name for its %s: e.g. Med, macs/1e9 and "med-GMAC/s-%s". Sides without
// that step are passed over.
func (t Times) ReportRate(b *testing.B, step int, stat func(sorted []float64) float64, work float64, format string) {
	for j, name := range t.Names {
		if step >= len(t.Times[j]) {
			continue
		}
		b.ReportMetric(work/stat(t.Series(j, step)), fmt.Sprintf(format, name))
	}
}

// Total is the sorted per-round sums of one side's steps (Run and Next
// together).
func (t Times) Total(side int) []float64 {
	steps := t.Times[side]
	s := slices.Clone(steps[0])
	for _, st := range steps[1:] {
		for i := range s {
			s[i] += st[i]
		}
	}
	slices.Sort(s)
	return s
}

// ReportQuartiles reports the first quartile, the median and the third
// quartile of sorted ratios as "NAME-q1", "NAME-med" and "NAME-q3".
func ReportQuartiles(b *testing.B, ratios []float64, name string) {
	b.ReportMetric(ratios[len(ratios)/4], name+"-q1")
	b.ReportMetric(Med(ratios), name+"-med")
	b.ReportMetric(ratios[3*len(ratios)/4], name+"-q3")
}
