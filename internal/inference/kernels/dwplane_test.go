package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// dwPlaneShapes covers DepthwisePlanes' shape classes: windows 3, 5 and 7,
// strides 1 and 2 (and a stride down unlike across), channels a multiple
// of 16, an odd multiple of 8 (AVX-512 plus an AVX2 block) and not a
// multiple of 8 (a portable last block), rows of 1..7 pixels (the
// kernels' leftover groups), 8k and 8k+r, images of 7x7, 4x4, 2x2 and 1x1
// where most taps are padding, SAME and VALID padding.
var dwPlaneShapes = []DWParams{
	{H: 28, W: 28, C: 120, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, OH: 28, OW: 28},
	{H: 56, W: 56, C: 72, KH: 5, KW: 5, SH: 2, SW: 2, PadT: 1, PadL: 1, OH: 28, OW: 28},
	{H: 7, W: 7, C: 96, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, OH: 7, OW: 7},
	{H: 14, W: 14, C: 48, KH: 5, KW: 5, SH: 2, SW: 2, PadT: 1, PadL: 1, OH: 7, OW: 7},
	{H: 14, W: 14, C: 40, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 14, OW: 14},
	{H: 14, W: 13, C: 24, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 0, PadL: 0, OH: 7, OW: 6},
	{H: 4, W: 4, C: 32, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 4, OW: 4},
	{H: 2, W: 2, C: 16, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, OH: 2, OW: 2},
	{H: 1, W: 1, C: 8, KH: 7, KW: 7, SH: 1, SW: 1, PadT: 3, PadL: 3, OH: 1, OW: 1},
	{H: 19, W: 21, C: 16, KH: 7, KW: 7, SH: 1, SW: 1, PadT: 3, PadL: 3, OH: 19, OW: 21},
	{H: 17, W: 23, C: 24, KH: 7, KW: 7, SH: 2, SW: 2, PadT: 3, PadL: 3, OH: 9, OW: 12},
	{H: 12, W: 15, C: 32, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 0, PadL: 0, OH: 8, OW: 11},  // VALID
	{H: 13, W: 13, C: 16, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 0, PadL: 0, OH: 6, OW: 6},   // VALID, stride 2
	{H: 10, W: 17, C: 12, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, OH: 10, OW: 17}, // not a multiple of 8
	{H: 9, W: 9, C: 20, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, OH: 5, OW: 5},     // 16 + 4
	{H: 11, W: 10, C: 16, KH: 5, KW: 5, SH: 2, SW: 1, PadT: 2, PadL: 2, OH: 6, OW: 10},  // stride 2 down, 1 across
	{H: 8, W: 16, C: 8, KH: 3, KW: 3, SH: 1, SW: 2, PadT: 1, PadL: 0, OH: 8, OW: 8},     // padding right only
	{H: 5, W: 9, C: 16, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 4, PadL: 4, OH: 9, OW: 13},    // padding of 4
	// Wide enough (dwDirectMin) for the inside columns to read the input
	// directly: edges on both sides, on none (VALID), on one side only,
	// stride 2 down only, a block below 8 channels, windows 3 and 7.
	{H: 6, W: 40, C: 20, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, OH: 6, OW: 40},
	{H: 9, W: 40, C: 24, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 0, PadL: 0, OH: 4, OW: 19},
	{H: 10, W: 38, C: 16, KH: 5, KW: 5, SH: 2, SW: 2, PadT: 1, PadL: 1, OH: 5, OW: 19},
	{H: 11, W: 36, C: 40, KH: 7, KW: 7, SH: 2, SW: 1, PadT: 3, PadL: 3, OH: 6, OW: 36},
	{H: 9, W: 34, C: 8, KH: 7, KW: 7, SH: 1, SW: 1, PadT: 0, PadL: 3, OH: 3, OW: 34},
	{H: 12, W: 33, C: 48, KH: 5, KW: 5, SH: 2, SW: 2, PadT: 2, PadL: 2, OH: 6, OW: 17},
}

// dwPlaneBounds are no bounds, ReLU6 and bounds on both sides of zero.
var dwPlaneBounds = [][2]float32{{NoClampLo, NoClampHi}, {0, 6}, {-0.5, 0.5}}

// TestDepthwisePlanes: on every path (AVX-512, AVX2, portable) and shape
// class, DepthwisePlanes matches the float64 reference, gives exactly
// DepthwiseBlocked's sums on the same path where that takes the taps in
// the same order (5x5 and 7x7 windows with channels a multiple of 8, and
// the portable path), HARD_SWISH included, and writes nothing outside its rows: run
// over a row range and then the rest, as two threads would split them,
// into an output with guard values around it.
func TestDepthwisePlanes(t *testing.T) {
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, p := range dwPlaneShapes {
			for _, b := range dwPlaneBounds {
				for _, hs := range []bool{false, true} {
					p.Lo, p.Hi = b[0], b[1]
					name := fmt.Sprintf("%dx%dx%d_k%d_s%d%d_p%d%d_%g_%g_hs%v", p.H, p.W, p.C, p.KH, p.SH, p.SW, p.PadT, p.PadL, p.Lo, p.Hi, hs)
					in := randSlice(rng, p.H*p.W*p.C)
					w := randSlice(rng, p.KH*p.KW*p.C)
					bias := randSlice(rng, p.C)
					want := refDepthwise(&p, in, w, bias)
					if hs {
						hardSwish64(want)
					}
					n := p.OH * p.OW * p.C
					guard := float32(math.Float32frombits(0x7fc00123)) // a NaN no kernel writes
					buf := make([]float32, n+64)
					for i := range buf {
						buf[i] = guard
					}
					out := buf[32 : 32+n]
					mid := p.OH / 2
					DepthwisePlanes(&p, in, w, bias, out, mid, p.OH, make([]float32, DWPlaneScratch(&p)), hs)
					for i := range buf {
						inside := i >= 32+mid*p.OW*p.C && i < 32+n
						if !inside && math.Float32bits(buf[i]) != 0x7fc00123 {
							t.Fatalf("%s: rows %d..%d wrote element %d outside them", name, mid, p.OH, i-32)
						}
					}
					DepthwisePlanes(&p, in, w, bias, out, 0, mid, nil, hs)
					for i := range 32 {
						if math.Float32bits(buf[i]) != 0x7fc00123 || math.Float32bits(buf[32+n+i]) != 0x7fc00123 {
							t.Fatalf("%s: wrote outside the output", name)
						}
					}
					for i, v := range out {
						if math.IsNaN(float64(v)) { // closeTo lets NaN through
							t.Fatalf("%s: element %d not written", name, i)
						}
					}
					closeTo(t, out, want, 2e-5)
					old := make([]float32, n)
					if hs {
						DepthwiseBlockedHardSwish(&p, in, w, bias, old, 0, p.OH, nil)
					} else {
						DepthwiseBlocked(&p, in, w, bias, old, 0, p.OH, nil)
					}
					// The one-pixel 3x3 kernels (all of a row with AVX2, a
					// row's leftover pixels with AVX-512) sum window
					// columns apart; below 8 channels apart DepthwiseBlocked
					// runs the portable code for all of them.
					tapOrder := !hasAVX2FMA || (p.KH != 3 && p.C%8 == 0)
					for i := range old {
						if tapOrder && out[i] != old[i] {
							t.Fatalf("%s: element %d: planes %g, DepthwiseBlocked %g", name, i, out[i], old[i])
						}
					}
				}
			}
		}
	})
}

// TestDepthwisePlanesPathsAgree: the AVX-512 and AVX2 kernels give the
// same bits (each channel's sum is taken in the same order whatever the
// vector width), and the portable code agrees with them within float32
// rounding (Go rounds the product before adding it; FMA does not). On
// every path, reading the inside columns from the input (dwDirect) gives
// the bits of the whole-plane copy, with bands of every size down to one
// output row (dwBandBytes).
func TestDepthwisePlanesPathsAgree(t *testing.T) {
	saved2, saved512, savedBand := hasAVX2FMA, hasAVX512, dwBandBytes
	defer func() { hasAVX2FMA, hasAVX512, dwBandBytes, dwDirect = saved2, saved512, savedBand, true }()
	if !saved2 {
		t.Skip("no AVX2 on this CPU")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for _, p := range dwPlaneShapes {
		p.Lo, p.Hi = NoClampLo, NoClampHi
		in := randSlice(rng, p.H*p.W*p.C)
		w := randSlice(rng, p.KH*p.KW*p.C)
		bias := randSlice(rng, p.C)
		run := func(avx2, avx512 bool) []float32 {
			hasAVX2FMA, hasAVX512 = avx2, avx512
			out := make([]float32, p.OH*p.OW*p.C)
			DepthwisePlanes(&p, in, w, bias, out, 0, p.OH, nil, false)
			for _, band := range []int{savedBand, 1, 3 * 4 * p.W * 16} {
				dwBandBytes = band
				for _, direct := range []bool{false, true} {
					dwDirect = direct
					again := make([]float32, len(out))
					mid := p.OH / 3
					DepthwisePlanes(&p, in, w, bias, again, mid, p.OH, nil, false)
					DepthwisePlanes(&p, in, w, bias, again, 0, mid, nil, false)
					for i := range out {
						if math.Float32bits(out[i]) != math.Float32bits(again[i]) {
							t.Fatalf("%+v avx2 %v avx512 %v band %d direct %v: element %d: %g, want %g", p, avx2, avx512, band, direct, i, again[i], out[i])
						}
					}
				}
			}
			dwBandBytes, dwDirect = savedBand, true
			return out
		}
		generic, avx2 := run(false, false), run(true, false)
		closeTo(t, generic, avx2, 1e-5)
		if !saved512 {
			continue
		}
		avx512 := run(true, true)
		for i := range avx2 {
			if math.Float32bits(avx2[i]) != math.Float32bits(avx512[i]) {
				t.Fatalf("%+v: element %d: AVX-512 %g, AVX2 %g", p, i, avx512[i], avx2[i])
			}
		}
	}
}

// hardSwish64 is HARD_SWISH in float64, rounded once.
func hardSwish64(v []float32) {
	for i, x := range v {
		f := float64(x)
		v[i] = float32(f * min(max(f+3, 0), 6) / 6)
	}
}

// v3Depthwise are MobileNet V3-Large@224's depthwise layers (hs: HARD_SWISH
// after them).
var v3Depthwise = []struct {
	h, c, k, stride int
	hs              bool
}{
	{112, 16, 3, 1, false}, {112, 64, 3, 2, false}, {56, 72, 3, 1, false}, {56, 72, 5, 2, false},
	{28, 120, 5, 1, false}, {28, 240, 3, 2, true}, {14, 200, 3, 1, true}, {14, 184, 3, 1, true},
	{14, 480, 3, 1, true}, {14, 672, 3, 1, true}, {14, 672, 5, 2, true}, {7, 960, 5, 1, true},
}

// v1Depthwise are MobileNet V1 1.0@128's depthwise layers.
var v1Depthwise = []struct {
	h, c, k, stride int
	hs              bool
}{
	{64, 32, 3, 1, false}, {64, 64, 3, 2, false}, {32, 128, 3, 1, false}, {32, 128, 3, 2, false},
	{16, 256, 3, 1, false}, {16, 256, 3, 2, false}, {8, 512, 3, 1, false}, {8, 512, 3, 2, false}, {4, 1024, 3, 1, false},
}

// BenchmarkDepthwisePlanes compares, on V3-Large's depthwise layers, the
// operator's path before the plane kernels (DepthwiseBlocked, with
// HARD_SWISH row by row where the layer has it) with DepthwisePlanes
// (planes) and DepthwisePlanes copying every column into the plane
// (planescopy, dwDirect off), in CPU time per layer.
func BenchmarkDepthwisePlanes(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range append(v3Depthwise, v1Depthwise...) {
		o := (s.h + s.stride - 1) / s.stride
		pad := max((o-1)*s.stride+s.k-s.h, 0) / 2
		p := DWParams{H: s.h, W: s.h, C: s.c, KH: s.k, KW: s.k, SH: s.stride, SW: s.stride, PadT: pad, PadL: pad, OH: o, OW: o, Lo: 0, Hi: 6}
		if s.hs {
			p.Lo, p.Hi = NoClampLo, NoClampHi
		}
		in, w, bias := randSlice(rng, s.h*s.h*s.c), randSlice(rng, s.k*s.k*s.c), randSlice(rng, s.c)
		out := make([]float32, o*o*s.c)
		scratch := make([]float32, max(DWScratch(&p), DWPlaneScratch(&p)))
		for _, variant := range []string{"blocked", "planes", "planescopy"} {
			planes := variant != "blocked"
			b.Run(fmt.Sprintf("%dx%dx%d_k%d_s%d/%s", s.h, s.h, s.c, s.k, s.stride, variant), func(b *testing.B) {
				dwDirect = variant != "planescopy"
				defer func() { dwDirect = true }()
				cpu0 := cpuSeconds()
				for b.Loop() {
					switch {
					case planes:
						DepthwisePlanes(&p, in, w, bias, out, 0, o, scratch, s.hs)
					case s.hs:
						DepthwiseBlockedHardSwish(&p, in, w, bias, out, 0, o, scratch)
					default:
						DepthwiseBlocked(&p, in, w, bias, out, 0, o, scratch)
					}
				}
				us := (cpuSeconds() - cpu0) * 1e6 / float64(b.N)
				b.ReportMetric(us, "cpu-µs/op")
				b.ReportMetric(float64(o*o*s.c*s.k*s.k)/us/1e3, "GMAC/s")
			})
		}
	}
}
