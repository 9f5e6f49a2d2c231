//go:build amd64

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
	"golang.org/x/sys/cpu"
)

func needBF3(t testing.TB) {
	t.Helper()
	if !BF3Available() {
		t.Skip("no AMX-BF16 / AVX512_BF16 (or capped by CSPIPE_KERNELS)")
	}
}

// TestBF3Available fails when a CPU with AMX-BF16 and AVX512_BF16 under
// Linux does not get the bf16x3 kernels (the tests below would then skip).
func TestBF3Available(t *testing.T) {
	if !cpu.X86.HasAMXTile || !cpu.X86.HasAMXBF16 || !cpu.X86.HasAMXInt8 || !cpu.X86.HasAVX512BF16 || runtime.GOOS != "linux" {
		t.Skip("no AMX-BF16 on this CPU and OS")
	}
	if os.Getenv("CSPIPE_KERNELS") != "" {
		t.Skip("CSPIPE_KERNELS caps the kernels")
	}
	if !BF3Available() {
		t.Fatal("the CPU has AMX-BF16 but the bf16x3 kernels are off")
	}
}

// bf3Values are values the split must get right: zeros, signs, powers of
// two, the halfway points between bf16 neighbours (ties to even both ways)
// and values just either side of them, large and small magnitudes.
func bf3Values(rng *rand.Rand, n int) []float32 {
	v := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 0.5, 3, -7.25, 1e-30, -1e30, 65504, 1.0 / 3}
	for _, u := range []uint32{0x3f808000, 0x3f818000, 0xbf808000, 0x3f808001, 0x3f807fff, 0x40490fdb, 0x3f7fffff, 0x3f7f8000, 0x3f7f7fff} {
		v = append(v, math.Float32frombits(u))
	}
	for len(v) < n {
		x := float32(rng.Float64()*2-1) * float32(math.Ldexp(1, rng.IntN(17)-8))
		if rng.IntN(8) == 0 {
			// A tie: bit 15 set, the bits below clear.
			x = math.Float32frombits(math.Float32bits(x)&^0xffff | 0x8000)
		}
		v = append(v, x)
	}
	return v[:n]
}

// TestBF3SplitMatchesPack checks that the activation split (bf3Split,
// VCVTNEPS2BF16) gives the pieces the weight packing (splitBF3, in Go)
// gives, in the layout the tiles read, that the pieces add up to the value
// within 2^-24 of it, and that K past the last whole block reads zeros.
func TestBF3SplitMatchesPack(t *testing.T) {
	needBF3(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, k := range []int{32, 7, 45, 64, 100} {
		rows := 3
		kp := (k + 31) / 32 * 32
		lda := k + 5
		a := bf3Values(rng, rows*lda)
		dst := make([]uint16, rows*3*kp)
		for i := range dst {
			dst[i] = 0xffff
		}
		var masks uint32
		if r := k % 32; r != 0 {
			masks = 1<<r - 1
		}
		bf3Split(rows, k/32, &a[0], 4*lda, masks, &dst[0], 2*3*kp)
		for i := 0; i < rows; i++ {
			for kk := 0; kk < kp; kk++ {
				var x float32
				if kk < k {
					x = a[i*lda+kk]
				}
				hi, mid, lo := splitBF3(x)
				at := i*3*kp + kk/32*96 + kk%32
				got := [3]uint16{dst[at], dst[at+32], dst[at+64]}
				if got != [3]uint16{hi, mid, lo} {
					t.Fatalf("K=%d row %d k %d: %g (%#08x) split to %04x, want %04x %04x %04x",
						k, i, kk, x, math.Float32bits(x), got, hi, mid, lo)
				}
				if s := float64(bf16f(hi)) + float64(bf16f(mid)) + float64(bf16f(lo)); math.Abs(s-float64(x)) > math.Abs(float64(x))*0x1p-24 && math.Abs(float64(x)) > 1e-37 {
					t.Fatalf("%g: pieces sum to %g", x, s)
				}
			}
		}
	}
}

// TestBF16RNE pins the rounding of the weight split.
func TestBF16RNE(t *testing.T) {
	for _, c := range []struct {
		in  uint32
		out uint16
	}{
		{0x3f800000, 0x3f80}, {0x3f808000, 0x3f80}, {0x3f818000, 0x3f82}, {0x3f808001, 0x3f81},
		{0x3f807fff, 0x3f80}, {0xbf818000, 0xbf82}, {0x7f7fffff, 0x7f80}, {0x00400000, 0x0000},
		{0x80400000, 0x8000}, {0x7fc00000, 0x7fc0},
	} {
		if got := bf16RNE(math.Float32frombits(c.in)); got != c.out {
			t.Errorf("bf16RNE(%#08x) = %#04x, want %#04x", c.in, got, c.out)
		}
	}
}

// TestGemmBF3AllProducts fails if any of the six piece products is
// dropped or misplaced: every A value is ±2^e(1+2^-9+2^-18) and every B
// value ±2^e(1+2^-10+2^-20), whose pieces are those three powers of two,
// so the six products are 1, 2^-10, 2^-9, 2^-19, 2^-20 and 2^-18 of the
// leading one and their sum is exact in fp32, and equals the fp32
// rounding of the true product. Row i of A has its one value at k = i%K,
// so every k position of every block (both halves of each pair of k) is
// checked against every channel of every panel.
func TestGemmBF3AllProducts(t *testing.T) {
	needBF3(t)
	rng := rand.New(rand.NewPCG(3, 4))
	av := float32(1 + 0x1p-9 + 0x1p-18)
	bv := float32(1 + 0x1p-10 + 0x1p-20)
	var w BF3Work
	for _, sh := range [][3]int{{64, 64, 40}, {96, 96, 70}, {16, 32, 16}, {40, 40, 33}} {
		m, k, n := sh[0], sh[1], sh[2]
		a := make([]float32, m*k)
		for i := 0; i < m; i++ {
			a[i*k+i%k] = av * float32(math.Ldexp(1, rng.IntN(9)-4)) * float32(1-2*rng.IntN(2))
		}
		wt := make([]float32, n*k)
		for j := range wt {
			wt[j] = bv * float32(math.Ldexp(1, rng.IntN(9)-4)) * float32(1-2*rng.IntN(2))
		}
		b := PackBF3(wt, n, k, nil)
		c := make([]float32, m*n)
		GemmBF3Act(m, a, k, b, 0, b.Panels(), Act{Lo: NoClampLo, Hi: NoClampHi}, c, n, &w)
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				want := float32(float64(a[i*k+i%k]) * float64(wt[j*k+i%k]))
				if c[i*n+j] != want {
					t.Fatalf("%dx%dx%d: C[%d][%d] = %.10g, want %.10g (off by %.3g of it)", m, k, n, i, j, c[i*n+j], want, float64(c[i*n+j]-want)/float64(want))
				}
			}
		}
	}
}

// mixedMatrix is random data whose magnitudes span 2^-8 to 2^8, with
// about one value in 16 zero.
func mixedMatrix(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		if rng.IntN(16) == 0 {
			continue
		}
		v[i] = float32(rng.Float64()*2-1) * float32(math.Ldexp(1, rng.IntN(17)-8))
	}
	return v
}

// gemmErrors returns the largest error of c against the float64 product
// of a and w (N rows of K) plus bias, relative to the output (|ref| above
// a thousandth of the row's largest) and relative to sum |a||w| (the
// scale of fp32 rounding, which stays meaningful where terms cancel).
func gemmErrors(m, k, n int, a, w, bias, c []float32) (rel, norm float64) {
	for i := 0; i < m; i++ {
		ref := make([]float64, n)
		mag := make([]float64, n)
		big := 0.0
		for j := 0; j < n; j++ {
			s, q := float64(bias[j]), math.Abs(float64(bias[j]))
			for kk := 0; kk < k; kk++ {
				p := float64(a[i*k+kk]) * float64(w[j*k+kk])
				s += p
				q += math.Abs(p)
			}
			ref[j], mag[j] = s, q
			big = max(big, math.Abs(s))
		}
		for j := 0; j < n; j++ {
			d := math.Abs(float64(c[i*n+j]) - ref[j])
			if mag[j] > 0 {
				norm = max(norm, d/mag[j])
			}
			if math.Abs(ref[j]) > big*1e-3 {
				rel = max(rel, d/math.Abs(ref[j]))
			}
		}
	}
	return rel, norm
}

// TestGemmBF3Accuracy compares the bf16x3 GEMM and the fp32 AVX-512 GEMM
// on the same mixed-magnitude data with a float64 reference, over K from
// 32 to 1024 (and K, M, N off the block sizes): the bf16x3 errors must
// stay within twice the fp32 GEMM's (or 2^-21 of sum |a||w| and 2^-17 of
// the output, where the fp32 errors are smaller than those). A dropped
// mid*mid product measured 2e-6 to 7e-6 of sum |a||w| here.
func TestGemmBF3Accuracy(t *testing.T) {
	needBF3(t)
	rng := rand.New(rand.NewPCG(5, 6))
	var w BF3Work
	for _, sh := range [][3]int{
		{32, 32, 32}, {64, 64, 64}, {33, 100, 17}, {17, 1024, 48}, {64, 512, 96}, {5, 33, 1}, {48, 1024, 130}, {70, 256, 64}, {16, 31, 16},
	} {
		m, k, n := sh[0], sh[1], sh[2]
		a := mixedMatrix(rng, m*k)
		wt := mixedMatrix(rng, n*k)
		bias := mixedMatrix(rng, n)
		c3 := make([]float32, m*n)
		c1 := make([]float32, m*n)
		b3 := PackBF3(wt, n, k, bias)
		GemmBF3Act(m, a, k, b3, 0, b3.Panels(), Act{Lo: NoClampLo, Hi: NoClampHi}, c3, n, &w)
		GemmAct(m, a, k, PackB(wt, n, k, bias), Act{Lo: NoClampLo, Hi: NoClampHi}, c1, n)
		rel3, norm3 := gemmErrors(m, k, n, a, wt, bias, c3)
		rel1, norm1 := gemmErrors(m, k, n, a, wt, bias, c1)
		t.Logf("%dx%dx%d: bf16x3 max rel %.3g norm %.3g; fp32 max rel %.3g norm %.3g", m, k, n, rel3, norm3, rel1, norm1)
		// The tiles' own accumulation rounds a little coarser than FMA
		// chains at small K (near 2^-22 of sum |a||w|), finer at large K.
		if norm3 > max(2*norm1, 0x1p-21) || rel3 > max(2*rel1, 0x1p-17) {
			t.Errorf("%dx%dx%d: bf16x3 errors (rel %.3g, norm %.3g) beyond the fp32 GEMM's (rel %.3g, norm %.3g)", m, k, n, rel3, norm3, rel1, norm1)
		}
	}
}

// TestGemmBF3RowsAndHalves runs row counts around the tile blocks (32,
// 16, and the last few rows on the fp32 Fallback) and last panels whose
// second half is padding (N of 40 and 100, the half kernels; and with them
// switched off), each within the accuracy test's bound on sum |a||w|;
// the Fallback rows
// must come out as the fp32 GEMM's bits.
func TestGemmBF3RowsAndHalves(t *testing.T) {
	needBF3(t)
	defer func(h bool) { bf3HalfPanels = h }(bf3HalfPanels)
	rng := rand.New(rand.NewPCG(13, 14))
	var w BF3Work
	for _, n := range []int{40, 100} {
		k := 96
		wt := mixedMatrix(rng, n*k)
		bias := mixedMatrix(rng, n)
		b1 := PackB(wt, n, k, bias)
		for _, halves := range []bool{true, false} {
			bf3HalfPanels = halves
			b3 := PackBF3(wt, n, k, bias)
			b3.Fallback = b1
			for _, m := range []int{1, 7, 8, 15, 16, 17, 24, 25, 31, 33, 39, 40, 49, 57} {
				a := mixedMatrix(rng, m*k)
				c3 := make([]float32, m*n)
				c1 := make([]float32, m*n)
				act := Act{Lo: NoClampLo, Hi: NoClampHi}
				GemmBF3Act(m, a, k, b3, 0, b3.Panels(), act, c3, n, &w)
				GemmAct(m, a, k, b1, act, c1, n)
				// Against sum |a||w| only: on these few outputs the largest
				// error relative to the output swings with single cancelling
				// sums (TestGemmBF3Accuracy bounds it on larger ones).
				_, norm3 := gemmErrors(m, k, n, a, wt, bias, c3)
				_, norm1 := gemmErrors(m, k, n, a, wt, bias, c1)
				if norm3 > max(2*norm1, 0x1p-21) {
					t.Errorf("N=%d halves %v m=%d: error %.3g of sum |a||w|, fp32 %.3g", n, halves, m, norm3, norm1)
				}
				// The rows after the tile blocks.
				r0 := 0
				for bf3BlockRows(m-r0) != 0 {
					r0 += min(bf3BlockRows(m-r0), m-r0)
				}
				for i := r0 * n; i < m*n; i++ {
					if c3[i] != c1[i] {
						t.Fatalf("N=%d m=%d: fallback row %d: %g, fp32 GEMM %g", n, m, i/n, c3[i], c1[i])
					}
				}
			}
		}
	}
}

// TestGemmBF3Epilogue checks bias, residual, bounds and HARD_SWISH and a
// range of panels: the columns outside it and the padding past N stay
// untouched, the rest match the fp32 GEMM's within fp32 rounding.
func TestGemmBF3Epilogue(t *testing.T) {
	needBF3(t)
	rng := rand.New(rand.NewPCG(7, 8))
	var w BF3Work
	m, k, n := 37, 72, 100
	a := mixedMatrix(rng, m*k)
	wt := mixedMatrix(rng, n*k)
	bias := mixedMatrix(rng, n)
	res := mixedMatrix(rng, m*n)
	b3 := PackBF3(wt, n, k, bias)
	b1 := PackB(wt, n, k, bias)
	for _, act := range []Act{
		{Lo: -3, Hi: 5},
		{Lo: 0, Hi: NoClampHi, Res: res, LdRes: n},
		{Lo: NoClampLo, Hi: NoClampHi, HardSwish: true},
	} {
		for _, pr := range [][2]int{{0, 4}, {1, 3}, {3, 4}} {
			ldc := n + 3
			c3 := make([]float32, m*ldc)
			c1 := make([]float32, m*ldc)
			for i := range c3 {
				c3[i], c1[i] = -99, -99
			}
			GemmBF3Act(m, a, k, b3, pr[0], pr[1], act, c3, ldc, &w)
			GemmAct(m, a, k, b1, act, c1, ldc)
			for i := 0; i < m; i++ {
				for j := 0; j < ldc; j++ {
					got := c3[i*ldc+j]
					if j < pr[0]*32 || j >= min(pr[1]*32, n) {
						if got != -99 {
							t.Fatalf("act %+v panels %v: C[%d][%d] written (%g) outside the panels", act.HardSwish, pr, i, j, got)
						}
						continue
					}
					want := c1[i*ldc+j]
					// Both within fp32 rounding of the sum of |a||w|.
					mag := math.Abs(float64(bias[j]))
					for kk := 0; kk < k; kk++ {
						mag += math.Abs(float64(a[i*k+kk]) * float64(wt[j*k+kk]))
					}
					if act.Res != nil {
						mag += math.Abs(float64(res[i*n+j]))
					}
					if d := math.Abs(float64(got - want)); d > 4e-6*mag {
						t.Fatalf("act lo %g hi %g hs %v res %v panels %v: C[%d][%d] = %g, fp32 GEMM %g",
							act.Lo, act.Hi, act.HardSwish, act.Res != nil, pr, i, j, got, want)
					}
				}
			}
		}
	}
}

// BenchmarkGemmBF3 runs the bf16x3 kernel and the AVX-512 fp32 GEMM on
// the same data, one call of each per iteration in alternating order,
// each timed on the thread's CPU clock, so that their ratio (fp32 time
// over bf16x3 time, median of the pairs) is measured under the same load.
func BenchmarkGemmBF3(b *testing.B) {
	needBF3(b)
	for _, sh := range [][3]int{{64, 512, 512}, {256, 256, 256}, {16, 1024, 1024}, {1024, 64, 128}, {49, 960, 160}, {196, 512, 512}, {32, 1024, 1024}} {
		m, k, n := sh[0], sh[1], sh[2]
		b.Run(fmt.Sprintf("%dx%dx%d", m, k, n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(9, 10))
			a := mixedMatrix(rng, m*k)
			wt := mixedMatrix(rng, n*k)
			b3 := PackBF3(wt, n, k, nil)
			b1 := PackB(wt, n, k, nil)
			c := make([]float32, m*n)
			var w BF3Work
			act := Act{Lo: NoClampLo, Hi: NoClampHi}
			t := abbench.Alternate(b, abbench.ThreadCPU,
				abbench.Side{Name: "bf16x3", Run: func() { GemmBF3Act(m, a, k, b3, 0, b3.Panels(), act, c, n, &w) }},
				abbench.Side{Name: "fp32", Run: func() { GemmAct(m, a, k, b1, act, c, n) }})
			t.Report(b, 0, abbench.Med, 1e6, "%s-us")
			t.ReportRate(b, 0, abbench.Med, float64(m*k*n)/1e9, "%s-GMAC/s")
			b.ReportMetric(abbench.Med(t.Ratios(0, 1, 0)), "speedup-med")
		})
	}
}
