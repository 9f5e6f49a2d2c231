package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// TestT4Pixels3x3 checks the T4 kernel (rows put in T4 form by T4Row)
// against Int8Pixels3x3 and Int8Pixels3x3U on the same padded rows (which
// TestDW3x3I8x64 and TestInt8Rows3x3 check against the portable kernel):
// channel counts of one to 60 groups of 16 in and out of whole blocks of
// 64, output counts that are and are not multiples of four, strides 1 and
// 2, gaps between outputs, both roundings, whole and narrower clamps, and
// garbage in the group padding past the windows. Where the T4 kernel does
// not run (the narrower paths) it must report so and write nothing.
func TestT4Pixels3x3(t *testing.T) {
	// The double rounding's quad form where the rescale allows it
	// (t4Quad: every rescale here), and the 64-bit form.
	for _, quad := range []bool{true, false} {
		t.Run(fmt.Sprintf("quad=%v", quad), func(t *testing.T) {
			defer func(v bool) { hasT4Quad = v }(hasT4Quad)
			hasT4Quad = quad
			eachInt8Path(t, testT4Pixels3x3)
		})
	}
}

func testT4Pixels3x3(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	ran := 0
	for _, c := range []int{16, 32, 48, 64, 144, 208, 960} {
		for _, double := range []bool{true, false} {
			for _, whole := range []bool{true, false} {
				w := make([]int32, 9*c)
				for i := range w {
					w[i] = int32(rng.IntN(256) - 128)
				}
				r := randRequant(rng, c, double)
				for i := range r.Bias {
					r.Bias[i] >>= 12
					r.Shift[i] = -6 - rng.IntN(8)
				}
				if whole {
					r.Lo, r.Hi = -128, 127
				}
				r = NewRequant(r.Bias, r.Mult, r.Shift, double, r.ZP, r.Lo, r.Hi)
				d, err := NewDWI8(3, 3, c, w, r)
				if err != nil {
					t.Fatal(err)
				}
				d.FoldZP(int32(rng.IntN(256) - 128))
				if d.qT != nil && double && (!d.q4 || (d.qTU != nil && !d.q4U)) {
					t.Fatalf("c %d: the quad form refused a rescale it takes", c)
				}
				if d.qT != nil && !double && (!d.h4 || (d.qTU != nil && !d.h4U)) {
					t.Fatalf("c %d: t4Hi refused a rescale whose shifts are all below -1", c)
				}
				for _, stride := range []int{1, 2} {
					for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 13, 16, 33} {
						wp := (n-1)*stride + 3
						g := T4Groups(n, stride)
						if 4*g < wp {
							t.Fatalf("T4Groups(%d, %d) = %d groups, fewer than the %d pixels the windows read", n, stride, g, wp)
						}
						// Three padded rows of 4g pixels; past wp they are
						// garbage no output may read.
						rowP := 4 * g * c
						in := make([]int8, 3*rowP)
						for i := range in {
							in[i] = int8(rng.IntN(256) - 128)
						}
						ostride := c + 16*rng.IntN(2)
						olen := (n-1)*ostride + c
						got := make([]int8, olen)
						gotU := make([]uint8, olen)
						for i := range got {
							got[i], gotU[i] = 99, 99
						}
						if !d.HasT4() {
							if d.T4Pixels3x3(got, ostride, make([]uint8, 3*rowP), [3]int{0, rowP, 2 * rowP}, stride, n) {
								t.Fatalf("c %d: T4Pixels3x3 ran without HasT4", c)
							}
							for i, v := range got {
								if v != 99 {
									t.Fatalf("c %d: T4Pixels3x3 wrote byte %d without HasT4", c, i)
								}
							}
							continue
						}
						ran++
						want := make([]int8, olen)
						if !d.Int8Pixels3x3(want, ostride, in, [3]int{0, rowP, 2 * rowP}, stride*c, n) {
							t.Fatalf("c %d: Int8Pixels3x3 did not run", c)
						}
						wantU := make([]uint8, olen)
						if !d.Int8Pixels3x3U(wantU, ostride, in, [3]int{0, rowP, 2 * rowP}, stride*c, n) {
							t.Fatalf("c %d: Int8Pixels3x3U did not run", c)
						}
						tr := make([]uint8, 3*rowP+rng.IntN(2)*4*c)
						for k := 0; k < 3; k++ {
							d.T4Row(tr[k*rowP:(k+1)*rowP], in[k*rowP:(k+1)*rowP])
						}
						rows := [3]int{0, rowP, 2 * rowP}
						if !d.T4Pixels3x3(got, ostride, tr, rows, stride, n) || !d.T4Pixels3x3U(gotU, ostride, tr, rows, stride, n) {
							t.Fatalf("c %d: T4Pixels3x3 did not run with HasT4", c)
						}
						for x := 0; x < n; x++ {
							for ch := 0; ch < ostride && x*ostride+ch < olen; ch++ {
								i := x*ostride + ch
								if ch >= c {
									if got[i] != 99 || gotU[i] != 99 {
										t.Fatalf("c %d stride %d n %d: gap byte %d written", c, stride, n, i)
									}
									continue
								}
								if got[i] != want[i] || gotU[i] != wantU[i] {
									t.Fatalf("c %d stride %d n %d double %v whole %v: output %d channel %d is %d/%d, want %d/%d",
										c, stride, n, double, whole, x, ch, got[i], gotU[i], want[i], wantU[i])
								}
							}
						}
					}
				}
			}
		}
	}
	if t4Ok() && ran == 0 {
		t.Fatal("the T4 kernel never ran on a path that has it")
	}
}

// TestT4Row checks T4Row's layout byte by byte: group q's word for
// channel c holds pixels 4q..4q+3 of channel c, each XORed with 0x80.
func TestT4Row(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for _, c := range []int{16, 48, 192} {
		w := make([]int32, 9*c)
		r := randRequant(rng, c, false)
		for i := range r.Shift {
			r.Shift[i] = -7
		}
		r = NewRequant(r.Bias, r.Mult, r.Shift, false, r.ZP, r.Lo, r.Hi)
		d, err := NewDWI8(3, 3, c, w, r)
		if err != nil {
			t.Fatal(err)
		}
		d.FoldZP(3)
		if !d.HasT4() {
			if t4Ok() {
				t.Fatalf("c %d: no T4 kernel where the CPU has it", c)
			}
			continue
		}
		for _, g := range []int{1, 2, 5} {
			src := make([]int8, 4*g*c+c)
			for i := range src {
				src[i] = int8(rng.IntN(256) - 128)
			}
			dst := make([]uint8, 4*g*c)
			d.T4Row(dst, src)
			for p := 0; p < 4*g; p++ {
				for ch := 0; ch < c; ch++ {
					got := dst[(p/4)*4*c+4*ch+p%4]
					if want := uint8(src[p*c+ch]) ^ 0x80; got != want {
						t.Fatalf("c %d groups %d: pixel %d channel %d is %#x, want %#x", c, g, p, ch, got, want)
					}
				}
			}
		}
	}
}

// TestT4Rows3x3 checks T4Rows3x3 (the channel groups outer over all
// rows) against one T4Pixels3x3 call per row (checked against the
// 64-channel kernel by TestT4Pixels3x3), signed and unsigned, single and
// double rounding (the latter in the quad form, whose per-group constants
// must last over all rows), on one to five rows at strides 1 and 2 with
// gaps between rows and outputs.
func TestT4Rows3x3(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	ran := false
	for ci, c := range []int{16, 48, 192, 576, 32, 144} {
		w := make([]int32, 9*c)
		for i := range w {
			w[i] = int32(rng.IntN(256) - 128)
		}
		double := ci >= 4 // TFLite's double rounding, in the quad form (t4Quad)
		r := randRequant(rng, c, double)
		for i := range r.Bias {
			r.Bias[i] >>= 12
			r.Shift[i] = -6 - rng.IntN(8)
		}
		r = NewRequant(r.Bias, r.Mult, r.Shift, double, r.ZP, r.Lo, r.Hi)
		d, err := NewDWI8(3, 3, c, w, r)
		if err != nil {
			t.Fatal(err)
		}
		d.FoldZP(int32(rng.IntN(256) - 128))
		if !d.HasT4() {
			if t4Ok() {
				t.Fatalf("c %d: no T4 kernel where the CPU has it", c)
			}
			continue
		}
		ran = true
		for _, stride := range []int{1, 2} {
			for _, nrows := range []int{1, 2, 5} {
				n := 1 + rng.IntN(9)
				rowT := 4*T4Groups(n, stride)*c + 64*rng.IntN(2)
				rowstep := stride * rowT
				in := make([]uint8, ((nrows-1)*stride+3)*rowT)
				for i := range in {
					in[i] = uint8(rng.IntN(256))
				}
				ostride := c + 16*rng.IntN(2)
				orow := (n-1)*ostride + c + rng.IntN(3)
				olen := (nrows-1)*orow + (n-1)*ostride + c
				for _, unsigned := range []bool{false, true} {
					want, got := make([]int8, olen), make([]int8, olen)
					for y := 0; y < nrows; y++ {
						o := y * rowstep
						rows := [3]int{o, o + rowT, o + 2*rowT}
						if unsigned {
							d.T4Pixels3x3U(u8view(want[y*orow:]), ostride, in, rows, stride, n)
						} else {
							d.T4Pixels3x3(want[y*orow:], ostride, in, rows, stride, n)
						}
					}
					rows := [3]int{0, rowT, 2 * rowT}
					if unsigned {
						d.T4Rows3x3U(u8view(got), orow, ostride, in, rows, rowstep, stride, n, nrows)
					} else {
						d.T4Rows3x3(got, orow, ostride, in, rows, rowstep, stride, n, nrows)
					}
					if i := firstDiff(got, want); i >= 0 {
						t.Fatalf("c %d stride %d rows %d n %d unsigned %v: byte %d (row %d) is %d, want %d",
							c, stride, nrows, n, unsigned, i, i/orow, got[i], want[i])
					}
				}
			}
		}
	}
	if t4Ok() && !ran {
		t.Fatal("the T4 kernel never ran on a path that has it")
	}
}

func u8view(b []int8) []uint8 {
	return unsafe.Slice((*uint8)(unsafe.Pointer(unsafe.SliceData(b))), len(b))
}

// BenchmarkT4Pixels3x3 times one output row of V2's stride-1 depthwise
// shapes on the T4 kernel (its three rows already in T4 form, as a fused
// block holds them) and on the 64-channel kernel (Int8Pixels3x3U).
func BenchmarkT4Pixels3x3(b *testing.B) {
	for _, sh := range []struct{ w, c, stride int }{{64, 32, 1}, {32, 144, 1}, {16, 192, 1}, {8, 384, 1}, {8, 576, 1}, {4, 960, 1}, {32, 96, 2}, {16, 144, 2}} {
		rng := rand.New(rand.NewPCG(1, 2))
		c, n := sh.c, sh.w/sh.stride
		w := make([]int32, 9*c)
		for i := range w {
			w[i] = int32(rng.IntN(256) - 128)
		}
		r := randRequant(rng, c, true)
		for i := range r.Bias {
			r.Shift[i] = -8
		}
		r = NewRequant(r.Bias, r.Mult, r.Shift, true, r.ZP, 0, 127)
		d, err := NewDWI8(3, 3, c, w, r)
		if err != nil {
			b.Fatal(err)
		}
		d.FoldZP(-3)
		g := T4Groups(n, sh.stride)
		rowP := 4 * g * c
		in := make([]int8, 3*rowP)
		tr := make([]uint8, 3*rowP)
		out := make([]uint8, n*c)
		if !d.HasT4() {
			b.Skip("no T4 kernel here")
		}
		for k := 0; k < 3; k++ {
			d.T4Row(tr[k*rowP:(k+1)*rowP], in[k*rowP:(k+1)*rowP])
		}
		name := func(s string) string {
			return s + "/" + string(rune('0'+sh.stride)) + "/" + itoa(sh.w) + "x" + itoa(c)
		}
		b.Run(name("t4"), func(b *testing.B) {
			for b.Loop() {
				d.T4Pixels3x3U(out, c, tr, [3]int{0, rowP, 2 * rowP}, sh.stride, n)
			}
		})
		b.Run(name("t4+row"), func(b *testing.B) {
			// One T4Row per output row: what a stride-1 block pays per row.
			for b.Loop() {
				d.T4Row(tr[:rowP], in[:rowP])
				d.T4Pixels3x3U(out, c, tr, [3]int{0, rowP, 2 * rowP}, sh.stride, n)
			}
		})
		b.Run(name("dw64"), func(b *testing.B) {
			for b.Loop() {
				d.Int8Pixels3x3U(out, c, in, [3]int{0, rowP, 2 * rowP}, sh.stride*c, n)
			}
		})
	}
}

func itoa(v int) string {
	s := ""
	for {
		s = string(rune('0'+v%10)) + s
		v /= 10
		if v == 0 {
			return s
		}
	}
}

// TestT4QuadForm proves the T4 kernel's quad form of the double rounding
// (t4Quad; T4RQQ computes it in int32s from tabF's words) against
// TFLite's definition (Requant.One) channel by channel: on every sum in
// [-2^17, 2^17], the extremes t4QuadMax allows, and around each tie of
// either rounding, for multipliers 0, 2^30, 2^31-1 and random ones,
// shifts -2 to -19 and zero points and biases at the edges t4Quad checks;
// and that t4Quad refuses a shift of -1, a bias past its bound and the
// single rounding.
func TestT4QuadForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	quad := func(r *Requant, acc int32, ch int) int8 {
		tab := r.tabF[ch/16*128:]
		j := ch % 16
		p := int64(4*acc) * int64(r.Mult[ch])
		s := int32(p>>32) + 4*tab[112+j] + 1
		if acc < 0 {
			s -= 2
		}
		return int8(min(max(s>>(tab[96+j]+2), r.Lo), r.Hi))
	}
	const sumMax = t4QuadMax - 9*255*128
	for rep := 0; rep < 24; rep++ {
		r := fastRequant(rng, 16, true)
		for i := range r.Shift {
			r.Shift[i] = -2 - rng.IntN(18)
			r.Bias[i] = int32(rng.IntN(2*sumMax+1) - sumMax)
		}
		r.Bias[0], r.Bias[1] = sumMax, -sumMax
		zp := []int32{-256, 255, int32(rng.IntN(512) - 256)}[rep%3]
		lo, hi := int32(math.MinInt32), int32(math.MaxInt32) // the clamp must not hide a wrong value
		if rep%4 == 3 {
			lo, hi = -128, 127
		}
		r = NewRequant(r.Bias, r.Mult, r.Shift, true, zp, lo, hi)
		if !t4Quad(r) {
			t.Fatalf("rep %d: t4Quad refused shifts -2..-19 and sums within its bound", rep)
		}
		check := func(ch int, acc int32) {
			if got, want := quad(r, acc, ch), r.One(acc, ch); got != want {
				t.Fatalf("mult %d shift %d zp %d: acc %d: quad form %d, TFLite %d", r.Mult[ch], r.Shift[ch], r.ZP, acc, got, want)
			}
		}
		for ch := 0; ch < 16; ch++ {
			for x := int32(-1 << 17); x <= 1<<17; x++ {
				check(ch, x)
			}
			for d := int32(0); d < 4; d++ {
				check(ch, t4QuadMax-d)
				check(ch, -t4QuadMax+d)
			}
			q := int64(r.Mult[ch])
			if q == 0 {
				continue
			}
			right := uint(-r.Shift[ch])
			for _, unit := range []uint{30, 30 + right} {
				for rep2 := 0; rep2 < 400; rep2++ {
					k := rng.Int64N(1<<20) - 1<<19
					x0 := ((2*k + 1) << unit) / q
					for d := int64(-3); d <= 3; d++ {
						if x := x0 + d; x >= -t4QuadMax && x <= t4QuadMax {
							check(ch, int32(x))
						}
					}
				}
			}
		}
	}
	cases := []struct {
		name   string
		change func(r *Requant)
		double bool
	}{
		{"shift -1", func(r *Requant) { r.Shift[3] = -1 }, true},
		{"bias above", func(r *Requant) { r.Bias[7] = sumMax + 1 }, true},
		{"bias below", func(r *Requant) { r.Bias[7] = -sumMax - 1 }, true},
		{"single rounding", func(r *Requant) {}, false},
	}
	for _, tc := range cases {
		r := fastRequant(rng, 16, true)
		for i := range r.Shift {
			r.Shift[i], r.Bias[i] = -5, 0
		}
		tc.change(r)
		if t4Quad(NewRequant(r.Bias, r.Mult, r.Shift, tc.double, r.ZP, r.Lo, r.Hi)) {
			t.Fatalf("t4Quad took a rescale with %s", tc.name)
		}
	}
}

// BenchmarkT4Quad times V2 1.0@128's depthwise rows (unsigned outputs,
// as a fused block writes them) on the T4 kernel with the double
// rounding's quad form against its 64-bit form, and (single, as ONNX
// Runtime rounds) t4Hi's form against the 64-bit one, alternating
// ("speedup").
func BenchmarkT4Quad(b *testing.B) {
	for _, double := range []bool{true, false} {
		benchT4Quad(b, double)
	}
}

func benchT4Quad(b *testing.B, double bool) {
	for _, sh := range []struct{ w, c, stride int }{{64, 32, 1}, {32, 144, 1}, {16, 192, 1}, {8, 384, 1}, {8, 576, 1}, {4, 960, 1}, {64, 96, 2}, {32, 144, 2}} {
		rng := rand.New(rand.NewPCG(1, 2))
		c, n := sh.c, sh.w/sh.stride
		w := make([]int32, 9*c)
		for i := range w {
			w[i] = int32(rng.IntN(256) - 128)
		}
		r := randRequant(rng, c, double)
		for i := range r.Bias {
			r.Bias[i] >>= 12
			r.Shift[i] = -8
		}
		r = NewRequant(r.Bias, r.Mult, r.Shift, double, r.ZP, 0, 127)
		d, err := NewDWI8(3, 3, c, w, r)
		if err != nil {
			b.Fatal(err)
		}
		d.FoldZP(-3)
		if !d.HasT4() {
			b.Skip("no T4 kernel here")
		}
		if double && !d.q4U || !double && !d.h4U {
			b.Fatal("the short form refused V2's rescale")
		}
		g := T4Groups(n, sh.stride)
		rowP := 4 * g * c
		tr := make([]uint8, 3*rowP)
		for i := range tr {
			tr[i] = uint8(rng.IntN(256))
		}
		out := make([]uint8, n*c)
		run := func(quad bool) func() {
			return func() {
				saved := hasT4Quad
				hasT4Quad = quad
				for i := 0; i < 20; i++ {
					d.T4Pixels3x3U(out, c, tr, [3]int{0, rowP, 2 * rowP}, sh.stride, n)
				}
				hasT4Quad = saved
			}
		}
		form := "quad"
		if !double {
			form = "hi"
		}
		b.Run(fmt.Sprintf("%s/%dx%d-s%d", form, sh.w, c, sh.stride), func(b *testing.B) { abbench.Speedup(b, run(false), run(true)) })
	}
}
