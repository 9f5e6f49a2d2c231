package jpegdec

import (
	"math/bits"
	"math/rand/v2"
	"testing"
)

// islowBlockRef is libjpeg's islow inverse DCT of one block run as the full two-pass butterfly
// (islow1D on every column, then on every row), the reference planeISLOW's per-sample dot
// products must match bit for bit.
func islowBlockRef(dc int32, coef []int16, q *[64]uint16) (out [64]uint8) {
	var f [64]int64
	f[0] = int64(dc) * int64(q[0])
	for k := 1; k < 64; k++ {
		f[k] = int64(coef[k]) * int64(q[k])
	}
	var ws [64]int64
	for x := range 8 {
		col := islow1D(f[x], f[8+x], f[16+x], f[24+x], f[32+x], f[40+x], f[48+x], f[56+x])
		for y := range 8 {
			ws[y*8+x] = descale(col[y], islowConstBits-islowPass1Bits)
		}
	}
	for y := range 8 {
		r := ws[y*8 : y*8+8]
		row := islow1D(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])
		for x := range 8 {
			out[y*8+x] = clamp8(descale(row[x], islowConstBits+islowPass1Bits+3) + 128)
		}
	}
	return out
}

// TestPlaneISLOWMatchesButterfly checks the sparse per-sample inverse DCT against the full
// butterfly on random blocks (sparse and dense, small and extreme coefficients, 8- and 16-bit
// quantisers), with and without the progressive non-zero mask, at every sample of the blocks.
func TestPlaneISLOWMatchesButterfly(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const bw, bh = 3, 2
	for trial := range 200 {
		d := &decoder{mode: ModeLibjpeg}
		for k := range 64 {
			if trial%4 == 3 {
				d.quant[0][k] = uint16(1 + rng.IntN(65535))
			} else {
				d.quant[0][k] = uint16(1 + rng.IntN(255))
			}
		}
		c := &component{bw: bw, bh: bh, cw: bw * 8, ch: bh * 8}
		c.dc = make([]int32, bw*bh)
		c.coef = make([]int16, bw*bh*64)
		progressive := trial%2 == 0
		if progressive {
			c.nz = make([]uint64, bw*bh)
		}
		for b := range bw * bh {
			c.dc[b] = int32(rng.IntN(4096) - 2048)
			density := rng.IntN(64)
			limit := 1 << (1 + rng.IntN(15))
			for z := 1; z < 64; z++ {
				if rng.IntN(64) < density {
					c.coef[b*64+int(unzig[z])] = int16(rng.IntN(2*limit) - limit)
					if progressive {
						c.nz[b] |= 1 << uint(z)
					}
				}
			}
			if progressive { // a superset of the non-zero coefficients, as refinement leaves it
				c.nz[b] |= rng.Uint64() &^ 1
			}
		}
		c.rows, c.cols = newAxis(c.ch), newAxis(c.cw)
		for y := range c.ch {
			c.rows.add(y)
		}
		for x := range c.cw {
			c.cols.add(x)
		}
		c.rows.finish()
		c.cols.finish()
		c.keptRow, c.nkr = keep(c.rows.coords, bh)
		c.keptCol, c.nkc = keep(c.cols.coords, bw)
		c.values = make([]uint8, c.ch*c.cw)
		d.planeISLOW(c)
		for by := range bh {
			for bx := range bw {
				b := by*bw + bx
				want := islowBlockRef(c.dc[b], c.kept(by, bx), &d.quant[0])
				for k := range 64 {
					y, x := by*8+k/8, bx*8+k%8
					if got := c.values[y*c.cw+x]; got != want[k] {
						t.Fatalf("trial %d block (%d,%d) sample (%d,%d): %d, butterfly %d (%d non-zero)",
							trial, bx, by, x%8, y%8, got, want[k], bits.OnesCount64(nzOf(c, b)))
					}
				}
			}
		}
	}
}

func nzOf(c *component, b int) uint64 {
	if c.nz == nil {
		return 0
	}
	return c.nz[b]
}
