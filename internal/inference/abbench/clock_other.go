//go:build !linux

package abbench

import "time"

// threadCPU reports no per-thread clock off Linux (as kernels.ThreadCPU).
func threadCPU() (time.Duration, bool) { return 0, false }

// processCPU reports no process clock off Linux.
func processCPU() (time.Duration, bool) { return 0, false }
