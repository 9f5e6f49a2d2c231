package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// dwPaddedAVX2 is the order of sums the AVX2 row kernels keep: the whole
// image copied into a zero-padded plane, each output row run through the
// one-pixel kernel dw3x3AVX2, HARD_SWISH by HardSwish.
func dwPaddedAVX2(p *DWParams, in, w, bias []float32, hs bool) []float32 {
	c := p.C
	hp, wp := (p.OH-1)*p.SH+3, (p.OW-1)*p.SW+3
	pad := make([]float32, hp*wp*c)
	for y := range hp {
		iy := y - p.PadT
		for x := range wp {
			ix := x - p.PadL
			if iy >= 0 && iy < p.H && ix >= 0 && ix < p.W {
				copy(pad[(y*wp+x)*c:(y*wp+x+1)*c], in[(iy*p.W+ix)*c:(iy*p.W+ix+1)*c])
			}
		}
	}
	out := make([]float32, p.OH*p.OW*c)
	for oy := range p.OH {
		dst := out[oy*p.OW*c : (oy+1)*p.OW*c]
		dw3x3AVX2(&dst[0], &pad[oy*p.SH*wp*c], &w[0], &bias[0], p.OW, c, p.SW*c*4, wp*c*4, p.Lo, p.Hi, 4*c)
		if hs {
			HardSwish(dst)
		}
	}
	return out
}

// dwDepthwiseOrderAVX2 is the order of sums the AVX2 row kernels keep at
// stride 2 across: Depthwise's, rows whose window leaves the image and
// pixels whose window leaves a row's edge tap by tap (dwTaps), the others
// on dw3x3AVX2 in place. (Depthwise itself reads past a row of two pixels
// whose one window reaches a column past the image: its count of inside
// pixels rounds -1/2 to 0.)
func dwDepthwiseOrderAVX2(p *DWParams, in, w, bias []float32, hs bool) []float32 {
	if p.SW != 2 {
		return dwPaddedAVX2(p, in, w, bias, hs)
	}
	c := p.C
	out := make([]float32, p.OH*p.OW*c)
	xa, xb := p.PadL, 0
	if d := p.W - 3 + p.PadL; d >= 0 {
		xb = min(d/p.SW+1, p.OW)
	}
	for oy := range p.OH {
		iy0 := oy*p.SH - p.PadT
		if iy0 < 0 || iy0+3 > p.H || xb <= xa {
			dwTaps(p, in, w, bias, out, oy, 0, p.OW)
		} else {
			dwTaps(p, in, w, bias, out, oy, 0, xa)
			ix0 := xa*p.SW - p.PadL
			dw3x3AVX2(&out[(oy*p.OW+xa)*c], &in[(iy0*p.W+ix0)*c], &w[0], &bias[0], xb-xa, c, p.SW*c*4, p.W*c*4, p.Lo, p.Hi, 4*c)
			dwTaps(p, in, w, bias, out, oy, xb, p.OW)
		}
		if hs {
			HardSwish(out[oy*p.OW*c : (oy+1)*p.OW*c])
		}
	}
	return out
}

// TestDepthwiseRowsAVX2 checks DepthwiseBlocked(HardSwish) on the AVX2 row
// kernels bit for bit against the path before them (at stride 1 across,
// dw3x3AVX2 on zero-padded copies; at stride 2, Depthwise's order: border
// pixels tap by tap) and close to the float64 reference: strides 1 and 2 (across and down apart), SAME and VALID
// padding, odd and even sizes, rows of 1 to 9 pixels (every remainder
// after groups of four, the first and last group with and without their
// edge), 8 to 1024 channels, bounds that bind, HARD_SWISH with inputs that
// cross both of its bends, row ranges split as threads split them, scratch
// nil or short; and nothing written outside the rows asked for. Every
// shape runs on each kernel: eight channels at a time, the same on
// padded-stride copies, sixteen at a time where the channels allow, and
// with copies allowed but the input Hot (in place); at stride 1 across
// also the chain kernels (dwChain), which sum in another order: eight and
// sixteen channels at a time against the float64 reference, and the
// sixteen-channel one on padded-stride copies bit for bit against it in
// place.
func TestDepthwiseRowsAVX2(t *testing.T) {
	if !hasAVX2FMA || hasAVX512 {
		t.Skip("the AVX2 row kernels run on AVX2 without AVX-512")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	type shape struct{ h, w, c, sh, sw, padT, padL, oh, ow int }
	var shapes []shape
	same := func(h, w, c, sh, sw int) {
		oh, ow := (h+sh-1)/sh, (w+sw-1)/sw
		padT := max((oh-1)*sh+3-h, 0) / 2
		padL := max((ow-1)*sw+3-w, 0) / 2
		shapes = append(shapes, shape{h, w, c, sh, sw, padT, padL, oh, ow})
	}
	valid := func(h, w, c, sh, sw int) {
		shapes = append(shapes, shape{h, w, c, sh, sw, 0, 0, (h-3)/sh + 1, (w-3)/sw + 1})
	}
	for w := 1; w <= 10; w++ {
		for _, s := range [][2]int{{1, 1}, {2, 2}, {1, 2}, {2, 1}} {
			same(w%4+3, w, 8*(1+w%3), s[0], s[1])
			if w >= 3 {
				valid(w%3+3, w, 16, s[0], s[1])
			}
		}
	}
	same(8, 8, 512, 1, 1)
	same(4, 4, 1024, 1, 1)
	same(16, 16, 256, 2, 2)
	same(9, 9, 72, 2, 2)
	same(7, 7, 120, 1, 1)
	same(15, 17, 40, 2, 2)
	same(1, 1, 8, 1, 1)
	same(2, 3, 16, 2, 2)
	// A band of rows that reads none of the image (a fused expansion's
	// band can be all padding).
	shapes = append(shapes, shape{0, 5, 8, 1, 1, 1, 1, 1, 5})
	defer func(f func(int, int) bool, g func(int, int) bool, h func(int) int) {
		dwX16, dwPadStride, dwChain = f, g, h
	}(dwX16, dwPadStride, dwChain)
	type run struct {
		shape
		mode string
	}
	var runs []run
	for _, s := range shapes {
		runs = append(runs, run{s, "x8"}, run{s, "padded"}, run{s, "hot"})
		if s.c%16 == 0 {
			runs = append(runs, run{s, "x16"})
		}
		if s.sw == 1 {
			runs = append(runs, run{s, "chain8"}, run{s, "chain16"})
			if s.c%16 == 0 {
				runs = append(runs, run{s, "chain16pad"})
			}
		}
	}
	for _, r := range runs {
		s := r.shape
		dwX16 = func(int, int) bool { return r.mode == "x16" }
		dwPadStride = func(int, int) bool { return r.mode == "padded" || r.mode == "hot" || r.mode == "chain16pad" }
		chain := map[string]int{"chain8": 1, "chain16": 2, "chain16pad": 2}[r.mode]
		dwChain = func(int) int { return chain }
		p := DWParams{H: s.h, W: s.w, C: s.c, KH: 3, KW: 3, SH: s.sh, SW: s.sw, PadT: s.padT, PadL: s.padL, OH: s.oh, OW: s.ow,
			Hot: r.mode == "hot"}
		if !dw3x3AVX2Takes(&p) {
			t.Fatalf("%+v: not taken", s)
		}
		for _, act := range []struct {
			lo, hi float32
			hs     bool
		}{{NoClampLo, NoClampHi, false}, {-0.5, 0.5, false}, {NoClampLo, NoClampHi, true}} {
			t.Run(fmt.Sprintf("%dx%dx%d/s%dx%d/pad%d,%d/%dx%d/hs=%v/lo=%g/%s", s.h, s.w, s.c, s.sh, s.sw, s.padT, s.padL, s.oh, s.ow, act.hs, act.lo, r.mode), func(t *testing.T) {
				p.Lo, p.Hi = act.lo, act.hi
				in := randSlice(rng, p.H*p.W*p.C)
				for i := range in {
					in[i] *= 4 // sums past HARD_SWISH's bends at -3 and 3
				}
				w := randSlice(rng, 9*p.C)
				bias := randSlice(rng, p.C)
				exact := dwDepthwiseOrderAVX2(&p, in, w, bias, act.hs)
				ref := refDepthwiseAct(&p, in, w, bias, act.hs)
				run := func(out []float32, y0, y1 int, scratch []float32) {
					if act.hs {
						DepthwiseBlockedHardSwish(&p, in, w, bias, out, y0, y1, scratch)
					} else {
						DepthwiseBlocked(&p, in, w, bias, out, y0, y1, scratch)
					}
				}
				n := p.OH * p.OW * p.C
				out := make([]float32, n+p.C)
				out[n] = 42
				run(out[:n], 0, p.OH, make([]float32, DWScratch(&p)))
				if out[n] != 42 {
					t.Fatalf("wrote past the output")
				}
				same := func(out []float32) {
					t.Helper()
					for i := range exact {
						if out[i] != exact[i] {
							t.Fatalf("element %d (pixel %d, channel %d): %g, the path before %g", i, i/p.C, i%p.C, out[i], exact[i])
						}
					}
				}
				if chain != 0 {
					// The chain kernels sum in another order: the
					// float64 reference checks them; the padded-stride
					// one must give the in-place one's bits, and each
					// its own whole run's when split below.
					pad := dwPadStride
					dwPadStride = func(int, int) bool { return false }
					exact = make([]float32, n)
					run(exact, 0, p.OH, nil)
					dwPadStride = pad
				}
				same(out)
				closeTo(t, out[:n], ref, 4e-6)
				// Rows in two ranges, the lower one first, no scratch;
				// rows outside a range untouched.
				for i := range out[:n] {
					out[i] = 42
				}
				mid := p.OH / 2
				run(out[:n], mid, p.OH, nil)
				for i := range out[:mid*p.OW*p.C] {
					if out[i] != 42 {
						t.Fatalf("rows [%d, %d) wrote element %d", mid, p.OH, i)
					}
				}
				run(out[:n], 0, mid, make([]float32, 1))
				same(out)
			})
		}
	}
}

// TestDepthwiseRowsAVX2Declines: shapes the row kernels do not take go
// on as before (and DepthwiseBlocked still matches the reference).
func TestDepthwiseRowsAVX2Declines(t *testing.T) {
	if !hasAVX2FMA || hasAVX512 {
		t.Skip("the AVX2 row kernels run on AVX2 without AVX-512")
	}
	rng := rand.New(rand.NewPCG(23, 24))
	for _, p := range []DWParams{
		{H: 5, W: 23, C: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 2, PadL: 2, OH: 7, OW: 25}, // two columns of padding
		{H: 8, W: 8, C: 12, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 8, OW: 8},   // channels not a multiple of 8
		{H: 8, W: 8, C: 16, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, OH: 8, OW: 8},   // 5x5
		{H: 9, W: 9, C: 16, KH: 3, KW: 3, SH: 3, SW: 3, PadT: 0, PadL: 0, OH: 3, OW: 3},   // stride 3
	} {
		if dw3x3AVX2Takes(&p) {
			t.Fatalf("%+v: taken", p)
		}
		p.Lo, p.Hi = NoClampLo, NoClampHi
		in := randSlice(rng, p.H*p.W*p.C)
		w := randSlice(rng, p.KH*p.KW*p.C)
		bias := randSlice(rng, p.C)
		out := make([]float32, p.OH*p.OW*p.C)
		DepthwiseBlocked(&p, in, w, bias, out, 0, p.OH, nil)
		closeTo(t, out, refDepthwise(&p, in, w, bias), 1e-5)
	}
}

// BenchmarkDepthwiseRowsAVX2 compares DepthwiseBlocked on the AVX2 row
// kernels, eight channels and four pixels at a time ("x8"), the same on
// padded-stride copies ("pad") and, where the channels allow, sixteen and
// two ("x16"), with the path before them ("old": the one-pixel
// kernel on padded copies at stride 1, Depthwise at stride 2), alternately
// call by call on one thread (thread CPU time), on whole images of the 3x3
// layers of MobileNet V1 1.0@128 and V3-Large 1.0@224 (HARD_SWISH after),
// and reports each side's median GMAC/s and the median, least and
// greatest of the per-round speedups over "old".
func BenchmarkDepthwiseRowsAVX2(b *testing.B) {
	if !hasAVX2FMA || hasAVX512 {
		b.Skip("the AVX2 row kernels run on AVX2 without AVX-512")
	}
	defer func(v bool, f func(int, int) bool, g func(int, int) bool, h func(int) int) {
		dwRowsAVX2, dwX16, dwPadStride, dwChain = v, f, g, h
	}(dwRowsAVX2, dwX16, dwPadStride, dwChain)
	for _, s := range []struct {
		h, c, stride int
		hs           bool
	}{
		{64, 32, 1, false}, {64, 64, 2, false}, {32, 128, 1, false}, {32, 128, 2, false},
		{16, 256, 1, false}, {16, 256, 2, false}, {8, 512, 1, false}, {8, 512, 2, false}, {4, 1024, 1, false},
		{112, 16, 1, false}, {112, 64, 2, false}, {56, 72, 1, false}, {28, 240, 2, true},
		{14, 200, 1, true}, {14, 184, 1, true}, {14, 480, 1, true},
	} {
		p := DWParams{H: s.h, W: s.h, C: s.c, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: s.h, OW: s.h, Lo: 0, Hi: 6}
		if s.stride == 2 {
			p.SH, p.SW, p.PadT, p.PadL, p.OH, p.OW = 2, 2, 0, 0, s.h/2, s.h/2
		}
		if s.hs {
			p.Lo, p.Hi = NoClampLo, NoClampHi
		}
		b.Run(fmt.Sprintf("%dx%dx%d/s%d/hs=%v", s.h, s.h, s.c, s.stride, s.hs), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			in := randSlice(rng, p.H*p.W*p.C)
			w := randSlice(rng, 9*p.C)
			bias := randSlice(rng, p.C)
			out := make([]float32, p.OH*p.OW*p.C)
			scratch := make([]float32, max(DWScratch(&p), dwPaddedScratch(&p, 0, p.OH)))
			run := func() {
				if s.hs {
					DepthwiseBlockedHardSwish(&p, in, w, bias, out, 0, p.OH, scratch)
				} else {
					DepthwiseBlocked(&p, in, w, bias, out, 0, p.OH, scratch)
				}
			}
			side := func(name string, on, x16, pad bool, chain int) abbench.Side {
				return abbench.Side{Name: name, Run: run, Setup: func() {
					dwRowsAVX2, dwX16, dwPadStride = on, func(int, int) bool { return x16 }, func(int, int) bool { return pad }
					dwChain = func(int) int { return chain }
				}}
			}
			sides := []abbench.Side{side("old", false, false, false, 0), side("x8", true, false, false, 0), side("pad", true, false, true, 0)}
			if p.C%16 == 0 {
				sides = append(sides, side("x16", true, true, false, 0))
			}
			if s.stride == 1 {
				sides = append(sides, side("chain8", true, false, false, 1))
				if p.C%16 == 0 {
					sides = append(sides, side("chain16", true, false, false, 2), side("chain16pad", true, false, true, 2))
				}
			}
			t := abbench.Alternate(b, abbench.ThreadCPU, sides...)
			macs := float64(p.OH*p.OW*p.C) * 9
			for j, name := range t.Names {
				b.ReportMetric(macs/abbench.Med(t.Series(j, 0))/1e9, "med-GMAC/s-"+name)
				if j > 0 {
					r := t.Ratios(0, 0, j)
					b.ReportMetric(abbench.Med(r), "x-"+name+"-med")
					b.ReportMetric(r[0], "x-"+name+"-min")
					b.ReportMetric(r[len(r)-1], "x-"+name+"-max")
				}
			}
		})
	}
}

// TestDepthwiseNarrowRows: Depthwise and DepthwiseBlocked on rows narrower
// than the window's part inside them (two pixels at stride 2, the window
// one column past the right edge), on every path, match the reference;
// Depthwise used to take the one output column as inside and read the
// next row's first pixel.
func TestDepthwiseNarrowRows(t *testing.T) {
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(25, 26))
		for _, p := range []DWParams{
			{H: 5, W: 2, C: 8, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 0, OH: 3, OW: 1},
			{H: 7, W: 2, C: 16, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 0, OH: 4, OW: 1},
			{H: 6, W: 3, C: 32, KH: 5, KW: 5, SH: 2, SW: 2, PadT: 2, PadL: 1, OH: 3, OW: 2},
		} {
			p.Lo, p.Hi = NoClampLo, NoClampHi
			in := randSlice(rng, p.H*p.W*p.C)
			w := randSlice(rng, p.KH*p.KW*p.C)
			bias := randSlice(rng, p.C)
			want := refDepthwise(&p, in, w, bias)
			out := make([]float32, p.OH*p.OW*p.C)
			Depthwise(&p, in, w, bias, out, 0, p.OH)
			closeTo(t, out, want, 1e-5)
			clear(out)
			DepthwiseBlocked(&p, in, w, bias, out, 0, p.OH, nil)
			closeTo(t, out, want, 1e-5)
		}
	})
}
