//go:build amd64

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// TestGemmSmallK checks GemmSmallK bit for bit against Gemm (and Gemm
// against the scalar reference within rounding) on shapes around the
// kernel's edges: rows not a multiple of six, fewer than six, K from 1 to
// 96 with odd tails, N of one to five panels (a single and a partial last
// panel), strided A and C, and bounds including none.
func TestGemmSmallK(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 13))
	inf := float32(math.Inf(1))
	for _, m := range []int{1, 5, 6, 7, 12, 13, 35, 96, 192} {
		for _, k := range []int{1, 3, 4, 16, 24, 32, 33, 64, 96} {
			for _, n := range []int{16, 24, 32, 40, 48, 64, 72, 80, 96, 120, 128, 144, 160} {
				for _, bounds := range [][2]float32{{0, 6}, {-inf, inf}, {-0.5, 0.25}} {
					lda, ldc := k+(m%3), n+16*(k%2)
					a := randSlice(rng, (m-1)*lda+k)
					w, bias := randSlice(rng, n*k), randSlice(rng, n)
					pb := PackB(w, n, k, bias)
					got := make([]float32, (m-1)*ldc+n)
					want := make([]float32, len(got))
					for i := range got {
						got[i], want[i] = float32(i), float32(i)
					}
					GemmSmallK(m, a, lda, pb, bounds[0], bounds[1], got, ldc)
					Gemm(m, a, lda, pb, bounds[0], bounds[1], want, ldc)
					if i := bitDiff(got, want); i >= 0 {
						t.Fatalf("m=%d k=%d n=%d bounds=%v: c[%d] = %v, Gemm %v", m, k, n, bounds, i, got[i], want[i])
					}
					ref := refGemm(m, n, k, a, lda, w, bias, bounds[0], bounds[1])
					checkRef(t, fmt.Sprintf("m=%d k=%d n=%d", m, k, n), m, n, got, ldc, ref)
					// Between the rows and past the columns, nothing is written.
					checkUntouched(t, fmt.Sprintf("m=%d k=%d n=%d", m, k, n), m, n, got, ldc)
				}
			}
		}
	}
}

// TestGemmSmallKEpilogue checks GemmSmallKAct's epilogues bit for bit
// against GemmAct (the banded GEMM's epilogue; Gemm, then the residual,
// bounds and HardSwish passes, where that one does not run) and within
// rounding against the scalar reference: HARD_SWISH, a residual (with a
// row stride of its own, wider or narrower than C's) and both, with and
// without bounds, on rows not a multiple of six, single and partial last
// panels, strided A and C, and sums whose HARD_SWISH product is below
// 2^-122 (the kernels' division path).
func TestGemmSmallKEpilogue(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 17))
	inf := float32(math.Inf(1))
	for _, m := range []int{1, 6, 7, 13, 35, 96} {
		for _, k := range []int{1, 5, 16, 40, 64, 80, 112, 160} {
			for _, n := range []int{16, 40, 64, 72, 120, 160, 256} {
				for _, ep := range []struct {
					hs, res bool
					lo, hi  float32
				}{
					{true, false, -inf, inf}, {true, false, 0, 6}, {false, true, -inf, inf},
					{false, true, 0, 6}, {true, true, -inf, inf}, {true, true, -1, 2},
				} {
					name := fmt.Sprintf("m=%d k=%d n=%d hs=%v res=%v bounds=[%v %v]", m, k, n, ep.hs, ep.res, ep.lo, ep.hi)
					lda, ldc := k+(m%3), n+16*(k%2)
					a := randSlice(rng, (m-1)*lda+k)
					for i := range a {
						a[i] *= 4 // sums over the whole of HARD_SWISH's curve
					}
					w, bias := randSlice(rng, n*k), randSlice(rng, n)
					if m == 7 {
						// Row 3 all zeros, tiny and signed-zero biases: the
						// products below 2^-122, and ±0.
						for j := 0; j < k; j++ {
							a[3*lda+j] = 0
						}
						for j := range bias {
							switch j % 8 {
							case 0:
								bias[j] = 0
							case 1:
								bias[j] = float32(math.Copysign(0, -1))
							default:
								bias[j] = float32(math.Ldexp(rng.Float64()-0.5, -118-j%32))
							}
						}
					}
					pb := PackB(w, n, k, bias)
					act := Act{Lo: ep.lo, Hi: ep.hi, HardSwish: ep.hs}
					var res []float32
					if ep.res {
						ldr := n + []int{0, 8, 48}[m%3]
						res = randSlice(rng, (m-1)*ldr+n)
						act.Res, act.LdRes = res, ldr
					}
					got := make([]float32, (m-1)*ldc+n)
					want := make([]float32, len(got))
					for i := range got {
						got[i], want[i] = float32(i), float32(i)
					}
					GemmSmallKAct(m, a, lda, pb, act, got, ldc)
					GemmAct(m, a, lda, pb, act, want, ldc)
					if i := bitDiff(got, want); i >= 0 {
						t.Fatalf("%s: c[%d] = %v, GemmAct %v", name, i, got[i], want[i])
					}
					ref := refGemm(m, n, k, a, lda, w, bias, -inf, inf)
					for i := 0; i < m; i++ {
						row := ref[i*n : (i+1)*n]
						if res != nil {
							for j := range row {
								row[j] += res[i*act.LdRes+j]
							}
						}
						for j := range row {
							row[j] = clamp(row[j], ep.lo, ep.hi)
							if ep.hs {
								x := row[j]
								row[j] = x * min(max(x+3, 0), 6) / 6
							}
						}
					}
					checkRef(t, name, m, n, got, ldc, ref)
					checkUntouched(t, name, m, n, got, ldc)
				}
			}
		}
	}
}

// checkRef compares the m×n outputs in c (rows ldc apart) with the
// reference ref (rows n apart) within float32 rounding of a sum.
func checkRef(t *testing.T, name string, m, n int, c []float32, ldc int, ref []float32) {
	t.Helper()
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			g, r := c[i*ldc+j], ref[i*n+j]
			if d := math.Abs(float64(g - r)); d > 1e-4*(1+math.Abs(float64(r))) {
				t.Fatalf("%s: c[%d][%d] = %v, reference %v", name, i, j, g, r)
			}
		}
	}
}

// checkUntouched fails if a column of c between the rows (past n, up to
// ldc) no longer holds its index, as the tests fill it.
func checkUntouched(t *testing.T, name string, m, n int, c []float32, ldc int) {
	t.Helper()
	for i := 0; i < m-1; i++ {
		for j := n; j < ldc; j++ {
			if c[i*ldc+j] != float32(i*ldc+j) {
				t.Fatalf("%s: c[%d][%d] past N written", name, i, j)
			}
		}
	}
}

// TestGemmSmallKTakes: SmallKFast takes weights packed in 32-column
// panels with AVX-512 (one pair, or one whole and one partial panel), not
// 16 columns (one 16-column panel).
func TestGemmSmallKTakes(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512: GemmSmallK is Gemm")
	}
	for _, n := range []int{64, 48} {
		if !SmallKFast(PackB(make([]float32, n*32), n, 32, nil)) {
			t.Fatalf("SmallKFast refuses 32x%d weights", n)
		}
	}
	if SmallKFast(PackB(make([]float32, 16*32), 16, 32, nil)) {
		t.Fatal("SmallKFast takes 16 columns")
	}
}

// bitDiff returns the first index where x and y differ in bits, or -1.
func bitDiff(x, y []float32) int {
	for i := range x {
		if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
			return i
		}
	}
	return -1
}

// BenchmarkGemmSmallK compares GemmSmallK ("smallk"; "pairs": panels after
// the last pair on GemmPanels, smallKSingle off; "noovl": rows below the
// last whole tile on GemmPanels, smallKOverlap off) with Gemm ("gemm")
// on the band GEMMs of MobileNets' fused depthwise+1x1 pairs (rows of one
// band, K 32/64, N 64/128, and K=128 for comparison), alternating in one
// loop, timed on the thread's CPU clock; the output either the same
// buffer every call ("hot", in L1/L2) or the next of copies filling 16 MB
// ("cold"), A and the weights hot as in the fused band. Reports the
// median call's GMAC/s of each and the median of the per-pair ratios.
func BenchmarkGemmSmallK(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512")
	}
	for _, s := range []struct{ m, k, n int }{
		{192, 32, 64}, {96, 64, 128}, {192, 64, 64}, {168, 16, 96}, {192, 128, 64}, {96, 128, 128},
		// Whole 1x1 layers (V2 1.0@128's expansions, one thread's half).
		{4096, 16, 96}, {1024, 24, 144}, {2048, 16, 96}, {256, 32, 192},
		// Output in L1.
		{48, 16, 64}, {48, 32, 64}, {48, 64, 64},
		{4092, 16, 64}, {4092, 32, 64},
		// Rows not a multiple of six (V2 1.0@224's 112- and 56-wide bands).
		{224, 32, 64}, {112, 24, 144}, {3136, 24, 144},
		// Larger K, for the thresholds.
		{96, 128, 256}, {96, 256, 256}, {64, 96, 576}, {256, 96, 576},
		// V2's projections after the depthwise: large K, narrow N.
		{96, 144, 24}, {96, 192, 32}, {64, 384, 64}, {64, 576, 96}, {96, 96, 24},
		// ResNet-50's 56x56 1x1 of K=64 (no residual), one image.
		{3136, 64, 64},
	} {
		for _, cold := range []bool{false, true} {
			name := fmt.Sprintf("%dx%dx%d/hot", s.m, s.k, s.n)
			if cold {
				name = fmt.Sprintf("%dx%dx%d/cold", s.m, s.k, s.n)
			}
			b.Run(name, func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				a := randSlice(rng, s.m*s.k)
				pb := PackB(randSlice(rng, s.n*s.k), s.n, s.k, randSlice(rng, s.n))
				cs := make([][]float32, 1)
				if cold {
					cs = make([][]float32, max(2, (16<<20)/(4*s.m*s.n)))
				}
				for i := range cs {
					cs[i] = make([]float32, s.m*s.n)
				}
				defer func(v, s, o bool) { smallK, smallKSingle, smallKOverlap = v, s, o }(smallK, smallKSingle, smallKOverlap)
				// Every round writes the next output copy, the same for
				// all its modes (Setup counts the runs).
				var c []float32
				runs := 0
				mode := func(name string, on, single, overlap bool) abbench.Side {
					return abbench.Side{Name: name, Setup: func() {
						c = cs[runs/4%len(cs)]
						runs++
						smallK, smallKSingle, smallKOverlap = on, single, overlap
					}, Run: func() { GemmSmallK(s.m, a, s.k, pb, 0, 6, c, s.n) }}
				}
				t := abbench.Alternate(b, abbench.ThreadCPU, mode("gemm", false, false, true),
					mode("pairs", true, false, true), mode("noovl", true, true, false), mode("smallk", true, true, true))
				t.ReportRate(b, 0, abbench.Med, float64(s.m*s.k*s.n)/1e9, "GMAC/s-%s")
				b.ReportMetric(abbench.Med(t.Ratios(0, 0, 3)), "gemm/smallk")
			})
		}
	}
}

// BenchmarkGemmSmallKAct compares GemmSmallKAct ("smallk") with GemmAct
// ("gemm", smallK off) on whole 1x1 layers with an epilogue, alternating
// in one loop, timed on the thread's CPU clock: MobileNet V3-Large@224's
// expansions with HARD_SWISH (batch 1: K 40 to 160) and projections of K
// over 64, ResNet-50's 1x1 layers whose residual is fused (K 64 and 128).
// The output is the same buffer every call (the layer's, hot in L2 as
// the next layer finds it) or the next of copies filling 16 MB ("cold").
// Reports the median call's GMAC/s of each and the median of the per-pair
// ratios ("noband": smallKBandBytes 0, every call over all the rows).
func BenchmarkGemmSmallKAct(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512")
	}
	for _, s := range []struct {
		m, k, n int
		hs, res bool
	}{
		{784, 40, 240, true, false}, {196, 80, 200, true, false}, {196, 80, 184, true, false},
		{196, 80, 480, true, false}, {196, 112, 672, true, false}, {49, 160, 960, true, false},
		{784, 72, 40, false, false}, {784, 120, 40, false, false}, {196, 120, 480, true, false},
		{3136, 64, 256, false, true}, {784, 128, 512, false, true}, {1568, 64, 256, false, true},
		{3136, 16, 64, true, false}, {784, 40, 120, false, true},
		// V2 1.0@128's expansions (no epilogue): the bands against none.
		{4096, 16, 96, false, false}, {1024, 24, 144, false, false}, {256, 32, 192, false, false},
		// V3-Large's 56x56 24->72 and 28x28 40->120 (one pair and single panels).
		{3136, 24, 72, false, false}, {784, 40, 120, false, false},
	} {
		for _, cold := range []bool{false, true} {
			name := fmt.Sprintf("%dx%dx%d/hs=%v/res=%v/hot", s.m, s.k, s.n, s.hs, s.res)
			if cold {
				name = name[:len(name)-3] + "cold"
			}
			b.Run(name, func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				a := randSlice(rng, s.m*s.k)
				pb := PackB(randSlice(rng, s.n*s.k), s.n, s.k, randSlice(rng, s.n))
				act := Act{Lo: NoClampLo, Hi: NoClampHi, HardSwish: s.hs}
				if s.res {
					act = Act{Lo: 0, Hi: NoClampHi, Res: randSlice(rng, s.m*s.n), LdRes: s.n}
				}
				cs := make([][]float32, 1)
				if cold {
					cs = make([][]float32, max(2, (16<<20)/(4*s.m*s.n)))
				}
				for i := range cs {
					cs[i] = make([]float32, s.m*s.n)
				}
				defer func(v bool, bb int) { smallK, smallKBandBytes = v, bb }(smallK, smallKBandBytes)
				band := smallKBandBytes
				// Every round writes the next output copy, the same for
				// all its modes (Setup counts the runs).
				var c []float32
				runs := 0
				mode := func(name string, on bool, bandBytes int) abbench.Side {
					return abbench.Side{Name: name, Setup: func() {
						c = cs[runs/3%len(cs)]
						runs++
						smallK, smallKBandBytes = on, bandBytes
					}, Run: func() { GemmSmallKAct(s.m, a, s.k, pb, act, c, s.n) }}
				}
				t := abbench.Alternate(b, abbench.ThreadCPU, mode("gemm", false, band), mode("smallk", true, band), mode("noband", true, 0))
				t.ReportRate(b, 0, abbench.Med, float64(s.m*s.k*s.n)/1e9, "GMAC/s-%s")
				b.ReportMetric(abbench.Med(t.Ratios(0, 0, 1)), "gemm/smallk")
			})
		}
	}
}

// TestGemmSmallKReadAhead: products linked to a later layer bound by its
// weights (SetReadAhead) read them ahead on the small-K kernels (the
// plan reads some) and their sums stay GemmAct's bit for bit, with and
// without an epilogue, in one band and several.
func TestGemmSmallKReadAhead(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 23))
	for _, s := range []struct{ m, k, n int }{{196, 80, 480}, {196, 112, 672}, {49, 160, 960}, {49, 40, 120}} {
		a := randSlice(rng, s.m*s.k)
		pb := PackB(randSlice(rng, s.n*s.k), s.n, s.k, randSlice(rng, s.n))
		next := PackB(randSlice(rng, s.n*s.n/4), s.n/4, s.n, nil)
		pb.SetReadAhead(next, s.m, 1)
		if !readsAhead(s.m, pb) {
			t.Fatalf("%dx%dx%d: GemmAct reads nothing ahead", s.m, s.k, s.n)
		}
		nt := (s.m + smallKRows - 1) / smallKRows
		if first, _ := aheadPlan(s.m, pb.Panels(), s.k, nt, len(next.panels), cacheL2); first >= pb.Panels() {
			t.Fatalf("%dx%dx%d: the plan reads nothing ahead", s.m, s.k, s.n)
		}
		for _, act := range []Act{{Lo: 0, Hi: 6}, {Lo: NoClampLo, Hi: NoClampHi, HardSwish: true}} {
			got, want := make([]float32, s.m*s.n), make([]float32, s.m*s.n)
			GemmSmallKAct(s.m, a, s.k, pb, act, got, s.n)
			GemmAct(s.m, a, s.k, pb, act, want, s.n)
			if i := bitDiff(got, want); i >= 0 {
				t.Fatalf("%dx%dx%d: c[%d] = %v, GemmAct %v", s.m, s.k, s.n, i, got[i], want[i])
			}
		}
	}
}
