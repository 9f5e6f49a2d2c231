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
// dw3x3I8AVX2Cols with the double rounding in one step (dwRQTable) and
// with Requant.tab8's, and, switched off, the pair kernel dw3x3I8AVX2) against
// the portable kernel on widened inputs: channel counts of one and many
// blocks of 16, strides 1 and 2, rows of 1 to 14 pixels, gaps between
// output pixels, both roundings over the whole shift range, weights over
// the int16 range as well as int8, any input zero point, and that it runs
// where it should.
func TestDW3x3I8AVX2(t *testing.T) {
	if !useInt8SIMD() || use512() {
		t.Skip("not the AVX2 int8 path")
	}
	defer func(cols, rqf bool) { hasDWAVX2Cols, hasDWRQF = cols, rqf }(hasDWAVX2Cols, hasDWRQF)
	rng := rand.New(rand.NewPCG(51, 52))
	for _, kernel := range []string{"cols", "cols-tab8", "pairs"} {
		hasDWAVX2Cols, hasDWRQF = kernel != "pairs", kernel == "cols"
		for _, c := range []int{16, 32, 48, 144, 960} {
			for _, double := range []bool{false, true} {
				for _, stride := range []int{1, 2} {
					for _, wide := range []bool{false, true} {
						for rep := range 3 {
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
// and two pixels at stride 1), 3 to 16 after.
func checkDW3x3I8AVX2(t *testing.T, rng *rand.Rand, c int, double bool, stride int, wide bool, rep int) {
	w := make([]int32, 9*c)
	for i := range w {
		w[i] = int32(rng.IntN(256) - 128)
		if wide {
			w[i] = int32(rng.IntN(1<<16) - 1<<15)
		}
	}
	d, err := NewDWI8(3, 3, c, w, randRequant(rng, c, double))
	if err != nil {
		t.Fatal(err)
	}
	zp := int32(rng.IntN(256) - 128)
	d.FoldZP(zp)
	if !d.HasInt8Pixels3x3() {
		t.Fatal("HasInt8Pixels3x3 false on the AVX2 path")
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

// BenchmarkDW3x3I8AVX2Cols: one stride-1 output row of the depthwise
// layers of MobileNet V1 and V2 at 128 (c channels, n pixels), the column
// kernel ("cols", dw3x3I8AVX2Cols) against the pair kernel ("pairs",
// dw3x3I8AVX2) and against itself with the double rounding of
// Requant.tab8 ("colstab8", not dwRQTable's one step), alternating on the
// thread's CPU clock; "speedup" is the median per-round ratio pairs/cols,
// "rqf-speedup" colstab8/cols, with their quartiles.
func BenchmarkDW3x3I8AVX2Cols(b *testing.B) {
	if !useInt8SIMD() || use512() {
		b.Skip("not the AVX2 int8 path")
	}
	defer func(cols, rqf bool) { hasDWAVX2Cols, hasDWRQF = cols, rqf }(hasDWAVX2Cols, hasDWRQF)
	for _, sh := range [][2]int{{32, 64}, {64, 32}, {96, 32}, {144, 32}, {128, 16}, {192, 16}, {256, 8}, {384, 8}, {512, 8}, {960, 4}, {1024, 4}} {
		c, n := sh[0], sh[1]
		b.Run(fmt.Sprintf("c%d/n%d", c, n), func(b *testing.B) {
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
			out := make([]int8, n*c)
			rows := [3]int{0, wd * c, 2 * wd * c}
			reps := 2048 / n
			side := func(name string, cols, rqf bool) abbench.Side {
				return abbench.Side{Name: name, Run: func() {
					hasDWAVX2Cols, hasDWRQF = cols, rqf
					for range reps {
						d.Int8Pixels3x3(out, c, in8, rows, c, n)
					}
				}}
			}
			tm := abbench.Alternate(b, abbench.ThreadCPU, side("pairs", false, false), side("cols", true, true), side("colstab8", true, false))
			abbench.ReportQuartiles(b, tm.Ratios(0, 0, 1), "speedup")
			abbench.ReportQuartiles(b, tm.Ratios(0, 2, 1), "rqf-speedup")
			tm.Report(b, 0, abbench.Med, 1e9/float64(reps*n), "%s-ns/px")
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
		if got := dwRQTable(NewRequant(bias, mult, shift, tc.double, 0, -128, 127)) != nil; got != tc.ok {
			t.Errorf("%s: table built %v, want %v", tc.name, got, tc.ok)
		}
	}
}
