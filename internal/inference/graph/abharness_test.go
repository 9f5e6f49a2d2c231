package graph

import (
	"flag"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// The A/B harness: the package's benchmarks that compare settings "run by
// run" (the house way of measuring on a shared, noisy machine) all time
// their runs through ABAlternate and report from its ABTimes. It is
// exported so that the external package's model benchmarks (graph_test)
// share it with the internal kernel-level ones; it exists only in tests.

// ABClock is the clock an A/B benchmark times its runs by.
type ABClock int

const (
	// ABWall is the wall clock: what a caller waits, helper threads
	// included.
	ABWall ABClock = iota
	// ABThreadCPU is the CPU time of the benchmark's own thread (the
	// goroutine is locked to it for the run): steadier than the wall
	// clock on a loaded machine, blind to other threads' work.
	ABThreadCPU
	// ABProcessCPU is the CPU time of all the process's threads: a
	// multi-threaded run's work, blind to other processes' time.
	ABProcessCPU
)

// processCPU is the user and system CPU time all threads of the process
// have used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ABSide is one of the settings an A/B benchmark compares.
type ABSide struct {
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

// ABTimes holds the seconds of an A/B benchmark's measured runs:
// Times[side][step][round], in the order the rounds ran (step 0 is Run,
// step 1 Next).
type ABTimes struct {
	Names []string
	Times [][][]float64
}

// ABAlternate runs the sides once each to warm up (workspaces, pages),
// then, for every b.Loop iteration, one round in which every side runs
// once, the order rotated round by round (side (j+i) mod n runs j-th in
// round i; with two sides the order swaps every pair), so that all of
// them meet the same load. Each timed step is measured with the clock.
func ABAlternate(b *testing.B, clock ABClock, sides ...ABSide) ABTimes {
	b.Helper()
	if len(sides) == 0 {
		b.Fatal("ABAlternate: no sides")
	}
	if clock == ABThreadCPU {
		if _, ok := kernels.ThreadCPU(); !ok {
			b.Skip("no thread CPU clock on this platform")
		}
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	base := time.Now()
	now := func() time.Duration {
		switch clock {
		case ABThreadCPU:
			t, _ := kernels.ThreadCPU()
			return t
		case ABProcessCPU:
			return processCPU()
		}
		return time.Since(base) // monotonic
	}
	t := ABTimes{Names: make([]string, len(sides)), Times: make([][][]float64, len(sides))}
	for i, s := range sides {
		if s.Run == nil {
			b.Fatalf("ABAlternate: side %q has no Run", s.Name)
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

// Series is a sorted copy of the times of one side's step.
func (t ABTimes) Series(side, step int) []float64 {
	s := slices.Clone(t.Times[side][step])
	slices.Sort(s)
	return s
}

// Ratios is the sorted per-round ratios of side num's time of a step over
// side den's: above 1 where den is faster.
func (t ABTimes) Ratios(step, num, den int) []float64 {
	n, d := t.Times[num][step], t.Times[den][step]
	r := make([]float64, len(n))
	for i := range n {
		r[i] = n[i] / d[i]
	}
	slices.Sort(r)
	return r
}

// ABBest is the least of a sorted series.
func ABBest(s []float64) float64 { return s[0] }

// ABMed is the median of a sorted series (the upper one of an even count).
func ABMed(s []float64) float64 { return s[len(s)/2] }

// ABMean is the mean of a series.
func ABMean(s []float64) float64 {
	var sum float64
	for _, v := range s {
		sum += v
	}
	return sum / float64(len(s))
}

// Report reports stat (ABBest, ABMed, ABMean or the caller's own) of every
// side's sorted times of a step, times scale, under the metric name format
// with the side's name for its %s: e.g. ABMed, 1e3/batch and
// "%s-med-ms/img". Sides without that step are passed over.
func (t ABTimes) Report(b *testing.B, step int, stat func(sorted []float64) float64, scale float64, format string) {
	for j, name := range t.Names {
		if step >= len(t.Times[j]) {
			continue
		}
		b.ReportMetric(stat(t.Series(j, step))*scale, fmt.Sprintf(format, name))
	}
}

// ABReportQuartiles reports the first quartile, the median and the third
// quartile of sorted ratios as "NAME-q1", "NAME-med" and "NAME-q3".
func ABReportQuartiles(b *testing.B, ratios []float64, name string) {
	b.ReportMetric(ratios[len(ratios)/4], name+"-q1")
	b.ReportMetric(ABMed(ratios), name+"-med")
	b.ReportMetric(ratios[3*len(ratios)/4], name+"-q3")
}

// ABModelSide is the A/B side name that runs m on the batch images in
// into out, after setup (when not nil).
func ABModelSide(b *testing.B, name string, m *Model, batch int, in, out []float32, setup func()) ABSide {
	return ABSide{Name: name, Setup: setup, Run: func() {
		if err := m.Run(in, batch, out); err != nil {
			b.Fatal(err)
		}
	}}
}

// withBenchtime runs f with -test.benchtime set to v (for testing.Benchmark
// in a test) and puts the flag back.
func withBenchtime(t *testing.T, v string, f func()) {
	t.Helper()
	fl := flag.Lookup("test.benchtime")
	if fl == nil {
		t.Fatal("no test.benchtime flag")
	}
	saved := fl.Value.String()
	if err := fl.Value.Set(v); err != nil {
		t.Fatal(err)
	}
	defer fl.Value.Set(saved)
	f()
}

// TestABAlternate runs the harness over three sides that log their calls
// and checks the warm-up, the rotation of the order round by round, that
// Setup and Done run around every run (Done told which run was the
// warm-up), that only Run and Next are timed and each apart, and the
// reported metrics' names.
func TestABAlternate(t *testing.T) {
	const rounds = 12
	const nap = 2 * time.Millisecond
	var log []string
	side := func(name string) ABSide {
		return ABSide{
			Name:  name,
			Setup: func() { log = append(log, "setup"+name) },
			Run:   func() { log = append(log, name) },
			Done: func(warm bool) {
				log = append(log, fmt.Sprintf("done%s%v", name, warm))
			},
		}
	}
	a, bb, c := side("A"), side("B"), side("C")
	// Untimed: A's setup and done; timed: B's run and C's second step.
	a.Setup = func() { log = append(log, "setupA"); time.Sleep(nap) }
	a.Done = func(warm bool) { log = append(log, fmt.Sprintf("doneA%v", warm)); time.Sleep(nap) }
	bb.Run = func() { log = append(log, "B"); time.Sleep(nap) }
	c.Next = func() { log = append(log, "C2"); time.Sleep(nap) }
	var times ABTimes
	var res testing.BenchmarkResult
	withBenchtime(t, fmt.Sprintf("%dx", rounds), func() {
		res = testing.Benchmark(func(b *testing.B) {
			log = nil
			times = ABAlternate(b, ABWall, a, bb, c)
			times.Report(b, 0, ABMed, 1e6, "%s-med-us")
			times.Report(b, 1, ABBest, 1e6, "%s-best-us")
			b.ReportMetric(ABMed(times.Ratios(0, 1, 0)), "speedup-med")
		})
	})
	calls := map[string][]string{
		"A": {"setupA", "A", "doneA"},
		"B": {"setupB", "B", "doneB"},
		"C": {"setupC", "C", "C2", "doneC"},
	}
	var want []string
	run := func(name string, warm bool) {
		for _, s := range calls[name] {
			if strings.HasPrefix(s, "done") {
				s += fmt.Sprint(warm)
			}
			want = append(want, s)
		}
	}
	for _, n := range []string{"A", "B", "C"} {
		run(n, true)
	}
	for i := range rounds {
		for j := range 3 {
			run([]string{"A", "B", "C"}[(j+i)%3], false)
		}
	}
	if !slices.Equal(log, want) {
		t.Fatalf("calls:\n%v\nwant:\n%v", log, want)
	}
	if !slices.Equal(times.Names, []string{"A", "B", "C"}) {
		t.Fatalf("names %v", times.Names)
	}
	for j, steps := range []int{1, 1, 2} {
		if len(times.Times[j]) != steps {
			t.Fatalf("side %d: %d steps, want %d", j, len(times.Times[j]), steps)
		}
		for s := range steps {
			if n := len(times.Times[j][s]); n != rounds {
				t.Fatalf("side %d step %d: %d times, want %d", j, s, n, rounds)
			}
		}
	}
	// A's setup and done sleep untimed; B's run and C's Next sleep timed.
	if med := ABMed(times.Series(0, 0)); med >= nap.Seconds() {
		t.Errorf("A's median %v s counts its untimed setup or done", med)
	}
	if best := ABBest(times.Series(1, 0)); best < nap.Seconds() {
		t.Errorf("B's fastest run %v s is shorter than its %v sleep", best, nap)
	}
	if med := ABMed(times.Series(2, 0)); med >= nap.Seconds() {
		t.Errorf("C's run's median %v s counts its second step", med)
	}
	if best := ABBest(times.Series(2, 1)); best < nap.Seconds() {
		t.Errorf("C's second step %v s is shorter than its %v sleep", best, nap)
	}
	for _, m := range []string{"A-med-us", "B-med-us", "C-med-us", "C-best-us", "speedup-med"} {
		if _, ok := res.Extra[m]; !ok {
			t.Errorf("metric %q not reported: %v", m, res.Extra)
		}
	}
	if _, ok := res.Extra["A-best-us"]; ok {
		t.Errorf("A has no second step but reported one: %v", res.Extra)
	}
}

// TestABAlternateCPUClocks checks that the CPU clocks do not count a
// sleep, which the wall clock does.
func TestABAlternateCPUClocks(t *testing.T) {
	if _, ok := kernels.ThreadCPU(); !ok {
		t.Skip("no thread CPU clock on this platform")
	}
	const nap = 3 * time.Millisecond
	for _, c := range []struct {
		name  string
		clock ABClock
		slept bool
	}{{"wall", ABWall, true}, {"thread", ABThreadCPU, false}, {"process", ABProcessCPU, false}} {
		t.Run(c.name, func(t *testing.T) {
			var times ABTimes
			withBenchtime(t, "5x", func() {
				testing.Benchmark(func(b *testing.B) {
					times = ABAlternate(b, c.clock, ABSide{Name: "sleep", Run: func() { time.Sleep(nap) }})
				})
			})
			if len(times.Times) != 1 || len(times.Times[0][0]) != 5 {
				t.Fatalf("times %v", times.Times)
			}
			// Sleeping costs the process far less CPU than its length,
			// other goroutines (the runtime's) included.
			if med := ABMed(times.Series(0, 0)); (med >= nap.Seconds()) != c.slept {
				t.Errorf("median %v s of a %v sleep", med, nap)
			}
		})
	}
}

// TestABTimesRatios checks the per-round ratios and the statistics on a
// series of known times.
func TestABTimesRatios(t *testing.T) {
	tm := ABTimes{Names: []string{"new", "old"}, Times: [][][]float64{
		{{1, 2, 4, 1, 2}},
		{{3, 2, 2, 4, 4}},
	}}
	if got, want := tm.Ratios(0, 1, 0), []float64{0.5, 1, 2, 3, 4}; !slices.Equal(got, want) {
		t.Errorf("old/new %v, want %v", got, want)
	}
	if got, want := tm.Series(0, 0), []float64{1, 1, 2, 2, 4}; !slices.Equal(got, want) {
		t.Errorf("series %v, want %v", got, want)
	}
	if tm.Times[0][0][2] != 4 {
		t.Error("Series sorted the times in place")
	}
	s := tm.Series(1, 0)
	if ABBest(s) != 2 || ABMed(s) != 3 || ABMean(s) != 3 {
		t.Errorf("best %v, median %v, mean %v of %v", ABBest(s), ABMed(s), ABMean(s), s)
	}
}
