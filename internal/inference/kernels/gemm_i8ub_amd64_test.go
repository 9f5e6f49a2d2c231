//go:build amd64

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// boundWeights returns n rows of k int8 weights whose largest |w| at each
// k is a bound drawn per k (0, 128 and the small values real layers have
// often), with two channels sitting at it, one at +bound (at most 127)
// and one at -bound, so that pair sums reach the int16 limits on rows at
// the weight-aware test's bound; it returns the bounds too.
func boundWeights(rng *rand.Rand, n, k int) ([]int8, []int) {
	w, m := make([]int8, n*k), make([]int, k)
	for c := range m {
		switch rng.IntN(5) {
		case 0:
			m[c] = 128
		case 1:
			m[c] = 0
		case 2:
			m[c] = 127
		default:
			m[c] = 1 + rng.IntN(100)
		}
		hi := min(m[c], 127)
		for r := 0; r < n; r++ {
			w[r*k+c] = int8(rng.IntN(m[c]+hi+1) - m[c])
		}
		// The pair (c&^1, c|1) at its bounds in one channel.
		w[(c/2%n)*k+c] = int8(-m[c])
		if n > 1 {
			w[((c/2+1)%n)*k+c] = int8(hi)
		}
	}
	return w, m
}

// boundRow fills row (kp bytes against bounds m, k of them, the rest 0)
// with pairs of k whose a0*m0 + a1*m1 is at most 32767, the second of a
// pair often at the largest value allowed; with over, one pair instead
// goes 1 to 4 past it, or far past it (where the bounds allow: it reports
// whether it did).
func boundRow(rng *rand.Rand, row []uint8, m []int, over bool) bool {
	bound := func(j int) int {
		if j < len(m) {
			return m[j]
		}
		return 0
	}
	for j := 0; j+1 < len(row); j += 2 {
		m0, m1 := bound(j), bound(j+1)
		a0 := rng.IntN(256)
		if rng.IntN(3) == 0 {
			a0 = 255
		}
		if a0*m0 > 32767 {
			a0 = 32767 / m0
		}
		a1 := 255
		if m1 > 0 {
			a1 = min(255, (32767-a0*m0)/m1)
		}
		if rng.IntN(3) == 0 {
			a1 = rng.IntN(a1 + 1)
		}
		if rng.IntN(2) == 0 && m0 == m1 {
			a0, a1 = a1, a0
		}
		row[j], row[j+1] = uint8(a0), uint8(a1)
	}
	if !over {
		return true
	}
	// A pair past the bound: a0*m0 + a1*m1 in [32768, 32771] (past
	// -32768 from 32769 on).
	// Or, half the time, far past it (255 and 255 where that makes at
	// least 34000), for errors the rescale does not round away.
	far := rng.IntN(2) == 0
	for range 2 * len(row) {
		j := 2 * rng.IntN(len(row)/2)
		m0, m1 := bound(j), bound(j+1)
		if 255*(m0+m1) < 32768 || far && 255*(m0+m1) < 34000 {
			continue
		}
		if far {
			row[j], row[j+1] = 255, 255
			return true
		}
		for a0 := rng.IntN(256); a0 < 256; a0++ {
			for a1 := 0; a1 < 256; a1++ {
				if s := a0*m0 + a1*m1; s >= 32768 && s <= 32771 {
					row[j], row[j+1] = uint8(a0), uint8(a1)
					return true
				}
			}
		}
	}
	return false
}

// fitsWeights is pairsFitRowsU8W's definition on one row: every pair's
// a0*m0 + a1*m1 at most 32767.
func fitsWeights(row []uint8, negm []int8) bool {
	for j := 0; j+1 < len(row); j += 2 {
		if int(row[j])*-int(negm[j])+int(row[j+1])*-int(negm[j+1]) > 32767 {
			return false
		}
	}
	return true
}

// TestPairsFitRowsU8W checks the weight-aware row test against its
// definition and PackedI8.ubNegM against the weights: every K up to 200
// (the 16-byte steps with and without the 8- and 4-byte tails), rows at
// the bound and 1 to 4 past it, bounds of 0, 127 and 128 (a -128
// weight), gaps between rows, its stop after the first to the fourth row
// that does not fit, and that nothing past the rows' (or the stop's)
// flags is written.
func TestPairsFitRowsU8W(t *testing.T) {
	if !hasAVX2FMA || UseVNNI() {
		t.Skip("no AVX2 W16 packing")
	}
	rng := rand.New(rand.NewPCG(81, 82))
	for k := 1; k <= 200; k++ {
		n := 1 + rng.IntN(70)
		w, m := boundWeights(rng, n, k)
		b := PackI8(w, n, k)
		for c := range b.Kp {
			want := 0
			if c < k {
				want = -m[c]
			}
			if int(b.ubNegM[c]) != want {
				t.Fatalf("k %d n %d: ubNegM[%d] = %d, want %d", k, n, c, b.ubNegM[c], want)
			}
		}
		const rows = 9
		lda := b.Kp + 4*rng.IntN(3)
		a := make([]uint8, (rows-1)*lda+b.Kp)
		for i := range rows {
			boundRow(rng, a[i*lda:i*lda+b.Kp], m, i%2 == 1)
		}
		// Without a stop (miss past the rows), then stopping at the
		// first to the fourth miss: the flags after that row untouched.
		for _, miss := range []int{rows + 1, 1, 2, 3, 4} {
			fit := make([]bool, rows+1)
			for i := range fit {
				fit[i] = i%3 == 0
			}
			pairsFitRowsU8W(rows, b.Kp, &a[0], lda, &b.ubNegM[0], &fit[0], miss)
			misses := 0
			for i := range rows {
				want := fitsWeights(a[i*lda:i*lda+b.Kp], b.ubNegM)
				if misses == miss {
					want = i%3 == 0 // after the stop
				}
				if fit[i] != want {
					t.Fatalf("k %d lda %d miss %d: row %d fits %v, want %v", k, lda, miss, i, fit[i], want)
				}
				if !want && misses < miss {
					misses++
				}
			}
			if !fit[rows] {
				t.Fatalf("k %d: fit written past the rows", k)
			}
		}
	}
}

// TestGemmRequantAVX2UBWeights checks GemmU8I8Requant with the
// VPMADDUBSW tile taken by the weight-aware test (rqUBWeights) and on
// last partial panels (rqUBPart), each on and off, against the portable
// GEMM and RowGeneric bit for bit: weights whose pair sums reach the
// int16 limits on rows at the test's bound, rows 1 to 4 past it mixed in
// (passes mixing the tile with the W16 ones or the int8 2x16 one), all
// rows fitting (no widening), channel counts with partial panels of 8,
// 16 and 24 (and of 4, which the tile leaves alone), both roundings, K
// with and without remainders of 4, gaps between rows, rows past a
// 64-row pass, and that no byte past a row's channels is written. The
// tile alone on a padded partial panel too.
func TestGemmRequantAVX2UBWeights(t *testing.T) {
	if !useInt8SIMD() || use512() {
		t.Skip("not the AVX2 int8 path")
	}
	rng := rand.New(rand.NewPCG(83, 84))
	for _, n := range []int{8, 16, 24, 32, 40, 56, 100, 144} {
		for _, m := range []int{4, 6, 16, 63, 64, 67, 130} {
			for _, double := range []bool{false, true} {
				for _, int8w := range []int{0, 1, 2} {
					for _, sw := range []int{0, 1, 2, 3} {
						weights, part := sw&1 == 0, sw&2 == 0
						k := 1 + rng.IntN(300)
						t.Run(fmt.Sprintf("%dx%dx%d/double=%v/int8-weights=%d/aware=%v/part=%v", m, n, k, double, int8w, weights, part), func(t *testing.T) {
							defer func(v bool, i, k int, wt, pt bool, pm, pk int) {
								rqUB, rqInt8Weights, rqUBMinK, rqUBWeights, rqUBPart, rqUBPartMin, rqUBPartMinK = v, i, k, wt, pt, pm, pk
							}(rqUB, rqInt8Weights, rqUBMinK, rqUBWeights, rqUBPart, rqUBPartMin, rqUBPartMinK)
							rqUB, rqInt8Weights, rqUBMinK, rqUBWeights, rqUBPart, rqUBPartMin, rqUBPartMinK = true, min(int8w, 1), 4, weights, part, 8, 4
							if int8w == 2 {
								rqInt8Weights = -1
							}
							checkUBWeights(t, rng, m, n, k, double, int8w < 2)
						})
					}
				}
			}
		}
	}
}

func checkUBWeights(t *testing.T, rng *rand.Rand, m, n, k int, double, mixed bool) {
	t.Helper()
	w, bounds := boundWeights(rng, n, k)
	b := PackI8(w, n, k)
	lda := b.Kp + 4*rng.IntN(3)
	a := make([]uint8, (m-1)*lda+b.Kp)
	for i := 0; i < m; i++ {
		boundRow(rng, a[i*lda:i*lda+b.Kp], bounds, mixed && rng.IntN(8) == 0)
	}
	r := randRequant(rng, n, double)
	acc := make([]int32, m*b.Np)
	GemmU8I8Generic(m, a, lda, b, acc, b.Np)
	ldo := n + rng.IntN(5)
	buf := make([]int8, (m-1)*ldo+n+64)
	for i := range buf {
		buf[i] = 0x5a
	}
	GemmU8I8Requant(m, a, lda, b, r, buf[:(m-1)*ldo+n], ldo, make([]int32, RequantScratch(m, b)))
	want := make([]int8, n)
	for i := 0; i < m; i++ {
		r.RowGeneric(want, acc[i*b.Np:])
		for j := range want {
			if got := buf[i*ldo+j]; got != want[j] {
				t.Fatalf("lda %d ldo %d: [%d][%d] = %d, want %d", lda, ldo, i, j, got, want[j])
			}
		}
	}
	for i := range buf {
		if (i%ldo >= n || i >= (m-1)*ldo+n) && buf[i] != 0x5a {
			t.Fatalf("ldo %d: byte %d past a row's channels written", ldo, i)
		}
	}
}

// TestUBTilePartialPanel runs the VPMADDUBSW tile alone on the last
// panel of 8, 16 and 24 channels (the packed panel and tab8 padded to 32
// channels) and checks the channels that exist against the portable
// GEMM and RowGeneric.
func TestUBTilePartialPanel(t *testing.T) {
	if !hasAVX2FMA {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(85, 86))
	for _, n := range []int{8, 16, 24, 40, 72} {
		for _, double := range []bool{false, true} {
			k := 1 + rng.IntN(200)
			w, bounds := boundWeights(rng, n, k)
			b := PackI8(w, n, k)
			lda := b.Kp + 4*rng.IntN(3)
			a := make([]uint8, 2*lda+b.Kp)
			for i := range 3 {
				boundRow(rng, a[i*lda:i*lda+b.Kp], bounds, false)
			}
			r := randRequant(rng, n, double)
			acc := make([]int32, 3*b.Np)
			GemmU8I8Generic(3, a, lda, b, acc, b.Np)
			col := n / I8Tile * I8Tile
			out := make([]int8, 3*n)
			ubPanelPart(3, b.Kp, a, lda, b, r, out[col:], n, col)
			want := make([]int8, n)
			for i := range 3 {
				r.RowGeneric(want, acc[i*b.Np:])
				for j := col; j < n; j++ {
					if got := out[i*n+j]; got != want[j] {
						t.Fatalf("n %d k %d double %v: [%d][%d] = %d, want %d", n, k, double, i, j, got, want[j])
					}
				}
			}
		}
	}
}

// channelWeights returns n rows of k int8 weights quantized per channel
// as a converter does: normal values scaled so that each channel's
// largest |w| is 127.
func channelWeights(rng *rand.Rand, n, k int) []int8 {
	w, g := make([]int8, n*k), make([]float64, k)
	for r := 0; r < n; r++ {
		big := 0.0
		for c := range g {
			g[c] = rng.NormFloat64()
			big = max(big, math.Abs(g[c]))
		}
		for c := range g {
			w[r*k+c] = int8(math.Round(g[c] * 127 / big))
		}
	}
	return w
}

// BenchmarkGemmRequantUB compares GemmU8I8Requant with a switch of the
// VPMADDUBSW tile on ("on") and off ("off"), alternating on the thread's
// CPU clock, on V2's 1x1 shapes at 128 (64-row passes; 512 rows, batch 8
// of an 8x8 layer): "weights" the weight-aware row test (rqUBWeights) on
// rows at its bound (weights quantized per channel), one row in 8 past
// it; "part" the tile on a last partial panel of any size (rqUBPart,
// rqUBPartMin 8, rqUBPartMinK 4) on rows that all fit; "mink4" rqUBMinK 4 against 64 on rows that all fit and
// ("nofit") on rows that do not (the cost of the test); "share4"
// rqUBShare 4 against 6 on passes where 5 rows in 8 fit at random,
// "share2" 2 against 6 where 3 in 8 do. "speedup" is the
// median per-round ratio off/on, with its quartiles.
func BenchmarkGemmRequantUB(b *testing.B) {
	if !useInt8SIMD() || use512() {
		b.Skip("not the AVX2 int8 path")
	}
	for _, c := range []struct {
		sw      string
		m, n, k int
		nofit   bool
	}{
		{"weights", 64, 64, 384, false}, {"weights", 512, 64, 384, false}, {"weights", 64, 96, 576, false}, {"weights", 64, 64, 192, false},
		{"part", 64, 24, 144, false}, {"part", 512, 24, 144, false}, {"part", 64, 24, 96, false}, {"part", 64, 16, 32, false}, {"part", 64, 16, 144, false}, {"part", 64, 48, 384, false}, {"part", 64, 56, 384, false},
		{"share4", 64, 64, 384, false}, {"share4", 64, 96, 576, false}, {"share4", 64, 512, 512, false},
		{"share2", 64, 64, 384, false}, {"share2", 64, 96, 576, false}, {"share2", 64, 512, 512, false},
		{"mink4", 64, 16, 32, false}, {"mink4", 64, 96, 16, true}, {"mink4", 64, 144, 24, true}, {"mink4", 64, 192, 32, true}, {"mink4", 64, 24, 32, false}, {"mink4", 64, 64, 32, false}, {"mink4", 64, 128, 32, false}, {"mink4", 64, 64, 48, false},
	} {
		name := fmt.Sprintf("%s/%dx%dx%d", c.sw, c.m, c.n, c.k)
		if c.nofit {
			name += "-nofit"
		}
		b.Run(name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(uint64(c.n), uint64(c.k)))
			p := PackI8(channelWeights(rng, c.n, c.k), c.n, c.k)
			bounds := make([]int, c.k)
			for j := range bounds {
				bounds[j] = -int(p.ubNegM[j])
			}
			a := make([]uint8, c.m*p.Kp)
			for i := 0; i < c.m; i++ {
				row := a[i*p.Kp : (i+1)*p.Kp]
				if c.nofit {
					for j := range row {
						row[j] = uint8(100 + rng.IntN(156))
					}
					continue
				}
				// "share4": 5 rows in 8 fit, "share2" 3 in 8, at random.
				over := c.sw == "weights" && i%8 == 7 || c.sw == "share4" && rng.IntN(8) >= 5 || c.sw == "share2" && rng.IntN(8) >= 3
				boundRow(rng, row, bounds, over)
			}
			r := randRequant(rng, c.n, false)
			out := make([]int8, c.m*c.n)
			scratch := make([]int32, RequantScratch(c.m, p))
			side := func(name string, on bool) abbench.Side {
				return abbench.Side{Name: name, Run: func() {
					defer func(w, pt bool, k, pm, pk, sh int) {
						rqUBWeights, rqUBPart, rqUBMinK, rqUBPartMin, rqUBPartMinK, rqUBShare = w, pt, k, pm, pk, sh
					}(rqUBWeights, rqUBPart, rqUBMinK, rqUBPartMin, rqUBPartMinK, rqUBShare)
					switch c.sw {
					case "weights":
						rqUBWeights = on
					case "part":
						rqUBPart, rqUBMinK, rqUBPartMin, rqUBPartMinK = on, 4, 8, 4
					case "share4", "share2":
						rqUBShare = 6
						if on {
							rqUBShare = int(c.sw[5] - '0')
						}
					case "mink4":
						rqUBMinK = 64
						if on {
							rqUBMinK = 4
						}
					}
					for range 20 {
						GemmU8I8Requant(c.m, a, p.Kp, p, r, out, c.n, scratch)
					}
				}}
			}
			tm := abbench.Alternate(b, abbench.ThreadCPU, side("on", true), side("off", false))
			tm.ReportRate(b, 0, abbench.Med, 20*float64(c.m*c.n*c.k)/1e9, "GMAC/s-%s")
			abbench.ReportQuartiles(b, tm.Ratios(0, 1, 0), "speedup")
		})
	}
}
