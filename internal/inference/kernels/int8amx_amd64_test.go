//go:build amd64

package kernels

import (
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestAMXAvailable fails when a CPU with AMX-INT8 under Linux does not
// get the tiles (a broken permission request would otherwise quietly
// leave every GEMM on VNNI and the amx passes of the tests unrun).
func TestAMXAvailable(t *testing.T) {
	if !cpu.X86.HasAMXTile || !cpu.X86.HasAMXInt8 || runtime.GOOS != "linux" {
		t.Skip("no AMX-INT8 on this CPU and OS")
	}
	if os.Getenv("CSPIPE_KERNELS") != "" {
		t.Skip("CSPIPE_KERNELS caps the kernels")
	}
	if !hasAMX {
		t.Fatal("the CPU has AMX-INT8 but the tiles were not permitted")
	}
}
