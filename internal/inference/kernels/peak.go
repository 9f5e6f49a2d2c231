package kernels

import (
	"runtime"
	"time"
)

// PeakMACs measures the multiply-adds per second one core sustains with
// the widest FMA the selected path uses (16 lanes on avx512, 8 on avx2;
// the generic path reports 0), running for about d. It is the ceiling the
// benchmarks report the engine's share of.
//
// Each timed chunk runs on one locked OS thread and is timed with that
// thread's CPU clock where the system has one: a chunk preempted by another
// process would otherwise read as a slower core, and the share of a
// benchmark timed in CPU seconds would then come out above 100 %.
func PeakMACs(d time.Duration) float64 {
	var lanes int
	var loop func(int)
	switch {
	case hasAVX512:
		lanes, loop = 16, fmaLoop512
	case hasAVX2FMA:
		lanes, loop = 8, fmaLoopAVX2
	default:
		return 0
	}
	const chains = 12
	n := 1 << 16
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	best := 0.0
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		t0 := time.Now()
		c0, cpuOK := ThreadCPU()
		loop(n)
		sec := time.Since(t0).Seconds()
		if c1, ok := ThreadCPU(); ok && cpuOK && c1 > c0 {
			sec = (c1 - c0).Seconds()
		}
		if sec < 1e-3 {
			n *= 4
			continue
		}
		best = max(best, float64(n)*chains*float64(lanes)/sec)
	}
	return best
}
