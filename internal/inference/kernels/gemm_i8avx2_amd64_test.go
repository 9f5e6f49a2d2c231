//go:build amd64

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// TestGemmRequantAVX2 checks the fused AVX2 GEMM and rescale against the
// portable GEMM and RowGeneric: both roundings over the whole shift range
// (randRequant), row counts below, at and past the 64-row pass with and
// without a remainder of 1-3 rows, channel counts with and without a
// remainder of 16, of at least 8 (the 4x8 tile) and of less, gaps between activation and output rows, and that no
// byte past a row's channels is written; with whole panels on the tile
// chosen by shape, the 3x32 (rows%3 ending on 2x32 tiles, and
// overlapping), the 2x32, the 4x16 and the int8-weight 2x16 one, each
// with the next panel's prefetch (rqPrefetch) on and off. It checks that
// the fused kernels ran where they should.
func TestGemmRequantAVX2(t *testing.T) {
	if !useInt8SIMD() || use512() {
		t.Skip("not the AVX2 int8 path")
	}
	rng := rand.New(rand.NewPCG(41, 42))
	for _, n := range []int{16, 17, 24, 31, 32, 40, 48, 64, 100, 1001} {
		for _, m := range []int{1, 4, 5, 8, 15, 16, 63, 64, 67, 130} {
			for _, double := range []bool{false, true} {
				k := 1 + rng.IntN(300)
				if n == 1001 {
					k = 1024
				}
				for _, tile := range []int{0, 3, overlapTile, 2, -1, 8} {
					for _, pf := range []bool{true, false} {
						t.Run(fmt.Sprintf("%dx%dx%d/double=%v/panel-rows=%d/prefetch=%v", m, n, k, double, tile, pf), func(t *testing.T) {
							defer func(v bool, r, i int, mix, pf bool) {
								hasRQ3x32, rqPanelRows, rqInt8Weights, rqMixRows, rqPrefetch = v, r, i, mix, pf
							}(hasRQ3x32, rqPanelRows, rqInt8Weights, rqMixRows, rqPrefetch)
							setRQTile(tile)
							rqPrefetch = pf
							checkGemmRequantAVX2(t, rng, m, n, k, double)
						})
					}
				}
			}
		}
	}
}

// overlapTile names the 3x32 tile with rqMixRows off in the tests and
// benchmarks of gemmRequantAVX2; ubTile the VPMADDUBSW tile (rqUB) with
// the tiles chosen by shape otherwise (BenchmarkGemmRequantAVX2).
const (
	overlapTile = 4
	ubTile      = 5
)

// setRQTile sets gemmRequantAVX2's switches for whole panels: 0 the tiles
// chosen by shape, 3 the 3x32 tile (rows%3 on 2x32 tiles), overlapTile
// the 3x32 tile overlapping at the end of a pass, 2 the 2x32 tile, -1 the
// 4x16 one, 8 the int8-weight one.
func setRQTile(tile int) {
	hasRQ3x32, rqPanelRows, rqInt8Weights, rqMixRows = tile >= 0, max(tile, 0)%8, tile/8, tile != overlapTile
	if tile == overlapTile {
		rqPanelRows = 3
	}
	if tile != 0 && tile != 8 {
		rqInt8Weights = -1 // the tile named alone
	}
}

func checkGemmRequantAVX2(t *testing.T, rng *rand.Rand, m, n, k int, double bool) {
	w := make([]int8, n*k)
	for i := range w {
		w[i] = int8(rng.IntN(256) - 128)
	}
	b := PackI8(w, n, k)
	lda := b.Kp + rng.IntN(3)*4
	a := make([]uint8, (m-1)*lda+b.Kp)
	for i := range a {
		a[i] = uint8(rng.IntN(256))
		if rng.IntN(16) == 0 {
			a[i] = 255
		}
	}
	for r := 0; r < m; r++ {
		clear(a[r*lda+k : r*lda+b.Kp])
	}
	r := randRequant(rng, n, double)
	ldo := n + rng.IntN(5)
	acc := make([]int32, m*b.Np)
	GemmU8I8Generic(m, a, lda, b, acc, b.Np)
	// The scratch c of m rows (the widened rows allocated per call), then
	// of RequantScratch (widened into c), filled with garbage: neither
	// may read c before writing it.
	for _, clen := range []int{m * b.Np, RequantScratch(m, b)} {
		buf := make([]int8, (m-1)*ldo+n+64)
		for i := range buf {
			buf[i] = 0x5a
		}
		c := make([]int32, clen)
		for i := range c {
			c[i] = int32(rng.Uint32())
		}
		if done := gemmRequantAVX2(m, a, lda, b, r, buf[:(m-1)*ldo+n], ldo, c); done != m/4*4 {
			t.Fatalf("gemmRequantAVX2 computed %d rows, want %d", done, m/4*4)
		}
		GemmU8I8Requant(m, a, lda, b, r, buf[:(m-1)*ldo+n], ldo, c)
		want := make([]int8, n)
		for i := 0; i < m; i++ {
			r.RowGeneric(want, acc[i*b.Np:])
			for j := range want {
				if got := buf[i*ldo+j]; got != want[j] {
					t.Fatalf("scratch %d lda %d ldo %d: [%d][%d] got %d, want %d (acc %d)", clen, lda, ldo, i, j, got, want[j], acc[i*b.Np+j]+r.Bias[j])
				}
			}
		}
		for i := range buf {
			if (i%ldo >= n || i >= (m-1)*ldo+n) && buf[i] != 0x5a {
				t.Fatalf("ldo %d: byte %d past a row's channels written", ldo, i)
			}
		}
	}
}

// TestGemmRequantAVX2Scratch: with RequantScratch's length the AVX2 path
// widens into the scratch and allocates nothing.
func TestGemmRequantAVX2Scratch(t *testing.T) {
	if !useInt8SIMD() || use512() {
		t.Skip("the AVX2 int8 path does not run here")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	const m, n, k = 64, 96, 200
	w := make([]int8, n*k)
	for i := range w {
		w[i] = int8(rng.IntN(255) - 127)
	}
	b := PackI8(w, n, k)
	a := make([]uint8, m*b.Kp)
	r := randRequant(rng, n, false)
	out := make([]int8, m*n)
	c := make([]int32, RequantScratch(m, b))
	if allocs := testing.AllocsPerRun(5, func() { GemmU8I8Requant(m, a, b.Kp, b, r, out, n, c) }); allocs != 0 {
		t.Errorf("%v allocations per call with RequantScratch's scratch, want 0", allocs)
	}
	if allocs := testing.AllocsPerRun(5, func() { GemmU8I8Requant(m, a, b.Kp, b, r, out, n, c[:m*b.Np]) }); allocs == 0 {
		t.Errorf("no allocation with a scratch of m rows: the test no longer tells the two apart")
	}
}

// BenchmarkGemmRequantAVX2 compares, on the 1x1 layers of MobileNet V1
// and V2 at 128 (64-pixel chunks and V1's 16-pixel last layers), the
// fused kernels, whole panels on the 4x16 tile ("4x16"), the 3x32 one
// ending on 2x32 tiles ("3x32") and overlapping ("3x32o"), the 2x32 one
// ("2x32"), the int8-weight 2x16 one ("int8"), the VPMADDUBSW one on
// whole panels ("ub": the rows, zeros, all fit) and the ones chosen by
// shape and rows ("auto"),
// with the 4x16 GEMM to int32 and the Rows pass ("split"),
// alternating on the thread's CPU clock; "speedup-T" is the median
// per-round ratio split/T, with its quartiles.
func BenchmarkGemmRequantAVX2(b *testing.B) {
	if !useInt8SIMD() || use512() {
		b.Skip("not the AVX2 int8 path")
	}
	for _, s := range [][3]int{{64, 64, 32}, {64, 128, 128}, {64, 256, 256}, {64, 512, 512}, {16, 1024, 512}, {16, 1024, 1024}, {64, 96, 16}, {64, 24, 144}, {64, 576, 96}, {64, 160, 960}, {16, 384, 64}, {32, 192, 32}, {8, 576, 96}} {
		m, n, k := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			w := make([]int8, n*k)
			for i := range w {
				w[i] = int8(i*7 - 3)
			}
			bias, mult, shift := make([]int32, n), make([]int32, n), make([]int, n)
			for i := range mult {
				mult[i], shift[i] = 1<<30+int32(i*12345), -8
			}
			r := NewRequant(bias, mult, shift, false, 3, -128, 127)
			p := PackI8(w, n, k)
			a := make([]uint8, m*p.Kp)
			c := make([]int32, m*p.Np)
			out := make([]int8, m*n)
			side := func(name string, fused bool, tile int) abbench.Side {
				return abbench.Side{Name: name, Run: func() {
					saved, savedTile, savedRows, savedI8, savedMix, savedUB := hasRQAVX2, hasRQ3x32, rqPanelRows, rqInt8Weights, rqMixRows, rqUB
					hasRQAVX2 = fused
					setRQTile(tile)
					// The VPMADDUBSW tile only where named ("ub") or
					// chosen ("auto"): the rows here (zeros) all fit.
					rqUB = tile == 0 || tile == ubTile
					if tile == ubTile {
						rqInt8Weights = 0
					}
					for range 20 {
						GemmU8I8Requant(m, a, p.Kp, p, r, out, n, c)
					}
					hasRQAVX2, hasRQ3x32, rqPanelRows, rqInt8Weights, rqMixRows, rqUB = saved, savedTile, savedRows, savedI8, savedMix, savedUB
				}}
			}
			tm := abbench.Alternate(b, abbench.ThreadCPU, side("split", false, -1), side("4x16", true, -1), side("3x32", true, 3), side("3x32o", true, overlapTile), side("2x32", true, 2), side("int8", true, 8), side("ub", true, ubTile), side("auto", true, 0))
			for j, name := range []string{"4x16", "3x32", "3x32o", "2x32", "int8", "ub", "auto"} {
				rs := tm.Ratios(0, 0, j+1)
				b.ReportMetric(abbench.Med(rs), "speedup-"+name)
				b.ReportMetric(rs[len(rs)/4], "p25-"+name)
				b.ReportMetric(rs[3*len(rs)/4], "p75-"+name)
			}
			tm.ReportRate(b, 0, abbench.Med, 20*float64(m*n*k)/1e9, "GMAC/s-%s")
		})
	}
}

// BenchmarkGemmRequant4x8AVX2 compares, on V2's 24-channel projections
// (and an 8-channel remainder of 1001), the block of 8 channels past the
// last 16 on the fused 4x8 tile ("4x8") and on the int32 tile and the
// rescale pass ("int32"), alternating on the thread's CPU clock;
// "speedup" is the median per-round ratio int32/4x8, with its quartiles.
func BenchmarkGemmRequant4x8AVX2(b *testing.B) {
	if !useInt8SIMD() || use512() {
		b.Skip("not the AVX2 int8 path")
	}
	for _, s := range [][3]int{{64, 24, 144}, {32, 24, 144}, {64, 40, 96}, {16, 1000, 1024}} {
		m, n, k := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			w := make([]int8, n*k)
			for i := range w {
				w[i] = int8(i*7 - 3)
			}
			bias, mult, shift := make([]int32, n), make([]int32, n), make([]int, n)
			for i := range mult {
				mult[i], shift[i] = 1<<30+int32(i*12345), -8
			}
			r := NewRequant(bias, mult, shift, false, 3, -128, 127)
			p := PackI8(w, n, k)
			a := make([]uint8, m*p.Kp)
			c := make([]int32, RequantScratch(m, p))
			out := make([]int8, m*n)
			side := func(name string, on bool) abbench.Side {
				return abbench.Side{Name: name, Run: func() {
					defer func(v bool) { hasRQ4x8 = v }(hasRQ4x8)
					hasRQ4x8 = on
					for range 50 {
						GemmU8I8Requant(m, a, p.Kp, p, r, out, n, c)
					}
				}}
			}
			tm := abbench.Alternate(b, abbench.ThreadCPU, side("4x8", true), side("int32", false))
			tm.ReportRate(b, 0, abbench.Med, 50*float64(m*n*k)/1e9, "GMAC/s-%s")
			abbench.ReportQuartiles(b, tm.Ratios(0, 1, 0), "speedup")
		})
	}
}

// TestWidenRowsU8 checks widenRowsU8 against a plain loop: row widths of
// every multiple of 4 up to 100 (16-byte steps with and without the 8-
// and 4-byte tails), gaps between source rows, and that nothing past the
// rows' uint16s is written.
func TestWidenRowsU8(t *testing.T) {
	if !hasAVX2FMA {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for kp := 4; kp <= 100; kp += 4 {
		for _, rows := range []int{1, 2, 3, 7} {
			for _, gap := range []int{0, 4, 12} {
				lda := kp + gap
				src := make([]uint8, (rows-1)*lda+kp)
				for i := range src {
					src[i] = uint8(rng.Uint32())
				}
				dst := make([]uint16, rows*kp+8)
				for i := range dst {
					dst[i] = 0xbeef
				}
				widenRowsU8(dst, src, rows, kp, lda)
				for r := 0; r < rows; r++ {
					for j := 0; j < kp; j++ {
						if got, want := dst[r*kp+j], uint16(src[r*lda+j]); got != want {
							t.Fatalf("kp %d rows %d lda %d: [%d][%d] = %d, want %d", kp, rows, lda, r, j, got, want)
						}
					}
				}
				for i := rows * kp; i < len(dst); i++ {
					if dst[i] != 0xbeef {
						t.Fatalf("kp %d rows %d lda %d: dst[%d] past the rows written", kp, rows, lda, i)
					}
				}
			}
		}
	}
}

// BenchmarkGemmRequantAVX2Cold runs GemmU8I8Requant on 16 layers of
// distinct weights in turn, so that each layer's weights come from L3 or
// memory as in a model (V1 at 128: a 64-row pass of 512 by 512, the 4x4
// layers' 16 rows of 1024 by 1024 on the int8 tile, the batch-1
// classifier's one row of 1001 by 1024), with the weights' prefetch on
// ("pf": rqPrefetch, rowAhead) and off ("nopf"), alternating on the
// thread's CPU clock; "speedup" is the median per-round ratio nopf/pf,
// with its quartiles.
func BenchmarkGemmRequantAVX2Cold(b *testing.B) {
	if !useInt8SIMD() || use512() {
		b.Skip("not the AVX2 int8 path")
	}
	for _, s := range [][3]int{{64, 512, 512}, {16, 1024, 1024}, {1, 1001, 1024}} {
		m, n, k := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			const layers = 16
			var ps [layers]*PackedI8
			var rs [layers]*Requant
			for l := range ps {
				w := make([]int8, n*k)
				for i := range w {
					w[i] = int8(i*7 - 3 + l)
				}
				bias, mult, shift := make([]int32, n), make([]int32, n), make([]int, n)
				for i := range mult {
					mult[i], shift[i] = 1<<30+int32(i*12345), -8
				}
				rs[l] = NewRequant(bias, mult, shift, false, 3, -128, 127)
				ps[l] = PackI8(w, n, k)
			}
			a := make([]uint8, m*ps[0].Kp)
			c := make([]int32, RequantScratch(m, ps[0]))
			out := make([]int8, m*n)
			side := func(name string, on bool) abbench.Side {
				return abbench.Side{Name: name, Run: func() {
					defer func(pf bool, ahead int) { rqPrefetch, rowAhead = pf, ahead }(rqPrefetch, rowAhead)
					rqPrefetch = on
					if !on {
						rowAhead = 0
					}
					for l := range layers {
						GemmU8I8Requant(m, a, ps[l].Kp, ps[l], rs[l], out, n, c)
					}
				}}
			}
			tm := abbench.Alternate(b, abbench.ThreadCPU, side("pf", true), side("nopf", false))
			tm.ReportRate(b, 0, abbench.Med, layers*float64(m*n*k)/1e9, "GMAC/s-%s")
			abbench.ReportQuartiles(b, tm.Ratios(0, 1, 0), "speedup")
		})
	}
}

// fitRow fills row with activation bytes whose pairs of k (2i, 2i+1) sum
// to at most 255, the extremes (255 with 0, 128 with 127) often.
func fitRow(rng *rand.Rand, row []uint8) {
	for j := 0; j+1 < len(row); j += 2 {
		x := uint8(rng.IntN(256))
		switch rng.IntN(4) {
		case 0:
			x = 255
		case 1:
			x = 128
		}
		y := 255 - x
		if rng.IntN(2) == 0 {
			y = uint8(rng.IntN(int(y) + 1))
		}
		if rng.IntN(2) == 0 {
			x, y = y, x
		}
		row[j], row[j+1] = x, y
	}
}

// TestGemmRequantAVX2UB checks the VPMADDUBSW tile against the portable
// GEMM and RowGeneric bit for bit: pairsFitRowsU8 on rows that fit and
// rows one pair off, at every K up to 200; the tile called alone on three fitting
// rows; and GemmU8I8Requant with rqUB on, rows that fit mixed with rows
// that do not (so passes mix the tile with the W16 ones, or with the int8
// 2x16 one where the int8-weight tile is forced), weights at the
// extremes (-128, 127) often, both roundings, K with and without
// remainders of 4 and 16, gaps between rows, rows past a 64-row pass.
func TestGemmRequantAVX2UB(t *testing.T) {
	if !useInt8SIMD() || use512() {
		t.Skip("not the AVX2 int8 path")
	}
	rng := rand.New(rand.NewPCG(71, 72))
	for kp := 4; kp <= 200; kp += 4 {
		// Rows that fit, and rows with one pair summing past 255 at
		// every position, lda bytes apart.
		const rows = 9
		lda := kp + 4*rng.IntN(3)
		a := make([]uint8, (rows-1)*lda+kp)
		want := make([]bool, rows)
		for i := range rows {
			row := a[i*lda : i*lda+kp]
			fitRow(rng, row)
			want[i] = i%2 == 0
			if !want[i] {
				j := 2 * rng.IntN(kp/2)
				x := 128 + rng.IntN(128)       // x + y in [256, 255+128]
				y := 256 - x + rng.IntN(x-127) // at most 128 since x >= 128
				row[j], row[j+1] = uint8(x), uint8(y)
			}
		}
		fit := make([]bool, rows+1)
		fit[rows] = true
		pairsFitRowsU8(rows, kp, &a[0], lda, &fit[0])
		for i := range rows {
			if fit[i] != want[i] {
				t.Fatalf("kp %d lda %d: row %d fits %v, want %v", kp, lda, i, fit[i], want[i])
			}
		}
		if !fit[rows] {
			t.Fatalf("kp %d: fit written past the rows", kp)
		}
	}
	weights := func(n, k int) []int8 {
		w := make([]int8, n*k)
		for i := range w {
			w[i] = int8(rng.IntN(256) - 128)
			switch rng.IntN(4) {
			case 0:
				w[i] = -128
			case 1:
				w[i] = 127
			}
		}
		return w
	}
	for _, double := range []bool{false, true} {
		for _, k := range []int{4, 16, 37, 64, 255, 512, 1024} {
			// The tile alone on 3 rows by 32 channels.
			b := PackI8(weights(32, k), 32, k)
			lda := b.Kp + 4*rng.IntN(3)
			a := make([]uint8, 2*lda+b.Kp)
			for i := 0; i < 3; i++ {
				fitRow(rng, a[i*lda:i*lda+k])
			}
			r := randRequant(rng, 32, double)
			acc := make([]int32, 3*b.Np)
			GemmU8I8Generic(3, a, lda, b, acc, b.Np)
			out := make([]int8, 3*40)
			gemmU8x3x32UBRQAVX2(b.Kp/4, &a[0], lda, &b.Data[0], &out[0], 40, &r.tab8[0], r.Double, r.ZP, r.Lo, r.Hi, nil)
			want := make([]int8, 32)
			for i := 0; i < 3; i++ {
				r.RowGeneric(want, acc[i*b.Np:])
				for j := range want {
					if got := out[i*40+j]; got != want[j] {
						t.Fatalf("tile k %d double %v: [%d][%d] = %d, want %d", k, double, i, j, got, want[j])
					}
				}
			}
		}
		for _, n := range []int{32, 40, 64, 100} {
			for _, m := range []int{3, 4, 6, 16, 63, 64, 67, 130} {
				for _, int8w := range []int{0, 1, 2} {
					// int8w 2: the W16 passes with every row fitting (no
					// widening).
					k := 1 + rng.IntN(600)
					t.Run(fmt.Sprintf("%dx%dx%d/double=%v/int8-weights=%d", m, n, k, double, int8w), func(t *testing.T) {
						defer func(v bool, i, k int) { rqUB, rqInt8Weights, rqUBMinK = v, i, k }(rqUB, rqInt8Weights, rqUBMinK)
						rqUB, rqInt8Weights, rqUBMinK = true, min(int8w, 1), 4
						if int8w == 2 {
							rqInt8Weights = -1
						}
						b := PackI8(weights(n, k), n, k)
						lda := b.Kp + 4*rng.IntN(3)
						a := make([]uint8, (m-1)*lda+b.Kp)
						for i := 0; i < m; i++ {
							row := a[i*lda : i*lda+k]
							if int8w < 2 && rng.IntN(8) == 0 {
								for j := range row {
									row[j] = uint8(rng.IntN(256))
								}
							} else {
								fitRow(rng, row)
							}
						}
						r := randRequant(rng, n, double)
						acc := make([]int32, m*b.Np)
						GemmU8I8Generic(m, a, lda, b, acc, b.Np)
						ldo := n + rng.IntN(5)
						out := make([]int8, (m-1)*ldo+n)
						GemmU8I8Requant(m, a, lda, b, r, out, ldo, make([]int32, RequantScratch(m, b)))
						want := make([]int8, n)
						for i := 0; i < m; i++ {
							r.RowGeneric(want, acc[i*b.Np:])
							for j := range want {
								if got := out[i*ldo+j]; got != want[j] {
									t.Fatalf("lda %d: [%d][%d] = %d, want %d", lda, i, j, got, want[j])
								}
							}
						}
					})
				}
			}
		}
	}
}
