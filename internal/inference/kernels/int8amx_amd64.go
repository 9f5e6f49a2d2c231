//go:build amd64

package kernels

import (
	"os"

	"golang.org/x/sys/cpu"
)

// The int8 GEMM on AMX tiles (Advanced Matrix Extensions, TDPBUSD): one
// instruction multiplies 16 rows of 64 unsigned activation bytes by 64 k
// of 16 channels' signed weights into 16x16 int32 sums, four times the
// multiply-adds per cycle of AVX-512 VNNI. The tiles read a PackedI8's
// panels as they are (16 groups of 4 k by 16 channels, 128 bytes a group),
// with k padded by zero groups to a multiple of 64 (PackedI8.amx). The
// activation rows then read up to 60 bytes past K, which the zero weights
// cancel; a block whose last row would read past the end of a takes the
// VNNI kernel instead. The int32 block is rescaled by the AVX-512
// requantization. The tiles stay configured on a thread once used (see
// int8amx_amd64.s). CSPIPE_KERNELS=avx512 turns them off (VNNI only).

// hasAMX reports AMX-INT8 on the CPU and the kernel's permission to use
// its tile registers (Linux grants it per process on request).
var hasAMX = cpu.X86.HasAMXTile && cpu.X86.HasAMXInt8 && amxPermit()

func init() {
	if os.Getenv("CSPIPE_KERNELS") == "avx512" {
		hasAMX = false
	}
}

// amxConfig is the tile configuration the kernels load: palette 1, tiles
// 0 to 7 each 16 rows of 64 bytes.
var amxConfig = func() (c [64]byte) {
	c[0] = 1
	for t := 0; t < 8; t++ {
		c[16+2*t] = 64
		c[48+t] = 16
	}
	return c
}()

// Implemented in int8amx_amd64.s.
//
//go:noescape
func amxGemm32(cfg *byte, k64 int, a *uint8, lda int, b *int8, pstride, np int, c *int32, ldc int)

//go:noescape
func amxGemm16(cfg *byte, k64 int, a *uint8, lda int, b *int8, pstride, np int, c *int32, ldc int)

// useAMX reports whether GemmU8I8Requant runs on AMX tiles (rows past the
// last block of 16 take the AVX-512 VNNI kernels).
func useAMX() bool { return hasAMX && UseVNNI() }

// amxK is kp rounded up to the 64 k of one tile step.
func amxK(kp int) int { return (kp + 63) / 64 * 64 }

// packAMX sets p.amx: Data itself when Kp is a multiple of 64, else a copy
// whose panels carry zero groups up to amxK(Kp).
func (p *PackedI8) packAMX() {
	k64 := amxK(p.Kp)
	if k64 == p.Kp {
		p.amx = p.Data
		return
	}
	p.amx = make([]int8, p.Np*k64)
	for panel := 0; panel < p.Np/I8Tile; panel++ {
		copy(p.amx[panel*k64*I8Tile:], p.Data[panel*p.Kp*I8Tile:(panel+1)*p.Kp*I8Tile])
	}
}

// amxMinK and amxMinN are the least depth and output channels that run
// on the tiles: below them the VNNI kernel, which rescales in registers,
// was faster (BenchmarkGemmU8I8Requant: 64x64x32 2.1 us on the tiles, 1.8
// us without; 64x32x144 2.2 us and 1.3 us).
const amxMinK, amxMinN = 64, 64

// gemmRequantAMX computes and rescales rows from 0 in blocks of 32 and 16
// and returns how many rows it covered (0 when the tiles do not apply).
// c is scratch of at least 32 rows of b.Np (GemmU8I8Requant's m rows).
func gemmRequantAMX(m int, a []uint8, lda int, b *PackedI8, r *Requant, out []int8, ldo int, c []int32) int {
	if !useAMX() || b.amx == nil || m < 16 || b.Kp < amxMinK || b.N < amxMinN {
		return 0
	}
	k64 := amxK(b.Kp)
	np := b.Np / I8Tile
	done := 0
	for m-done >= 16 {
		rows := 16
		if m-done >= 32 {
			rows = 32
		}
		// The block's last row reads k64 bytes.
		if (done+rows-1)*lda+k64 > len(a) {
			rows = 16
			if (done+rows-1)*lda+k64 > len(a) {
				break
			}
		}
		if rows == 32 {
			amxGemm32(&amxConfig[0], k64/64, &a[done*lda], lda, &b.amx[0], k64*I8Tile, np, &c[0], 4*b.Np)
		} else {
			amxGemm16(&amxConfig[0], k64/64, &a[done*lda], lda, &b.amx[0], k64*I8Tile, np, &c[0], 4*b.Np)
		}
		r.Rows(out[done*ldo:], ldo, c, b.Np, rows)
		done += rows
	}
	return done
}
