package abbench

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

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

// TestAlternate runs the harness over three sides that log their calls
// and checks the warm-up, the rotation of the order round by round, that
// Setup and Done run around every run (Done told which run was the
// warm-up), that only Run and Next are timed and each apart, and the
// reported metrics' names.
func TestAlternate(t *testing.T) {
	const rounds = 12
	const nap = 2 * time.Millisecond
	var log []string
	side := func(name string) Side {
		return Side{
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
	var times Times
	var res testing.BenchmarkResult
	withBenchtime(t, fmt.Sprintf("%dx", rounds), func() {
		res = testing.Benchmark(func(b *testing.B) {
			log = nil
			times = Alternate(b, Wall, a, bb, c)
			times.Report(b, 0, Med, 1e6, "%s-med-us")
			times.Report(b, 1, Best, 1e6, "%s-best-us")
			b.ReportMetric(Med(times.Ratios(0, 1, 0)), "speedup-med")
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
	if med := Med(times.Series(0, 0)); med >= nap.Seconds() {
		t.Errorf("A's median %v s counts its untimed setup or done", med)
	}
	if best := Best(times.Series(1, 0)); best < nap.Seconds() {
		t.Errorf("B's fastest run %v s is shorter than its %v sleep", best, nap)
	}
	if med := Med(times.Series(2, 0)); med >= nap.Seconds() {
		t.Errorf("C's run's median %v s counts its second step", med)
	}
	if best := Best(times.Series(2, 1)); best < nap.Seconds() {
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

// TestAlternateCPUClocks checks that the CPU clocks do not count a
// sleep, which the wall clock does.
func TestAlternateCPUClocks(t *testing.T) {
	if !ThreadCPU.Available() || !ProcessCPU.Available() {
		t.Skip("no CPU clocks on this platform")
	}
	const nap = 3 * time.Millisecond
	for _, c := range []struct {
		name  string
		clock Clock
		slept bool
	}{{"wall", Wall, true}, {"thread", ThreadCPU, false}, {"process", ProcessCPU, false}} {
		t.Run(c.name, func(t *testing.T) {
			var times Times
			withBenchtime(t, "5x", func() {
				testing.Benchmark(func(b *testing.B) {
					times = Alternate(b, c.clock, Side{Name: "sleep", Run: func() { time.Sleep(nap) }})
				})
			})
			if len(times.Times) != 1 || len(times.Times[0][0]) != 5 {
				t.Fatalf("times %v", times.Times)
			}
			// Sleeping costs the process far less CPU than its length,
			// other goroutines (the runtime's) included.
			if med := Med(times.Series(0, 0)); (med >= nap.Seconds()) != c.slept {
				t.Errorf("median %v s of a %v sleep", med, nap)
			}
		})
	}
}

// TestTimesRatios checks the per-round ratios and the statistics on a
// series of known times.
func TestTimesRatios(t *testing.T) {
	tm := Times{Names: []string{"new", "old"}, Times: [][][]float64{
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
	if Best(s) != 2 || Med(s) != 3 || Mean(s) != 3 {
		t.Errorf("best %v, median %v, mean %v of %v", Best(s), Med(s), Mean(s), s)
	}
	// Medians 3 (old) and 2 (new): a ratio of medians, not the median
	// per-round ratio (2).
	if got := tm.MedRatio(0, 1, 0); got != 1.5 {
		t.Errorf("MedRatio old/new %v, want 1.5", got)
	}
}

// TestTimesRatesTotals checks ReportRate's rates and names and Total's
// per-round sums of both steps.
func TestTimesRatesTotals(t *testing.T) {
	tm := Times{Names: []string{"one", "two"}, Times: [][][]float64{
		{{4, 1, 2}},
		{{1, 2, 3}, {5, 1, 1}},
	}}
	if got, want := tm.Total(1), []float64{3, 4, 6}; !slices.Equal(got, want) {
		t.Errorf("totals %v, want %v", got, want)
	}
	if got, want := tm.Total(0), []float64{1, 2, 4}; !slices.Equal(got, want) {
		t.Errorf("one step's totals %v, want %v", got, want)
	}
	var res testing.BenchmarkResult
	withBenchtime(t, "1x", func() {
		res = testing.Benchmark(func(b *testing.B) {
			for b.Loop() {
			}
			tm.ReportRate(b, 0, Med, 8, "med-rate-%s")
			tm.ReportRate(b, 1, Best, 8, "best-rate2-%s")
		})
	})
	want := map[string]float64{"med-rate-one": 4, "med-rate-two": 4, "best-rate2-two": 8}
	for name, v := range want {
		if got, ok := res.Extra[name]; !ok || got != v {
			t.Errorf("%s = %v (reported %v), want %v", name, got, ok, v)
		}
	}
	if _, ok := res.Extra["best-rate2-one"]; ok {
		t.Errorf("side one has no second step but reported a rate: %v", res.Extra)
	}
}

// TestSpeedup checks that Speedup alternates its two sides on the wall
// clock and reports old's time over new's: a side that sleeps twice as
// long as the other is about twice as slow.
func TestSpeedup(t *testing.T) {
	const nap = 4 * time.Millisecond
	var order []string
	var times Times
	var res testing.BenchmarkResult
	withBenchtime(t, "6x", func() {
		res = testing.Benchmark(func(b *testing.B) {
			order = nil
			times = Speedup(b,
				func() { order = append(order, "old"); time.Sleep(2 * nap) },
				func() { order = append(order, "new"); time.Sleep(nap) })
		})
	})
	if !slices.Equal(times.Names, []string{"old", "new"}) {
		t.Fatalf("names %v", times.Names)
	}
	// Warm-up, then the order swapped every round.
	want := []string{"old", "new"}
	for i := range 6 {
		if i%2 == 0 {
			want = append(want, "old", "new")
		} else {
			want = append(want, "new", "old")
		}
	}
	if !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	if s, ok := res.Extra["speedup"]; !ok || s < 1.3 || s > 3 {
		t.Errorf("speedup %v (reported %v) of a 2:1 sleep", s, ok)
	}
}

// TestClockNames checks the clocks' names (the skip message quotes them)
// and that the wall clock is always there.
func TestClockNames(t *testing.T) {
	for c, want := range map[Clock]string{Wall: "wall", ThreadCPU: "thread-cpu", ProcessCPU: "process-cpu", Clock(7): "Clock(7)"} {
		if got := c.String(); got != want {
			t.Errorf("%d: %q, want %q", int(c), got, want)
		}
	}
	if !Wall.Available() || Clock(7).Available() {
		t.Error("the wall clock is missing or an unknown clock is available")
	}
}
