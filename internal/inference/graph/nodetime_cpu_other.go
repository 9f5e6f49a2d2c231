//go:build !linux

package graph

import "time"

// threadCPU reports no per-thread CPU clock off Linux.
func threadCPU() (time.Duration, bool) { return 0, false }
