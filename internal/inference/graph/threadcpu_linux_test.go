package graph

import "golang.org/x/sys/unix"

// threadSeconds is the calling OS thread's CPU time (the caller locks its
// goroutine to the thread): time preempted by other processes does not
// count, so alternating benchmarks hold on a busy machine.
func threadSeconds() float64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return float64(ts.Nano()) / 1e9
}
