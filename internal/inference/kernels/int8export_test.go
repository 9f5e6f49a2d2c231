package kernels

import "time"

// SetRQFast turns the Requant.tabF kernels on or off for a benchmark in
// package kernels_test (the toggle the package's own tests flip).
func SetRQFast(on bool) { hasRQFast = on }

// ThreadCPU is threadCPU for package kernels_test.
func ThreadCPU() (time.Duration, bool) { return threadCPU() }
