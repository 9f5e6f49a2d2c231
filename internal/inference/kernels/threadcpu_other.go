//go:build !linux

package kernels

import "time"

// threadCPU reports no per-thread clock off Linux; PeakMACs then times
// with the wall clock.
func threadCPU() (time.Duration, bool) { return 0, false }
