// Package kernels holds the compute kernels of the inference engine: a
// packed float32 GEMM with fused bias, bounds, HARD_SWISH and residual
// (1x1 convolutions, fully connected layers, and general convolutions after
// a row gather, or, for the RGB stem, over window rows read in place:
// GemmSegs), a few-row GEMV, direct depthwise convolutions, and their
// int8 counterparts with TFLite's requantization. A portable Go path always
// builds; on amd64 AVX2+FMA, AVX-512 (with VNNI) and AMX assembly paths are
// chosen at run time from what the CPU and the operating system allow.
package kernels

import (
	"fmt"
	"math"
	"os"
	"unsafe"
)

// The CSPIPE_KERNELS environment variable caps the instruction set the
// kernels use: "generic" (portable Go only), "avx2" (no AVX-512) or
// "avx512" (no AMX tiles; read in int8amx_amd64.go). It is
// read once at start-up, for comparing paths in tests and benchmarks; the
// default is the best the CPU supports.
func init() {
	switch os.Getenv("CSPIPE_KERNELS") {
	case "generic":
		hasAVX2FMA, hasAVX512 = false, false
	case "avx2":
		hasAVX512 = false
	}
}

// CapHonoured reads CSPIPE_KERNELS again and reports an error when Path
// uses more than it allows. Each engine package's tests call it: go test
// keys its cache on the environment variables a test run reads, and the
// read in init comes before it records them, so without a read during
// the run a capped "go test" could print an uncapped run's cached result.
func CapHonoured() error {
	capped := os.Getenv("CSPIPE_KERNELS")
	switch p := Path(); {
	case capped == "generic" && p != "generic", capped == "avx2" && p == "avx512":
		return fmt.Errorf("kernels: CSPIPE_KERNELS=%s but the kernels in use are %s", capped, p)
	}
	return nil
}

// Path names the kernels in use: "avx512", "avx2" or "generic".
func Path() string {
	switch {
	case hasAVX512:
		return "avx512"
	case hasAVX2FMA:
		return "avx2"
	}
	return "generic"
}

// NR is the column width of a packed B panel for the portable and AVX2
// paths; the AVX-512 path packs panels of NR512 columns.
const (
	NR    = 16
	NR512 = 32
)

// MR is the number of A rows the micro-kernel handles at once.
const MR = 6

// PackedB is a K×N right-hand matrix stored as panels of nr columns, each
// panel K rows of nr floats, zero-padded past N. nr is fixed when packing,
// by the kernel the CPU will use.
type PackedB struct {
	K, N   int
	nr     int
	panels []float32
	bias   []float32 // bias padded to a multiple of nr
	// Weights to read ahead while b's GEMM runs, and the rows of their
	// GEMM (aheadNextRows) where b's runs aheadRows (SetReadAhead).
	next                     *PackedB
	aheadRows, aheadNextRows int
}

// PackB packs weights given as N rows of K (w[n*k+kk], the layout of TFLite
// conv filters and fully connected weights) and an optional bias of N.
func PackB(w []float32, n, k int, bias []float32) *PackedB {
	nr := NR
	if hasAVX512 && n > NR {
		// Narrow layers keep 16-wide panels: less zero padding to multiply.
		nr = NR512
	}
	np := (n + nr - 1) / nr
	p := &PackedB{K: k, N: n, nr: nr, panels: make([]float32, np*k*nr), bias: make([]float32, np*nr)}
	for j := 0; j < n; j++ {
		panel, col := j/nr, j%nr
		base := panel * k * nr
		for kk := 0; kk < k; kk++ {
			p.panels[base+kk*nr+col] = w[j*k+kk]
		}
	}
	copy(p.bias, bias)
	return p
}

// Activation bounds for fused activations.
var (
	NoClampLo = float32(math.Inf(-1))
	NoClampHi = float32(math.Inf(1))
)

// Act is what a GEMM applies to each output after adding the bias: the
// bounds [Lo, Hi], then, if HardSwish, x*min(max(x+3, 0), 6)/6 (rounded as
// HardSwish). The kernels apply it as they store a tile, so the output is
// written once.
//
// Res, when not nil, is a residual of the output's shape (rows LdRes floats
// apart, covering the same rows and columns as the output, and not
// overlapping it) added to each sum before the bounds: what a convolution
// followed by ADD of the residual, then the bounds, computes, in the same
// order.
type Act struct {
	Lo, Hi    float32
	HardSwish bool
	Res       []float32
	LdRes     int
}

// Gemm computes C[i][j] = clamp(sum_k A[i*lda+k]*B[k][j] + bias[j], lo, hi)
// for rows i in [0, m) and all N columns of b, writing C with row stride ldc.
func Gemm(m int, a []float32, lda int, b *PackedB, lo, hi float32, c []float32, ldc int) {
	GemmPanelsAct(m, a, lda, b, 0, b.Panels(), Act{Lo: lo, Hi: hi}, c, ldc)
}

// GemmAct is Gemm with the activation act applied to every output.
func GemmAct(m int, a []float32, lda int, b *PackedB, act Act, c []float32, ldc int) {
	GemmPanelsAct(m, a, lda, b, 0, b.Panels(), act, c, ldc)
}

// Panels returns the number of column panels of b; GemmPanels can split
// work across them.
func (b *PackedB) Panels() int { return (b.N + b.nr - 1) / b.nr }

// GemmPanels is Gemm restricted to column panels [p0, p1).
func GemmPanels(m int, a []float32, lda int, b *PackedB, p0, p1 int, lo, hi float32, c []float32, ldc int) {
	GemmPanelsAct(m, a, lda, b, p0, p1, Act{Lo: lo, Hi: hi}, c, ldc)
}

// checkGemm panics when a GEMM's operands are shorter than m rows of k
// (a, lda floats apart) and n (c, ldc apart) need, or act's residual is
// shorter than c's rows or overlaps c (partial sums go to c before the
// residual is read). Length checks rather than element reads: other
// goroutines may be writing other panels of c.
func checkGemm(m int, a []float32, lda, k, n int, act Act, c []float32, ldc int) {
	if len(a) < (m-1)*lda+k || len(c) < (m-1)*ldc+n {
		panic("kernels: GEMM operand shorter than its shape")
	}
	if act.Res != nil {
		if len(act.Res) < (m-1)*act.LdRes+n {
			panic("kernels: GEMM residual shorter than its shape")
		}
		if overlaps(act.Res, c) {
			panic("kernels: GEMM residual overlaps the output")
		}
	}
}

// GemmPanelsAct is GemmAct restricted to column panels [p0, p1).
func GemmPanelsAct(m int, a []float32, lda int, b *PackedB, p0, p1 int, act Act, c []float32, ldc int) {
	if m <= 0 || p0 >= p1 {
		return
	}
	checkGemm(m, a, lda, b.K, b.N, act, c, ldc)
	banded := b.nr == NR512 && hasAVX512 && bandedGemm
	avx2 := b.nr == NR && hasAVX2FMA && !hasAVX512 && avx2Blocked
	if act.Res != nil && !banded && !avx2 {
		// The other kernels have no residual epilogue: the sums, then
		// the residual and the bounds.
		gemmResidual(m, a, lda, b, p0, p1, act, c, ldc)
		return
	}
	switch {
	case act.Res == nil && b.nr == NR512 && hasAVX512 && gemvTakes(m):
		// The few-row kernel has no residual epilogue.
		gemv512(m, a, lda, b, p0, p1, act.Lo, act.Hi, act.HardSwish, c, ldc)
	case banded:
		gemmBanded512(m, a, lda, b, p0, p1, act.Lo, act.Hi, act.HardSwish, act.Res, act.LdRes, c, ldc)
	case b.nr == NR512 && hasAVX512:
		gemmPanels512(m, a, lda, b, p0, p1, act.Lo, act.Hi, act.HardSwish, c, ldc)
	case b.nr == NR && hasAVX512:
		gemmPanels512x16(m, a, lda, b, p0, p1, act.Lo, act.Hi, act.HardSwish, c, ldc)
	case act.Res == nil && b.nr == NR && hasAVX2FMA && gemvAVX2Takes(m): // gemvavx2_amd64.go
		gemvAVX2(m, a, lda, b, p0, p1, act.Lo, act.Hi, act.HardSwish, c, ldc)
	case avx2:
		gemmAVX2(m, a, lda, b, p0, p1, act.Lo, act.Hi, act.HardSwish, act.Res, act.LdRes, c, ldc)
	case b.nr == NR && hasAVX2FMA:
		gemmPanelsAVX2(m, a, lda, b, p0, p1, act.Lo, act.Hi, act.HardSwish, c, ldc)
	default:
		gemmGeneric(m, a, lda, b, p0, p1, act.Lo, act.Hi, act.HardSwish, c, ldc)
	}
}

// gemmResidual is GemmPanelsAct with a residual on a kernel without a
// residual epilogue: the sums into c, then row by row over the panels'
// columns the residual, the bounds and HARD_SWISH when asked.
func gemmResidual(m int, a []float32, lda int, b *PackedB, p0, p1 int, act Act, c []float32, ldc int) {
	GemmPanelsAct(m, a, lda, b, p0, p1, Act{Lo: NoClampLo, Hi: NoClampHi}, c, ldc)
	n0, n1 := p0*b.nr, min(p1*b.nr, b.N)
	for i := 0; i < m; i++ {
		row := c[i*ldc+n0 : i*ldc+n1]
		Add(row, row, act.Res[i*act.LdRes+n0:i*act.LdRes+n1])
		if act.Lo != NoClampLo || act.Hi != NoClampHi {
			Clamp(row, act.Lo, act.Hi)
		}
		if act.HardSwish {
			HardSwish(row)
		}
	}
}

// overlaps reports whether x and y share memory.
func overlaps(x, y []float32) bool {
	if len(x) == 0 || len(y) == 0 {
		return false
	}
	x0, y0 := uintptr(unsafe.Pointer(&x[0])), uintptr(unsafe.Pointer(&y[0]))
	return x0 < y0+uintptr(len(y))*4 && y0 < x0+uintptr(len(x))*4
}

func clamp(v, lo, hi float32) float32 {
	if v < lo {
		v = lo
	}
	if v > hi {
		v = hi
	}
	return v
}

// gemmGeneric is the portable path.
func gemmGeneric(m int, a []float32, lda int, b *PackedB, p0, p1 int, lo, hi float32, hs bool, c []float32, ldc int) {
	nr := b.nr
	acc := make([]float32, nr)
	for i := 0; i < m; i++ {
		arow := a[i*lda : i*lda+b.K]
		for panel := p0; panel < p1; panel++ {
			pb := b.panels[panel*b.K*nr : (panel+1)*b.K*nr]
			clear(acc)
			for kk, av := range arow {
				bp := pb[kk*nr : kk*nr+nr]
				for j := range acc {
					acc[j] += av * bp[j]
				}
			}
			n0 := panel * nr
			cols := min(nr, b.N-n0)
			crow := c[i*ldc+n0 : i*ldc+n0+cols]
			for j := range crow {
				v := clamp(acc[j]+b.bias[n0+j], lo, hi)
				if hs {
					v = v * min(max(v+3, 0), 6) / 6
				}
				crow[j] = v
			}
		}
	}
}
