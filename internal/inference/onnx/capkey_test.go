package onnx

import (
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// TestKernelCap checks the kernels obey CSPIPE_KERNELS, and by reading it
// while the tests run makes it part of go test's cache key (see
// kernels.CapHonoured).
func TestKernelCap(t *testing.T) {
	if err := kernels.CapHonoured(); err != nil {
		t.Fatal(err)
	}
}
