//go:build amd64

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// TestDW3x3I8AVX2 checks the AVX2 int8 3x3 depthwise kernels (through
// Int8Pixels3x3 and Int8Pixels3x3U; at stride 1 the column kernel
// dw3x3I8AVX2Cols with the double rounding in one step with blends
// (dwRQTable's blend table, modes 3 and 4), without (mode 2) and with
// Requant.tab8's, and, switched off, the pair kernel dw3x3I8AVX2, with
// the blends and with tab8's; at stride 2 with the blends the column
// kernel dw3x3I8AVX2S2 and, switched off, the pair kernel) against the
// portable kernel on widened
// inputs: channel counts of one and many blocks of 16, strides 1 and 2,
// rows of 1 to 14 pixels, gaps between output pixels, both roundings over
// the whole shift range and over right shifts only (rep 3: the blend
// kernels' mode 4), weights over the int16 range as well as int8, any
// input zero point, and that it runs where it should.
func TestDW3x3I8AVX2(t *testing.T) {
	if !useInt8SIMD() || use512() {
		t.Skip("not the AVX2 int8 path")
	}
	defer func(cols, rqf, rqg, s2 bool) {
		hasDWAVX2Cols, hasDWRQF, hasDWRQG, hasDWAVX2S2 = cols, rqf, rqg, s2
	}(hasDWAVX2Cols, hasDWRQF, hasDWRQG, hasDWAVX2S2)
	rng := rand.New(rand.NewPCG(51, 52))
	for _, kernel := range []string{"cols-blend", "cols", "cols-tab8", "pairs-blend", "pairs"} {
		// The stride-2 column kernel runs with the blends in cols-blend.
		hasDWAVX2S2 = kernel == "cols-blend"
		hasDWAVX2Cols = kernel == "cols-blend" || kernel == "cols" || kernel == "cols-tab8"
		hasDWRQF, hasDWRQG = kernel == "cols", kernel == "cols-blend" || kernel == "pairs-blend"
		for _, c := range []int{16, 32, 48, 144, 960} {
			for _, double := range []bool{false, true} {
				for _, stride := range []int{1, 2} {
					for _, wide := range []bool{false, true} {
						for rep := range 4 {
							t.Run(fmt.Sprintf("%s/c%d/double=%v/stride%d/wide=%v/%d", kernel, c, double, stride, wide, rep), func(t *testing.T) {
								checkDW3x3I8AVX2(t, rng, c, double, stride, wide, rep)
							})
						}
					}
				}
			}
		}
	}
}

// checkDW3x3I8AVX2's rows are 3 and 4 columns wide in reps 0 and 1 (one
// and two pixels at stride 1), 3 to 16 after; rep 3's rescale shifts only
// to the right.
func checkDW3x3I8AVX2(t *testing.T, rng *rand.Rand, c int, double bool, stride int, wide bool, rep int) {
	w := make([]int32, 9*c)
	for i := range w {
		w[i] = int32(rng.IntN(256) - 128)
		if wide {
			w[i] = int32(rng.IntN(1<<16) - 1<<15)
		}
	}
	rq := randRequant(rng, c, double)
	if rep == 3 {
		shift := make([]int, c)
		for i, s := range rq.Shift {
			shift[i] = min(s, -s)
		}
		rq = NewRequant(rq.Bias, rq.Mult, shift, double, rq.ZP, rq.Lo, rq.Hi)
	}
	d, err := NewDWI8(3, 3, c, w, rq)
	if err != nil {
		t.Fatal(err)
	}
	zp := int32(rng.IntN(256) - 128)
	d.FoldZP(zp)
	if !d.HasInt8Pixels3x3() {
		t.Fatal("HasInt8Pixels3x3 false on the AVX2 path")
	}
	if double && (d.rqG == nil || d.rqGNoLeft != (rep == 3)) {
		t.Fatalf("blend table %v, no left shifts %v in rep %d", d.rqG != nil, d.rqGNoLeft, rep)
	}
	wd := 3 + rng.IntN(14)
	if rep < 2 {
		wd = 3 + rep
	}
	in8 := make([]int8, 3*wd*c)
	xs := make([]int32, len(in8))
	for i := range in8 {
		in8[i] = int8(rng.IntN(256) - 128)
		xs[i] = int32(in8[i]) - zp
	}
	n := 1 + (wd-3)/stride
	ostride := c + rng.IntN(3)*16 + rng.IntN(2)
	want := make([]int8, (n-1)*ostride+c)
	var taps []int
	for ky := 0; ky < 3; ky++ {
		for kx := 0; kx < 3; kx++ {
			taps = append(taps, (ky*wd+kx)*c, ky*3+kx)
		}
	}
	d.PixelsGeneric(want, ostride, xs, 0, stride*c, taps, n)
	// The unsigned outputs from the raw inputs and the unsigned rescale
	// (not want^0x80: a rescaled value within 128 of the int32 limit wraps
	// when the zero point moves up by 128, in Requant.One too).
	wantU := make([]uint8, len(want))
	for p := 0; p < n; p++ {
		for ch := 0; ch < c; ch++ {
			acc := d.foldU.Bias[ch]
			for i := 0; i < len(taps); i += 2 {
				acc += int32(in8[p*stride*c+taps[i]+ch]) * d.W[taps[i+1]*c+ch]
			}
			wantU[p*ostride+ch] = uint8(d.foldU.One(acc, ch))
		}
	}
	rows := [3]int{0, wd * c, 2 * wd * c}
	got := make([]int8, len(want))
	gotU := make([]uint8, len(want))
	for i := range got {
		got[i], gotU[i] = 0x5a, 0x5a
	}
	if !d.Int8Pixels3x3(got, ostride, in8, rows, stride*c, n) || !d.Int8Pixels3x3U(gotU, ostride, in8, rows, stride*c, n) {
		t.Fatal("the int8 3x3 kernel did not run")
	}
	for i := range got {
		if i%ostride >= c {
			if got[i] != 0x5a || gotU[i] != 0x5a {
				t.Fatalf("byte %d between pixels written", i)
			}
			continue
		}
		if got[i] != want[i] || gotU[i] != wantU[i] {
			t.Fatalf("zp %d pixel %d channel %d: got %d, unsigned %d, want %d, %d", zp, i/ostride, i%ostride, got[i], gotU[i], want[i], wantU[i])
		}
	}
}

// BenchmarkDW3x3I8AVX2: one output row of 32 pixels (stride 1) of the
// depthwise layers of MobileNet V1 and V2 at 128, the AVX2 3x3 kernel
// ("int8", from the int8 rows) against the widening path it replaces
// ("widen": WidenI8 of the three rows, then Pixels3x3), alternating on
// the thread's CPU clock; "speedup" is the median per-round ratio
// widen/int8, with its quartiles.
func BenchmarkDW3x3I8AVX2(b *testing.B) {
	if !useInt8SIMD() || use512() {
		b.Skip("not the AVX2 int8 path")
	}
	for _, c := range []int{32, 64, 96, 144, 192, 384, 512, 960} {
		b.Run(fmt.Sprintf("c%d", c), func(b *testing.B) {
			const n = 32
			rng := rand.New(rand.NewPCG(3, 4))
			w := make([]int32, 9*c)
			for i := range w {
				w[i] = int32(rng.IntN(255) - 127)
			}
			d, err := NewDWI8(3, 3, c, w, randRequant(rng, c, true))
			if err != nil {
				b.Fatal(err)
			}
			d.FoldZP(-3)
			wd := n + 2
			in8 := make([]int8, 3*wd*c)
			for i := range in8 {
				in8[i] = int8(rng.IntN(256) - 128)
			}
			xs := make([]int32, len(in8))
			out := make([]int8, n*c)
			rows := [3]int{0, wd * c, 2 * wd * c}
			tm := abbench.Alternate(b, abbench.ThreadCPU,
				abbench.Side{Name: "widen", Run: func() {
					for range 50 {
						WidenI8(xs, in8, -3)
						d.Pixels3x3(out, c, xs, rows, c, n)
					}
				}},
				abbench.Side{Name: "int8", Run: func() {
					for range 50 {
						d.Int8Pixels3x3(out, c, in8, rows, c, n)
					}
				}})
			abbench.ReportQuartiles(b, tm.Ratios(0, 0, 1), "speedup")
			tm.Report(b, 0, abbench.Med, 1e9/(50*n), "%s-ns/px")
		})
	}
}

// BenchmarkDW3x3I8AVX2Cols: one output row of the depthwise layers of
// MobileNet V1 and V2 at 128 (c channels, n pixels, stride 1 and 2), on
// the thread's CPU clock, alternating: at stride 1 the column kernel with
// the rescale in one step with blends ("blend", dw3x3I8AVX2Cols mode 3
// or 4), without ("cols", mode 2) and with Requant.tab8's ("colstab8"),
// and the pair kernel ("pairs", dw3x3I8AVX2); at stride 2 the column
// kernel ("s2", dw3x3I8AVX2S2) and the pair kernel with blends ("blend")
// and with tab8's ("pairs"). "speedup" is the median per-round ratio
// pairs/cols, "rqf-speedup" colstab8/cols and "blend-speedup" cols/blend
// at stride 1; at stride 2 "blend-speedup" pairs/blend and "s2-speedup"
// blend/s2; with their quartiles; GMAC/s per side.
func BenchmarkDW3x3I8AVX2Cols(b *testing.B) {
	if !useInt8SIMD() || use512() {
		b.Skip("not the AVX2 int8 path")
	}
	defer func(cols, rqf, rqg, s2 bool) {
		hasDWAVX2Cols, hasDWRQF, hasDWRQG, hasDWAVX2S2 = cols, rqf, rqg, s2
	}(hasDWAVX2Cols, hasDWRQF, hasDWRQG, hasDWAVX2S2)
	for _, sh := range [][4]int{{32, 64, 1, 2}, {64, 32, 1, 2}, {96, 32, 1, 2}, {144, 32, 1, 2}, {128, 16, 1, 2}, {192, 16, 1, 2}, {256, 8, 1, 2}, {384, 8, 1, 2}, {512, 8, 1, 2}, {576, 8, 1, 2}, {960, 4, 1, 2}, {1024, 4, 1, 2},
		{96, 32, 2, 2}, {144, 16, 2, 2}, {192, 8, 2, 2}, {576, 4, 2, 2},
		{144, 32, 1, 1}, {576, 8, 1, 1}, {96, 32, 2, 1}, {576, 4, 2, 1}} {
		c, n, stride, rounds := sh[0], sh[1], sh[2], sh[3]
		b.Run(fmt.Sprintf("c%d/n%d/s%d/r%d", c, n, stride, rounds), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 4))
			w := make([]int32, 9*c)
			for i := range w {
				w[i] = int32(rng.IntN(255) - 127)
			}
			rq := randRequant(rng, c, true)
			for i := range rq.Shift {
				rq.Shift[i] = -1 - rng.IntN(8) // a model's: right shifts only
			}
			d, err := NewDWI8(3, 3, c, w, NewRequant(rq.Bias, rq.Mult, rq.Shift, rounds == 2, rq.ZP, rq.Lo, rq.Hi))
			if err != nil {
				b.Fatal(err)
			}
			d.FoldZP(-3)
			wd := (n-1)*stride + 3
			in8 := make([]int8, 3*wd*c)
			for i := range in8 {
				in8[i] = int8(rng.IntN(256) - 128)
			}
			out := make([]int8, n*c)
			rows := [3]int{0, wd * c, 2 * wd * c}
			reps := 2048 / n
			side := func(name string, cols, rqf, rqg bool) abbench.Side {
				return abbench.Side{Name: name, Run: func() {
					hasDWAVX2Cols, hasDWRQF, hasDWRQG, hasDWAVX2S2 = cols, rqf, rqg, cols
					for range reps {
						d.Int8Pixels3x3(out, c, in8, rows, stride*c, n)
					}
				}}
			}
			var tm abbench.Times
			if stride == 1 {
				tm = abbench.Alternate(b, abbench.ThreadCPU, side("pairs", false, false, false), side("cols", true, true, false), side("colstab8", true, false, false), side("blend", true, true, true))
				abbench.ReportQuartiles(b, tm.Ratios(0, 0, 1), "speedup")
				abbench.ReportQuartiles(b, tm.Ratios(0, 2, 1), "rqf-speedup")
				abbench.ReportQuartiles(b, tm.Ratios(0, 1, 3), "blend-speedup")
			} else {
				tm = abbench.Alternate(b, abbench.ThreadCPU, side("pairs", false, false, false), side("blend", false, false, true), side("s2", true, false, true))
				abbench.ReportQuartiles(b, tm.Ratios(0, 0, 1), "blend-speedup")
				abbench.ReportQuartiles(b, tm.Ratios(0, 1, 2), "s2-speedup")
			}
			tm.ReportRate(b, 0, abbench.Med, float64(reps*n*c*9)/1e9, "%s-GMAC/s")
		})
	}
}

// TestDWRQTableRange checks that the one-step rescale table is built only
// for the double rounding with multipliers 0 or in [2^30, 2^31), where its
// sign rule holds.
func TestDWRQTableRange(t *testing.T) {
	bias, shift := make([]int32, 8), make([]int, 8)
	for _, tc := range []struct {
		name   string
		mult   int32
		double bool
		ok     bool
	}{
		{"zero", 0, true, true},
		{"low", 1 << 30, true, true},
		{"max", 1<<31 - 1, true, true},
		{"below", 1<<30 - 1, true, false},
		{"single", 1 << 30, false, false},
	} {
		mult := make([]int32, 8)
		for i := range mult {
			mult[i] = 1<<30 + 5
		}
		mult[3] = tc.mult
		if got := dwRQTable(NewRequant(bias, mult, shift, tc.double, 0, -128, 127), false) != nil; got != tc.ok {
			t.Errorf("%s: table built %v, want %v", tc.name, got, tc.ok)
		}
	}
}
