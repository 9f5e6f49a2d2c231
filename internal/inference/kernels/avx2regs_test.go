package kernels

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAVX2KernelsUseOnlyVEXRegisters: the assembly kernels of the AVX2
// path (named ...AVX2, and the AVX2 GEMM tile gemm6x16) run on CPUs
// without AVX-512, so they may not name X16-X31, Y16-Y31, Z or K
// registers: those need an EVEX encoding, which raises SIGILL there. A CPU
// with AVX-512 runs such code happily, so CSPIPE_KERNELS=avx2 test runs
// here cannot catch it; this reads the source instead.
func TestAVX2KernelsUseOnlyVEXRegisters(t *testing.T) {
	files, err := filepath.Glob("*_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	evex := regexp.MustCompile(`\b([XY](1[6-9]|2[0-9]|3[01])|Z[0-9]+|K[0-7])\b`)
	text := regexp.MustCompile(`^TEXT\s+·(\w+)\(SB\)`)
	checked := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fn := ""
		for i, line := range strings.Split(string(src), "\n") {
			if m := text.FindStringSubmatch(line); m != nil {
				fn = m[1]
				if strings.Contains(fn, "AVX2") || fn == "gemm6x16" {
					checked++
				}
				continue
			}
			if !strings.Contains(fn, "AVX2") && fn != "gemm6x16" {
				continue
			}
			code, _, _ := strings.Cut(line, "//")
			if r := evex.FindString(code); r != "" {
				t.Errorf("%s:%d: %s uses %s, which only AVX-512 (EVEX) can encode: %s", f, i+1, fn, r, strings.TrimSpace(code))
			}
		}
	}
	if checked < 10 {
		t.Fatalf("found only %d AVX2 kernels to check", checked)
	}
}
