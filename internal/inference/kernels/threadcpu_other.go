//go:build !linux

package kernels

import "time"

// ThreadCPU reports no per-thread clock off Linux; PeakMACs (and the
// graph's node times) then use the wall clock.
func ThreadCPU() (time.Duration, bool) { return 0, false }
