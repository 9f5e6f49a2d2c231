package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// TestDepthwiseBlocked checks DepthwiseBlocked (the four-pixel 3x3 kernel,
// and the one-pixel kernels on padded borders for other windows and
// channels) against the float64 reference on every path: interiors of 4k
// and 4k+1..3 pixels, strides 1 and 2, 3x3, 5x5 and 7x3 windows, channel
// counts that do and do not take them, bounds that bind, and row ranges.
func TestDepthwiseBlocked(t *testing.T) {
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, p := range []DWParams{
			{H: 8, W: 8, C: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 8, OW: 8},
			{H: 13, W: 11, C: 32, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 13, OW: 11},
			{H: 16, W: 16, C: 48, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 0, PadL: 0, OH: 8, OW: 8},
			{H: 17, W: 19, C: 64, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, OH: 9, OW: 10},
			{H: 10, W: 14, C: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 0, PadL: 0, OH: 8, OW: 12},
			{H: 9, W: 9, C: 24, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 9, OW: 9}, // not a multiple of 16
			{H: 6, W: 5, C: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 6, OW: 5}, // interior under 4 pixels
			{H: 12, W: 12, C: 16, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, OH: 12, OW: 12},
			{H: 4, W: 4, C: 32, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 4, OW: 4},   // all rows padded
			{H: 8, W: 8, C: 16, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 0, PadL: 0, OH: 4, OW: 4},   // padding right and below only
			{H: 7, W: 9, C: 16, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 0, OH: 4, OW: 5},   // asymmetric
			{H: 1, W: 1, C: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 1, OW: 1},   // window mostly padding
			{H: 2, W: 3, C: 48, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, OH: 1, OW: 2},   // taps past the bottom and right
			{H: 5, W: 23, C: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 2, PadL: 2, OH: 7, OW: 25}, // padding of two on every side
			// Other windows and channels a multiple of 8: one-pixel kernels on padded borders.
			{H: 28, W: 28, C: 40, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, OH: 28, OW: 28},
			{H: 14, W: 15, C: 24, KH: 5, KW: 5, SH: 2, SW: 2, PadT: 1, PadL: 2, OH: 7, OW: 8}, // stride 2: Depthwise
			{H: 7, W: 7, C: 32, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, OH: 7, OW: 7},
			{H: 6, W: 7, C: 8, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, OH: 6, OW: 7}, // interior under 4 pixels
			{H: 9, W: 10, C: 16, KH: 7, KW: 3, SH: 2, SW: 1, PadT: 3, PadL: 1, OH: 5, OW: 10},
			{H: 12, W: 12, C: 40, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, OH: 6, OW: 6},
			{H: 8, W: 8, C: 12, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, OH: 8, OW: 8}, // not a multiple of 8: Depthwise
		} {
			for _, b := range [][2]float32{{NoClampLo, NoClampHi}, {-0.5, 0.5}} {
				p.Lo, p.Hi = b[0], b[1]
				in := randSlice(rng, p.H*p.W*p.C)
				w := randSlice(rng, p.KH*p.KW*p.C)
				bias := randSlice(rng, p.C)
				want := refDepthwise(&p, in, w, bias)
				out := make([]float32, p.OH*p.OW*p.C)
				DepthwiseBlocked(&p, in, w, bias, out, 0, p.OH, make([]float32, DWScratch(&p)))
				closeTo(t, out, want, 1e-5)
				// Two row ranges, as two threads would split them, with
				// no scratch given.
				clear(out)
				DepthwiseBlocked(&p, in, w, bias, out, p.OH/2, p.OH, nil)
				DepthwiseBlocked(&p, in, w, bias, out, 0, p.OH/2, nil)
				closeTo(t, out, want, 1e-5)
			}
		}
	})
}

// TestDepthwiseStride1Kernel: the stride-1 four-pixel kernel, which loads
// each input vector once per window row, gives exactly the general
// four-pixel kernel's sums (same order), bounds included.
func TestDepthwiseStride1Kernel(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, s := range []struct{ w, c, n int }{{10, 16, 8}, {14, 48, 12}, {6, 32, 4}} {
		in := randSlice(rng, 3*s.w*s.c)
		wt := randSlice(rng, 9*s.c)
		bias := randSlice(rng, s.c)
		a := make([]float32, s.n*s.c)
		b := make([]float32, s.n*s.c)
		rs := s.w * s.c * 4
		dw3x3x4AVX512(&a[0], &in[0], &wt[0], &bias[0], s.n, s.c, s.c*4, rs, -0.5, 0.7, 0)
		dw3x3x4s1AVX512(&b[0], &in[0], &wt[0], &bias[0], s.n, s.c, rs, -0.5, 0.7, 0)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("width %d, %d channels: element %d: stride-1 kernel %g, general %g", s.w, s.c, i, b[i], a[i])
			}
		}
	}
}

// TestDepthwiseEightPixelKernel: the stride-1 eight-pixel kernel gives
// exactly the four-pixel kernel's outputs (same order of sums), with the
// bounds, with HARD_SWISH in its epilogue (inputs scaled so both of its
// bends are crossed), for channels of one to four vectors and input rows
// wider than the pixels read, and writes nothing past its n pixels; and
// DepthwiseBlocked gives the same bits with it as without it, on rows
// whose in-image pixels leave every remainder after groups of eight and
// four, at strides 1 and 2, close to the float64 reference.
func TestDepthwiseEightPixelKernel(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, s := range []struct{ w, c, n int }{{10, 16, 8}, {18, 32, 16}, {27, 48, 24}, {66, 64, 64}, {12, 16, 8}} {
		for _, hs := range []int{0, 1} {
			in := randSlice(rng, 3*s.w*s.c)
			for i := range in {
				in[i] *= 8
			}
			wt := randSlice(rng, 9*s.c)
			bias := randSlice(rng, s.c)
			a := make([]float32, s.n*s.c+s.c)
			b := make([]float32, s.n*s.c+s.c)
			b[s.n*s.c] = 42
			rs := s.w * s.c * 4
			lo, hi := float32(-2.5), float32(3.7)
			if hs == 1 {
				lo, hi = NoClampLo, NoClampHi
			}
			dw3x3x4s1AVX512(&a[0], &in[0], &wt[0], &bias[0], s.n, s.c, rs, lo, hi, hs)
			dw3x3x8s1AVX512(&b[0], &in[0], &wt[0], &bias[0], s.n, s.c, rs, lo, hi, hs)
			if !slices.Equal(a[:s.n*s.c], b[:s.n*s.c]) {
				t.Fatalf("width %d, %d channels, %d pixels, hs %d: eight-pixel kernel differs from the four-pixel one", s.w, s.c, s.n, hs)
			}
			if b[s.n*s.c] != 42 {
				t.Fatalf("width %d, %d channels, %d pixels: wrote past its pixels", s.w, s.c, s.n)
			}
		}
	}
	defer func(v, e bool) { dwEight, dwEdgeRows = v, e }(dwEight, dwEdgeRows)
	dwEdgeRows = false // edge pixels change order with it (TestDepthwiseEdgeRows)
	for _, p := range []DWParams{
		{H: 9, W: 23, C: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 9, OW: 23},   // 21 in-image pixels: 16 + 4 + 1
		{H: 6, W: 14, C: 48, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 6, OW: 14},   // 12: 8 + 4
		{H: 12, W: 34, C: 32, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 0, PadL: 0, OH: 10, OW: 32}, // VALID: 32
		{H: 5, W: 9, C: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 5, OW: 9},     // 7: 4 + 3
		{H: 7, W: 16, C: 64, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 7, OW: 16},   // 14: 8 + 4 + 2
		{H: 6, W: 7, C: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 6, OW: 7},     // 5: 4 + 1
		{H: 16, W: 16, C: 32, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 0, PadL: 0, OH: 8, OW: 8},   // stride 2, 7: 4 + 3
		{H: 19, W: 19, C: 48, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, OH: 10, OW: 10}, // stride 2, 9: 8 + 1
	} {
		for _, hs := range []bool{false, true} {
			p.Lo, p.Hi = 0, 6
			if hs {
				p.Lo, p.Hi = NoClampLo, NoClampHi
			}
			in := randSlice(rng, p.H*p.W*p.C)
			for i := range in {
				in[i] *= 8
			}
			w := randSlice(rng, 9*p.C)
			bias := randSlice(rng, p.C)
			run := func(eight bool) []float32 {
				dwEight = eight
				out := make([]float32, p.OH*p.OW*p.C)
				if hs {
					DepthwiseBlockedHardSwish(&p, in, w, bias, out, 0, p.OH, nil)
				} else {
					DepthwiseBlocked(&p, in, w, bias, out, 0, p.OH, nil)
				}
				return out
			}
			want := run(false)
			closeTo(t, want, refDepthwiseAct(&p, in, w, bias, hs), 1e-5)
			if got := run(true); !slices.Equal(got, want) {
				t.Fatalf("%dx%dx%d stride %d hs %v: DepthwiseBlocked differs with the eight-pixel kernel", p.H, p.W, p.C, p.SW, hs)
			}
		}
	}
}

// TestDepthwiseEdgeRowKernel: the whole-row kernel, which takes a stride-1
// row's padding columns as zeros in registers, gives exactly what the
// eight-pixel kernel gives on a zero-padded copy of the row, for rows of
// one group (both edges), two (left and right) and more (groups between),
// one to eight channel vectors, with the bounds and with HARD_SWISH, and
// writes nothing past the row.
func TestDepthwiseEdgeRowKernel(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, s := range []struct{ n, c int }{{8, 16}, {16, 32}, {24, 48}, {64, 32}, {32, 128}, {8, 512}} {
		for _, hs := range []int{0, 1} {
			w := s.n // input row width: the same as the output's
			in := randSlice(rng, 3*w*s.c)
			for i := range in {
				in[i] *= 8
			}
			padded := make([]float32, 3*(w+2)*s.c)
			for r := 0; r < 3; r++ {
				copy(padded[(r*(w+2)+1)*s.c:], in[r*w*s.c:(r+1)*w*s.c])
			}
			wt := randSlice(rng, 9*s.c)
			bias := randSlice(rng, s.c)
			lo, hi := float32(-2.5), float32(3.7)
			if hs == 1 {
				lo, hi = NoClampLo, NoClampHi
			}
			want := make([]float32, s.n*s.c)
			dw3x3x8s1AVX512(&want[0], &padded[0], &wt[0], &bias[0], s.n, s.c, (w+2)*s.c*4, lo, hi, hs)
			got := make([]float32, s.n*s.c+1)
			got[s.n*s.c] = 42
			dw3x3x8s1eAVX512(&got[0], &in[0], &wt[0], &bias[0], s.n, s.c, w*s.c*4, lo, hi, hs, 3)
			if !slices.Equal(got[:s.n*s.c], want) {
				t.Fatalf("%d pixels, %d channels, hs %d: whole-row kernel differs from the eight-pixel kernel on a padded copy", s.n, s.c, hs)
			}
			if got[s.n*s.c] != 42 {
				t.Fatalf("%d pixels, %d channels: wrote past the row", s.n, s.c)
			}
		}
	}
}

// TestDepthwiseEdgeRows: with dwEdgeRows, DepthwiseBlocked gives on every
// 3x3 layer the edge-aware kernels take (stride 1 with one column of
// padding either side, rows of eight pixels or more or of four; stride 2
// with SAME padding of an even width, rows of four pixels or more, four
// to seven in groups of four; a multiple of the group or not: the last
// group overlaps) exactly what the four- and eight-pixel kernels give on a
// zero-padded copy of the whole image (every pixel's sum in their order,
// rows whose window leaves the image above or below, and images of one or
// two rows, included), with the bounds and with HARD_SWISH (in the
// kernel's epilogue and as a pass), over row ranges; close to the float64
// reference; and layers they do not take (stride 1 of five to seven
// pixels, stride 2 under 4, VALID padding, stride 2 of an odd width) and
// stride-1 rows of four pixels give the same bits as without it.
func TestDepthwiseEdgeRows(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	defer func(e, h bool) { dwEdgeRows, dwHSEpilogue = e, h }(dwEdgeRows, dwHSEpilogue)
	rng := rand.New(rand.NewPCG(13, 14))
	for _, p := range []DWParams{
		{H: 8, W: 8, C: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 8, OW: 8},
		{H: 5, W: 16, C: 32, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 5, OW: 16},
		{H: 9, W: 32, C: 48, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 9, OW: 32},
		{H: 4, W: 24, C: 128, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 4, OW: 24},
		{H: 6, W: 12, C: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 6, OW: 12}, // 8, then 8 from pixel 4
		{H: 5, W: 14, C: 64, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 5, OW: 14},
		{H: 4, W: 9, C: 32, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 4, OW: 9},
		{H: 3, W: 28, C: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 3, OW: 28},
		{H: 16, W: 32, C: 16, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 0, PadL: 0, OH: 8, OW: 16},
		{H: 8, W: 16, C: 64, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 0, PadL: 0, OH: 4, OW: 8},
		{H: 7, W: 28, C: 32, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 0, OH: 4, OW: 14}, // odd height: a row above and below
		{H: 10, W: 56, C: 16, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 0, PadL: 0, OH: 5, OW: 28},
		{H: 1, W: 8, C: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 1, OW: 8}, // padding above and below
		{H: 2, W: 13, C: 32, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 2, OW: 13},
		{H: 2, W: 16, C: 16, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 0, PadL: 0, OH: 1, OW: 8}, // stride 2, one row below
		// Four pixels at stride 1, four to seven at stride 2: groups of four.
		{H: 4, W: 4, C: 64, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 4, OW: 4},
		{H: 1, W: 4, C: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 1, OW: 4},
		{H: 8, W: 8, C: 32, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 0, PadL: 0, OH: 4, OW: 4},
		{H: 14, W: 14, C: 16, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 0, PadL: 0, OH: 7, OW: 7},
		{H: 3, W: 10, C: 16, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 0, OH: 2, OW: 5},
	} {
		for _, hs := range []bool{false, true} {
			for _, epi := range []bool{true, false} {
				dwHSEpilogue = epi
				p.Lo, p.Hi = 0, 6
				if hs {
					p.Lo, p.Hi = NoClampLo, NoClampHi
				}
				in := randSlice(rng, p.H*p.W*p.C)
				for i := range in {
					in[i] *= 8
				}
				w := randSlice(rng, 9*p.C)
				bias := randSlice(rng, p.C)
				// The whole image zero-padded: output row oy's window
				// starts at its row oy*SH, pixel x's at its column x*SW.
				wp, hp := (p.OW-1)*p.SW+3, (p.OH-1)*p.SH+3
				padded := make([]float32, hp*wp*p.C)
				for y := 0; y < p.H; y++ {
					if py := y + p.PadT; py < hp {
						copy(padded[(py*wp+p.PadL)*p.C:], in[y*p.W*p.C:(y*p.W+min(p.W, wp-p.PadL))*p.C])
					}
				}
				want := make([]float32, p.OH*p.OW*p.C)
				in8 := 0
				if hs && epi {
					in8 = 1
				}
				for oy := 0; oy < p.OH; oy++ {
					dst, src := want[oy*p.OW*p.C:(oy+1)*p.OW*p.C], padded[oy*p.SH*wp*p.C:]
					g := 8
					if p.OW < 8 {
						g = 4
					}
					for _, o := range []int{0, p.OW - g} {
						n := g
						if o == 0 {
							n = p.OW / g * g
						}
						switch {
						case p.SW == 1 && g == 8:
							dw3x3x8s1AVX512(&dst[o*p.C], &src[o*p.C], &w[0], &bias[0], n, p.C, wp*p.C*4, p.Lo, p.Hi, in8)
						case p.SW == 1:
							dw3x3x4s1AVX512(&dst[o*p.C], &src[o*p.C], &w[0], &bias[0], n, p.C, wp*p.C*4, p.Lo, p.Hi, in8)
						default:
							dw3x3x4AVX512(&dst[o*p.C], &src[2*o*p.C], &w[0], &bias[0], n, p.C, 2*p.C*4, wp*p.C*4, p.Lo, p.Hi, in8)
						}
					}
					if hs && in8 == 0 {
						HardSwish(dst)
					}
				}
				closeTo(t, want, refDepthwiseAct(&p, in, w, bias, hs), 1e-5)
				dwEdgeRows = true
				got := make([]float32, p.OH*p.OW*p.C)
				for _, r := range [][2]int{{p.OH / 2, p.OH}, {0, p.OH / 2}} {
					if hs {
						DepthwiseBlockedHardSwish(&p, in, w, bias, got, r[0], r[1], nil)
					} else {
						DepthwiseBlocked(&p, in, w, bias, got, r[0], r[1], nil)
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%dx%dx%d stride %d hs %v epilogue %v: rows differ from the padded image's", p.H, p.W, p.C, p.SW, hs, epi)
				}
			}
		}
	}
	// Layers the edge-aware kernels do not take, and stride-1 rows of four
	// pixels (which ran from padded copies on the four-pixel kernel): the
	// same bits either way.
	dwHSEpilogue = true
	for _, p := range []DWParams{
		{H: 6, W: 7, C: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 6, OW: 7, Lo: 0, Hi: 6}, // stride 1, under 8 pixels
		{H: 4, W: 4, C: 64, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 4, OW: 4, Lo: 0, Hi: 6},
		{H: 2, W: 4, C: 1024, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 2, OW: 4, Lo: 0, Hi: 6},
		{H: 6, W: 6, C: 16, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 0, PadL: 0, OH: 3, OW: 3, Lo: 0, Hi: 6}, // stride 2, under 4 pixels
		{H: 6, W: 18, C: 32, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 0, PadL: 0, OH: 4, OW: 16, Lo: 0, Hi: 6},
		{H: 17, W: 17, C: 16, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, OH: 9, OW: 9, Lo: 0, Hi: 6},
	} {
		in := randSlice(rng, p.H*p.W*p.C)
		w := randSlice(rng, 9*p.C)
		bias := randSlice(rng, p.C)
		run := func(on bool) []float32 {
			dwEdgeRows = on
			out := make([]float32, p.OH*p.OW*p.C)
			DepthwiseBlocked(&p, in, w, bias, out, 0, p.OH, nil)
			return out
		}
		if !slices.Equal(run(true), run(false)) {
			t.Fatalf("%dx%dx%d: differs with dwEdgeRows on a layer it does not take", p.H, p.W, p.C)
		}
	}
}

// TestDepthwiseEdgeRowKernelS2: the stride-2 edge-aware kernel gives
// exactly what the four-pixel stride-2 kernel gives on a copy of the row
// with a zero column appended (edges 2) or on the row as it is (edges 0),
// for one to eight groups, one to eight channel vectors, the bounds and
// HARD_SWISH, and writes nothing past its pixels.
func TestDepthwiseEdgeRowKernelS2(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(15, 16))
	for _, s := range []struct{ n, c int }{{8, 16}, {16, 32}, {24, 48}, {32, 64}, {8, 512}, {64, 16}} {
		for _, edges := range []int{0, 2} {
			for _, hs := range []int{0, 1} {
				w := 2 * s.n // the input row: the last window's right column is column 2n
				if edges == 0 {
					w++
				}
				in := randSlice(rng, 3*w*s.c)
				for i := range in {
					in[i] *= 8
				}
				padded := make([]float32, 3*(2*s.n+1)*s.c)
				for r := 0; r < 3; r++ {
					copy(padded[r*(2*s.n+1)*s.c:], in[r*w*s.c:r*w*s.c+min(w, 2*s.n+1)*s.c])
				}
				wt := randSlice(rng, 9*s.c)
				bias := randSlice(rng, s.c)
				lo, hi := float32(-2.5), float32(3.7)
				if hs == 1 {
					lo, hi = NoClampLo, NoClampHi
				}
				want := make([]float32, s.n*s.c)
				dw3x3x4AVX512(&want[0], &padded[0], &wt[0], &bias[0], s.n, s.c, 2*s.c*4, (2*s.n+1)*s.c*4, lo, hi, hs)
				got := make([]float32, s.n*s.c+1)
				got[s.n*s.c] = 42
				dw3x3x8s2eAVX512(&got[0], &in[0], &wt[0], &bias[0], s.n, s.c, w*s.c*4, lo, hi, hs, edges)
				if !slices.Equal(got[:s.n*s.c], want) {
					t.Fatalf("%d pixels, %d channels, edges %d, hs %d: differs from the four-pixel kernel on a padded copy", s.n, s.c, edges, hs)
				}
				if got[s.n*s.c] != 42 {
					t.Fatalf("%d pixels, %d channels: wrote past the row", s.n, s.c)
				}
			}
		}
	}
}

// TestDepthwiseEdgeRowKernel4: the four-pixel edge-aware kernels give
// exactly what dw3x3x4s1AVX512 (stride 1: a column of zeros either side)
// and dw3x3x4AVX512 (stride 2: the right column) give on zero-padded
// copies of the rows (a row above or below too), for one to three
// groups, the bounds and HARD_SWISH, and write nothing past their pixels.
func TestDepthwiseEdgeRowKernel4(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(17, 18))
	// rows: edges bits 2 (a row of padding above) and 3 (below).
	for _, s := range []struct{ n, c, stride, rows int }{{4, 64, 2, 0}, {8, 16, 2, 8}, {12, 32, 2, 4}, {4, 16, 2, 12},
		{4, 64, 1, 0}, {8, 16, 1, 8}, {12, 32, 1, 4}, {4, 1024, 1, 12}} {
		for _, hs := range []int{0, 1} {
			w := s.stride * s.n // input row width
			real, top := 3, 0
			if s.rows&4 != 0 {
				real, top = real-1, 1
			}
			if s.rows&8 != 0 {
				real--
			}
			in := randSlice(rng, real*w*s.c)
			for i := range in {
				in[i] *= 8
			}
			// The padded rows: a column of zeros on the right (and one on
			// the left at stride 1), and the zero rows where the flags put
			// them.
			pw, left := w+1, 0
			if s.stride == 1 {
				pw, left = w+2, 1
			}
			padded := make([]float32, 3*pw*s.c)
			for r := 0; r < real; r++ {
				copy(padded[((r+top)*pw+left)*s.c:], in[r*w*s.c:(r+1)*w*s.c])
			}
			wt := randSlice(rng, 9*s.c)
			bias := randSlice(rng, s.c)
			lo, hi := float32(-2.5), float32(3.7)
			if hs == 1 {
				lo, hi = NoClampLo, NoClampHi
			}
			want := make([]float32, s.n*s.c)
			got := make([]float32, s.n*s.c+1)
			got[s.n*s.c] = 42
			if s.stride == 1 {
				dw3x3x4s1AVX512(&want[0], &padded[0], &wt[0], &bias[0], s.n, s.c, pw*s.c*4, lo, hi, hs)
				dw3x3x4s1eAVX512(&got[0], &in[0], &wt[0], &bias[0], s.n, s.c, w*s.c*4, lo, hi, hs, 3|s.rows)
			} else {
				dw3x3x4AVX512(&want[0], &padded[0], &wt[0], &bias[0], s.n, s.c, 2*s.c*4, pw*s.c*4, lo, hi, hs)
				dw3x3x4s2eAVX512(&got[0], &in[0], &wt[0], &bias[0], s.n, s.c, w*s.c*4, lo, hi, hs, 2|s.rows)
			}
			if !slices.Equal(got[:s.n*s.c], want) {
				t.Fatalf("%d pixels, %d channels, stride %d, rows %d, hs %d: differs from the four-pixel kernel on a padded copy", s.n, s.c, s.stride, s.rows, hs)
			}
			if got[s.n*s.c] != 42 {
				t.Fatalf("%d pixels, %d channels: wrote past the row", s.n, s.c)
			}
		}
	}
}

// refDepthwiseAct is refDepthwise followed by HARD_SWISH if hs.
func refDepthwiseAct(p *DWParams, in, w, bias []float32, hs bool) []float32 {
	r := refDepthwise(p, in, w, bias)
	if hs {
		for i, v := range r {
			r[i] = v * min(max(v+3, 0), 6) / 6
		}
	}
	return r
}

// BenchmarkDepthwisePadded compares, on MobileNet V3-Large's depthwise
// layers that the four-pixel kernel does not take (5x5 windows, channels
// an odd multiple of 8), border pixels tap by tap ("taps", Depthwise) with
// border rows and columns copied into padded scratch and run through the
// vector kernels ("padded").
func BenchmarkDepthwisePadded(b *testing.B) {
	defer func(v bool) { dwPadBorders = v }(dwPadBorders)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range []struct{ h, c, stride, k int }{{56, 72, 2, 5}, {28, 120, 1, 5}, {14, 200, 1, 3}, {14, 184, 1, 3}, {14, 672, 2, 5}, {7, 960, 1, 5}} {
		o := (s.h + s.stride - 1) / s.stride
		pad := max((o-1)*s.stride+s.k-s.h, 0) / 2
		p := DWParams{H: s.h, W: s.h, C: s.c, KH: s.k, KW: s.k, SH: s.stride, SW: s.stride, PadT: pad, PadL: pad, OH: o, OW: o, Lo: 0, Hi: 6}
		in, w, bias := randSlice(rng, s.h*s.h*s.c), randSlice(rng, s.k*s.k*s.c), randSlice(rng, s.c)
		out := make([]float32, o*o*s.c)
		scratch := make([]float32, DWScratch(&p))
		for _, padded := range []bool{false, true} {
			name := "taps"
			if padded {
				name = "padded"
			}
			b.Run(fmt.Sprintf("%dx%dx%d_k%d_s%d/%s", s.h, s.h, s.c, s.k, s.stride, name), func(b *testing.B) {
				dwPadBorders = padded
				cpu0 := cpuSeconds()
				for b.Loop() {
					DepthwiseBlocked(&p, in, w, bias, out, 0, o, scratch)
				}
				b.ReportMetric((cpuSeconds()-cpu0)*1e6/float64(b.N), "cpu-µs/op")
			})
		}
	}
}

// TestDepthwisePadWhole: rows run from one padded block (dwPadWhole) give
// exactly the row-by-row padded copies' sums, for the whole image and for
// row ranges, with and without the row-wise HARD_SWISH, whose output is
// DepthwiseBlocked's passed through HardSwish bit for bit; the shapes are
// ones that take the block, and a 14x14 3x3 one that does not.
func TestDepthwisePadWhole(t *testing.T) {
	defer func(v bool) { dwPadWhole = v }(dwPadWhole)
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, tc := range []struct {
			p     DWParams
			whole bool
		}{
			{DWParams{H: 7, W: 7, C: 40, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, OH: 7, OW: 7}, true},
			{DWParams{H: 28, W: 28, C: 24, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, OH: 28, OW: 28}, true},
			{DWParams{H: 5, W: 9, C: 8, KH: 3, KW: 5, SH: 1, SW: 1, PadT: 1, PadL: 2, OH: 5, OW: 9}, true},
			{DWParams{H: 14, W: 14, C: 24, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 14, OW: 14}, false},
		} {
			p := tc.p
			p.Lo, p.Hi = -0.5, 0.5
			t.Run(fmt.Sprintf("%+v", p), func(t *testing.T) {
				c := p.C
				wp := (p.OW-1)*p.SW + p.KW
				xa, xb := (p.PadL+p.SW-1)/p.SW, min(p.OW, (p.W-p.KW+p.PadL)/p.SW+1)
				dwPadWhole = true
				vec := hasAVX2FMA && c%8 == 0
				if got := dwUseWhole(&p, 0, p.OH, xa, xb, wp); got != tc.whole {
					t.Fatalf("dwUseWhole %v, want %v", got, tc.whole)
				}
				if tc.whole && vec && DWScratch(&p) < dwWholeCopy(&p, 0, p.OH, wp)*c {
					t.Fatalf("DWScratch %d is short of the block", DWScratch(&p))
				}
				in := randSlice(rng, p.H*p.W*c)
				w := randSlice(rng, p.KH*p.KW*c)
				bias := randSlice(rng, c)
				n := p.OH * p.OW * c
				dwPadWhole = false
				want := make([]float32, n)
				DepthwiseBlocked(&p, in, w, bias, want, 0, p.OH, nil)
				wantHS := append([]float32(nil), want...)
				HardSwish(wantHS)
				dwPadWhole = true
				for _, hs := range []bool{false, true} {
					run := DepthwiseBlocked
					ref := want
					if hs {
						run, ref = DepthwiseBlockedHardSwish, wantHS
					}
					for _, split := range []int{0, 1, p.OH / 2, p.OH - 1} {
						got := make([]float32, n)
						run(&p, in, w, bias, got, split, p.OH, make([]float32, DWScratch(&p)))
						run(&p, in, w, bias, got, 0, split, nil)
						for i := range got {
							if got[i] != ref[i] {
								t.Fatalf("hs %v, rows split at %d: element %d = %g, row by row %g", hs, split, i, got[i], ref[i])
							}
						}
					}
				}
			})
		}
	})
}

// TestDepthwiseHardSwishEpilogue: the four-pixel kernels' HARD_SWISH as
// they store (dwHSEpilogue) gives DepthwiseBlocked's output passed through
// HardSwish bit for bit, on rows of 4k and 4k+1..3 pixels, strides 1 and
// 2, border rows, bounds that bind, sums across -3..3 where HARD_SWISH
// bends, and inputs that overflow to infinities and NaN.
func TestDepthwiseHardSwishEpilogue(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	defer func(v bool) { dwHSEpilogue = v }(dwHSEpilogue)
	rng := rand.New(rand.NewPCG(13, 14))
	for _, p := range []DWParams{
		{H: 14, W: 14, C: 32, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 14, OW: 14},
		{H: 13, W: 11, C: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 13, OW: 11},
		{H: 17, W: 19, C: 48, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, OH: 9, OW: 10},
		{H: 4, W: 4, C: 64, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 4, OW: 4},
		{H: 28, W: 28, C: 16, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 0, PadL: 0, OH: 14, OW: 14},
	} {
		for _, b := range [][2]float32{{NoClampLo, NoClampHi}, {-2, 4}} {
			p.Lo, p.Hi = b[0], b[1]
			t.Run(fmt.Sprintf("%+v", p), func(t *testing.T) {
				in := randSlice(rng, p.H*p.W*p.C)
				for i := range in {
					in[i] *= 4
				}
				for i := 0; i < len(in); i += 97 {
					in[i] = [...]float32{3e38, -3e38, 0}[i%3]
				}
				w := randSlice(rng, p.KH*p.KW*p.C)
				bias := randSlice(rng, p.C)
				want := make([]float32, p.OH*p.OW*p.C)
				DepthwiseBlocked(&p, in, w, bias, want, 0, p.OH, nil)
				HardSwish(want)
				for _, epi := range []bool{true, false} {
					dwHSEpilogue = epi
					got := make([]float32, len(want))
					DepthwiseBlockedHardSwish(&p, in, w, bias, got, 0, p.OH, nil)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
							t.Fatalf("epilogue %v: element %d = %g, DepthwiseBlocked+HardSwish %g", epi, i, got[i], want[i])
						}
					}
				}
			})
		}
	}
}

// BenchmarkDepthwisePadWhole runs MobileNet V3-Large's stride-1 depthwise
// layers on the one-pixel kernels with the border rows padded row by row
// and, where DepthwiseBlocked takes it, as one padded block (dwPadWhole),
// alternating in one loop; it reports each one's median time and the
// median of the per-pair ratios (row by row over block).
func BenchmarkDepthwisePadWhole(b *testing.B) {
	defer func(v bool) { dwPadWhole = v }(dwPadWhole)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range []struct{ h, c, k int }{{7, 960, 5}, {14, 200, 3}, {14, 184, 3}, {28, 120, 5}, {56, 72, 3}} {
		pad := (s.k - 1) / 2
		p := DWParams{H: s.h, W: s.h, C: s.c, KH: s.k, KW: s.k, SH: 1, SW: 1, PadT: pad, PadL: pad, OH: s.h, OW: s.h, Lo: 0, Hi: 6}
		in, w, bias := randSlice(rng, s.h*s.h*s.c), randSlice(rng, s.k*s.k*s.c), randSlice(rng, s.c)
		out := make([]float32, s.h*s.h*s.c)
		scratch := make([]float32, DWScratch(&p))
		b.Run(fmt.Sprintf("%dx%dx%d_k%d", s.h, s.h, s.c, s.k), func(b *testing.B) {
			run := func() { DepthwiseBlockedHardSwish(&p, in, w, bias, out, 0, p.OH, scratch) }
			t := abbench.Alternate(b, abbench.Wall,
				abbench.Side{Name: "whole", Setup: func() { dwPadWhole = true }, Run: run},
				abbench.Side{Name: "rows", Setup: func() { dwPadWhole = false }, Run: run})
			t.Report(b, 0, abbench.Med, 1e6, "%s-med-us")
			b.ReportMetric(abbench.Med(t.Ratios(0, 1, 0)), "speedup-med")
		})
	}
}

// BenchmarkDepthwiseHSEpilogue runs MobileNet V3-Large's 3x3 depthwise
// layers followed by HARD_SWISH on the four-pixel kernels with HARD_SWISH
// applied as they store and as a pass over each row (dwHSEpilogue),
// alternating in one loop; it reports each one's median time and the
// median of the per-pair ratios (pass over epilogue).
func BenchmarkDepthwiseHSEpilogue(b *testing.B) {
	defer func(v bool) { dwHSEpilogue = v }(dwHSEpilogue)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range []struct{ h, c, stride int }{{14, 672, 1}, {14, 480, 1}, {28, 240, 2}} {
		o := (s.h + s.stride - 1) / s.stride
		pad := max((o-1)*s.stride+3-s.h, 0) / 2
		p := DWParams{H: s.h, W: s.h, C: s.c, KH: 3, KW: 3, SH: s.stride, SW: s.stride, PadT: pad, PadL: pad, OH: o, OW: o, Lo: NoClampLo, Hi: NoClampHi}
		in, w, bias := randSlice(rng, s.h*s.h*s.c), randSlice(rng, 9*s.c), randSlice(rng, s.c)
		out := make([]float32, o*o*s.c)
		scratch := make([]float32, DWScratch(&p))
		b.Run(fmt.Sprintf("%dx%dx%d_s%d", s.h, s.h, s.c, s.stride), func(b *testing.B) {
			run := func() { DepthwiseBlockedHardSwish(&p, in, w, bias, out, 0, o, scratch) }
			t := abbench.Alternate(b, abbench.Wall,
				abbench.Side{Name: "epilogue", Setup: func() { dwHSEpilogue = true }, Run: run},
				abbench.Side{Name: "pass", Setup: func() { dwHSEpilogue = false }, Run: run})
			t.Report(b, 0, abbench.Med, 1e6, "%s-med-us")
			b.ReportMetric(abbench.Med(t.Ratios(0, 1, 0)), "speedup-med")
		})
	}
}

// BenchmarkDepthwiseEight compares DepthwiseBlocked with stride-1 rows run
// four pixels at a time and each edge pixel alone from a padded copy
// ("four"), eight at a time ("eight"), and eight at a time with rows of
// eight pixels or more whole on the edge-aware kernel ("rows"),
// alternately call by call on one thread, on the stride-1 3x3 layers of
// MobileNet V1 1.0@128 (fused with their 1x1 convolutions, a band of rows
// at a time, and alone), V2 1.0@224 and V3-Large 1.0@224 (HARD_SWISH
// after), and on stride-2 layers of V1 and V2 (where "eight" is "four"),
// and reports each one's median GMAC/s (thread CPU time) and the median
// speedups of "eight" and "rows" over "four".
func BenchmarkDepthwiseEight(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512 on this CPU")
	}
	defer func(v, e bool) { dwEight, dwEdgeRows = v, e }(dwEight, dwEdgeRows)
	for _, s := range []struct {
		h, c, rows, stride int
		hs                 bool
	}{{64, 32, 3, 1, false}, {32, 128, 3, 1, false}, {16, 256, 16, 1, false}, {8, 512, 8, 1, false},
		{112, 96, 2, 1, false}, {56, 144, 4, 1, false}, {28, 192, 28, 1, false}, {14, 576, 14, 1, false},
		{28, 240, 28, 1, true}, {14, 480, 14, 1, true},
		// Stride 2 (SAME, even sizes): V1's, V2's.
		{64, 64, 3, 2, false}, {32, 128, 6, 2, false}, {16, 256, 8, 2, false}, {112, 96, 2, 2, false}, {28, 192, 14, 2, false},
		// Rows of four to seven pixels: V1's 4x4x1024, 8x8x512 at stride 2, V2's 14x14x576 at stride 2.
		{4, 1024, 4, 1, false}, {8, 512, 4, 2, false}, {14, 576, 7, 2, false}} {
		p := DWParams{H: s.h, W: s.h, C: s.c, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: s.h, OW: s.h, Lo: 0, Hi: 6}
		if s.stride == 2 {
			p.SH, p.SW, p.PadT, p.PadL, p.OH, p.OW = 2, 2, 0, 0, s.h/2, s.h/2
		}
		if s.hs {
			p.Lo, p.Hi = NoClampLo, NoClampHi
		}
		b.Run(fmt.Sprintf("%dx%dx%d/s%d/rows%d/hs=%v", s.h, s.h, s.c, s.stride, s.rows, s.hs), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			in := randSlice(rng, p.H*p.W*p.C)
			w := randSlice(rng, 9*p.C)
			bias := randSlice(rng, p.C)
			out := make([]float32, p.OH*p.OW*p.C)
			scratch := make([]float32, DWScratch(&p))
			y0 := p.OH / 2 // a band in the middle of the image
			run := func() {
				if s.hs {
					DepthwiseBlockedHardSwish(&p, in, w, bias, out, y0, min(y0+s.rows, p.OH), scratch)
				} else {
					DepthwiseBlocked(&p, in, w, bias, out, y0, min(y0+s.rows, p.OH), scratch)
				}
			}
			mode := func(name string, eight, rows bool) abbench.Side {
				return abbench.Side{Name: name, Setup: func() { dwEight, dwEdgeRows = eight, rows }, Run: run}
			}
			t := abbench.Alternate(b, abbench.ThreadCPU, mode("four", false, false), mode("eight", true, false), mode("rows", true, true))
			macs := float64(min(s.rows, p.OH-y0)*p.OW*p.C) * 9
			for j, name := range t.Names {
				b.ReportMetric(macs/abbench.Med(t.Series(j, 0))/1e9, "med-GMAC/s-"+name)
			}
			b.ReportMetric(t.MedRatio(0, 0, 1), "x-eight")
			b.ReportMetric(t.MedRatio(0, 0, 2), "x-rows")
		})
	}
}
