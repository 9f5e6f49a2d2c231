package kernels

import (
	"runtime"
	"testing"
	"time"
)

// TestPeakMACs: the measured peak is positive on a SIMD path and at least
// what one multiply-add per nanosecond would give (a loose floor that a
// broken loop or timer would miss).
func TestPeakMACs(t *testing.T) {
	p := PeakMACs(50 * time.Millisecond)
	if Path() == "generic" {
		if p != 0 {
			t.Fatalf("generic path: peak %g, want 0", p)
		}
		return
	}
	if p < 1e9 {
		t.Fatalf("%s peak %.3g multiply-adds/s, want at least 1e9", Path(), p)
	}
	t.Logf("%s peak %.3g multiply-adds/s per core", Path(), p)
}

// TestThreadCPUCountsOnlyRunning: the clock PeakMACs times its chunks with
// must not advance while the thread waits (as a preempted chunk's thread
// does), and must advance while it computes.
func TestThreadCPUCountsOnlyRunning(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0, ok := ThreadCPU()
	if !ok {
		if runtime.GOOS == "linux" {
			t.Fatal("no thread CPU clock on linux")
		}
		t.Skipf("no thread CPU clock on %s: PeakMACs times with the wall clock", runtime.GOOS)
	}
	time.Sleep(100 * time.Millisecond)
	c1, _ := ThreadCPU()
	if d := c1 - c0; d > 20*time.Millisecond {
		t.Fatalf("thread CPU clock advanced %v over a 100ms sleep", d)
	}
	x := 1.0
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
		for i := 0; i < 1000; i++ {
			x = x*1.0000001 + 1e-9
		}
	}
	c2, _ := ThreadCPU()
	if c2 <= c1 {
		t.Fatalf("thread CPU clock did not advance over 50ms of computing (%v → %v, %g)", c1, c2, x)
	}
}
