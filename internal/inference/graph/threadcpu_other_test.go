//go:build !linux

package graph

import "time"

var wallStart = time.Now()

// threadSeconds falls back to the wall clock where the thread's CPU clock
// is not read.
func threadSeconds() float64 { return time.Since(wallStart).Seconds() }
