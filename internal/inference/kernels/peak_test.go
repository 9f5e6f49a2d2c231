package kernels

import (
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
