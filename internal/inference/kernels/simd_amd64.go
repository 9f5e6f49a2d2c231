//go:build amd64

package kernels

import "golang.org/x/sys/cpu"

// hasAVX2FMA selects the assembly kernels; the OS must also save YMM state,
// which x/sys/cpu folds into HasAVX2.
var hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// hasAVX512 selects the 512-bit GEMM kernel (x/sys/cpu also checks that the
// OS saves ZMM and mask state).
var hasAVX512 = hasAVX2FMA && cpu.X86.HasAVX512F

// gemm6x16 computes one full 6×16 tile: c[r][j] = clamp(sum_k a[r*lda+k] *
// b[k*16+j] + bias[j], lo, hi) for r < 6, j < 16. Implemented in gemm_amd64.s.
//
//go:noescape
func gemm6x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)

// dwTapAVX2 is dwTap for c a multiple of 8. Implemented in dw_amd64.s.
//
//go:noescape
func dwTapAVX2(out, in, w *float32, n, c, inStride int)

// dw3x3AVX2 and dw3x3AVX512 compute n pixels of a 3x3 depthwise
// convolution whose windows are inside the image (c a multiple of 8 or 16).
// Implemented in dw3x3_amd64.s.
//
//go:noescape
func dw3x3AVX2(out, in, w, bias *float32, n, c, sx, rs int, lo, hi float32, ncb int)

//go:noescape
func dw3x3AVX512(out, in, w, bias *float32, n, c, sx, rs int, lo, hi float32, ncb int)

// clampAVX2 clamps n floats (a multiple of 8) to [lo, hi].
//
//go:noescape
func clampAVX2(p *float32, n int, lo, hi float32)

// gemm12x32 is the AVX-512 tile: 12 rows by 32 columns, same contract as
// gemm6x16. Implemented in gemm512_amd64.s.
//
//go:noescape
func gemm12x32(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)

// gemm4x32 and gemm1x32 are the 4-row and 1-row variants of gemm12x32 for
// the rows left after the 12-row tiles. Implemented in gemm512small_amd64.s.
//
//go:noescape
func gemm4x32(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)

//go:noescape
func gemm1x32(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)

// gemmPanels512 runs the 12×32 micro-kernel over column panels [p0, p1),
// staging partial column panels through a small buffer.
func gemmPanels512(m int, a []float32, lda int, b *PackedB, p0, p1 int, lo, hi float32, hs bool, c []float32, ldc int) {
	const mr, nr = 12, NR512
	k := b.K
	var tile [mr * nr]float32
	for p := p0; p < p1; p++ {
		pb := &b.panels[p*k*nr]
		bias := &b.bias[p*nr]
		n0 := p * nr
		cols := min(nr, b.N-n0)
		for r := 0; r < m; {
			rows := 1
			switch {
			case m-r >= 12:
				rows = 12
			case m-r >= 4:
				rows = 4
			}
			if cols == nr {
				tile512(rows, k, &a[r*lda], lda, pb, &c[r*ldc+n0], ldc, bias, lo, hi)
				if hs {
					hardSwishRows(c[r*ldc+n0:], ldc, rows, cols)
				}
			} else {
				tile512(rows, k, &a[r*lda], lda, pb, &tile[0], nr, bias, lo, hi)
				if hs {
					hardSwishRows(tile[:], nr, rows, cols)
				}
				for i := 0; i < rows; i++ {
					copy(c[(r+i)*ldc+n0:(r+i)*ldc+n0+cols], tile[i*nr:i*nr+cols])
				}
			}
			r += rows
		}
	}
}

func gemmPanelsAVX2(m int, a []float32, lda int, b *PackedB, p0, p1 int, lo, hi float32, hs bool, c []float32, ldc int) {
	k := b.K
	full := m / MR * MR
	var tailA []float32
	if full < m {
		// Copy the last rows into a zero-padded 6-row block.
		tailA = make([]float32, MR*k)
		for r := full; r < m; r++ {
			copy(tailA[(r-full)*k:(r-full+1)*k], a[r*lda:r*lda+k])
		}
	}
	var tile [MR * NR]float32
	for p := p0; p < p1; p++ {
		pb := &b.panels[p*k*NR]
		bias := &b.bias[p*NR]
		n0 := p * NR
		cols := min(NR, b.N-n0)
		for r := 0; r < full; r += MR {
			if cols == NR {
				gemm6x16(k, &a[r*lda], lda, pb, &c[r*ldc+n0], ldc, bias, lo, hi)
				if hs {
					hardSwishRows(c[r*ldc+n0:], ldc, MR, cols)
				}
				continue
			}
			gemm6x16(k, &a[r*lda], lda, pb, &tile[0], NR, bias, lo, hi)
			if hs {
				hardSwishRows(tile[:], NR, MR, cols)
			}
			for i := 0; i < MR; i++ {
				copy(c[(r+i)*ldc+n0:(r+i)*ldc+n0+cols], tile[i*NR:i*NR+cols])
			}
		}
		if tailA != nil {
			gemm6x16(k, &tailA[0], k, pb, &tile[0], NR, bias, lo, hi)
			if hs {
				hardSwishRows(tile[:], NR, m-full, cols)
			}
			for i := 0; i < m-full; i++ {
				copy(c[(full+i)*ldc+n0:(full+i)*ldc+n0+cols], tile[i*NR:i*NR+cols])
			}
		}
	}
}

// hardSwishRows applies HARD_SWISH to the first cols floats of rows rows,
// ld floats apart, starting at c[0]: the tile a kernel has just stored,
// still in L1 (the paths whose micro-kernels only clamp).
func hardSwishRows(c []float32, ld, rows, cols int) {
	if hardSwishTile(c, ld, rows, cols) { // hswishtile_amd64.go: one call on AVX2
		return
	}
	for i := 0; i < rows; i++ {
		HardSwish(c[i*ld : i*ld+cols])
	}
}

// tile512 calls the micro-kernel for 12, 4 or 1 rows.
func tile512(rows, k int, a *float32, lda int, b, c *float32, ldc int, bias *float32, lo, hi float32) {
	switch rows {
	case 12:
		gemm12x32(k, a, lda, b, c, ldc, bias, lo, hi)
	case 4:
		gemm4x32(k, a, lda, b, c, ldc, bias, lo, hi)
	default:
		gemm1x32(k, a, lda, b, c, ldc, bias, lo, hi)
	}
}

// fmaLoop512 and fmaLoopAVX2 run n iterations of 12 independent FMAs, for
// PeakMACs. Implemented in peak_amd64.s.
//
//go:noescape
func fmaLoop512(n int)

//go:noescape
func fmaLoopAVX2(n int)

// hardSwishAVX2 applies x*relu6(x+3)/6 to n floats (a multiple of 8) in
// place. Implemented in dw_amd64.s.
//
//go:noescape
func hardSwishAVX2(p *float32, n int)

// vecMulAVX2 and vecAddAVX2 multiply or add n floats (a multiple of 8)
// elementwise. Implemented in dw_amd64.s.
//
//go:noescape
func vecMulAVX2(dst, a, b *float32, n int)

//go:noescape
func vecAddAVX2(dst, a, b *float32, n int)

// poolTapAVX2 is PoolTap for c a multiple of 8. Implemented in pool_amd64.s.
//
//go:noescape
func poolTapAVX2(out, in *float32, n, c, inStride int, isMax bool)

// dwKxKAVX2 and dwKxKAVX512 compute n pixels of a KH×KW depthwise
// convolution whose windows are inside the image (c a multiple of 8 or 16),
// summing taps in dwTaps' order. Implemented in dwkxk_amd64.s.
//
//go:noescape
func dwKxKAVX2(out, in, w, bias *float32, n, c, sx, rs, kh, kw int, lo, hi float32, ncb int)

//go:noescape
func dwKxKAVX512(out, in, w, bias *float32, n, c, sx, rs, kh, kw int, lo, hi float32, ncb int)

// gemm12x16, gemm4x16 and gemm1x16 are AVX-512 tiles of 16 columns, one
// ZMM per row, for layers of at most 16 output channels (packed in 16-wide
// panels): twice the multiply-adds per instruction of the AVX2 6×16 tile.
// Implemented in gemm512x16_amd64.s.
//
//go:noescape
func gemm12x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)

//go:noescape
func gemm4x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)

//go:noescape
func gemm1x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)

// gemmPanels512x16 runs the 16-column AVX-512 tiles over 16-wide panels
// [p0, p1), staging partial panels through a small buffer.
func gemmPanels512x16(m int, a []float32, lda int, b *PackedB, p0, p1 int, lo, hi float32, hs bool, c []float32, ldc int) {
	const nr = NR
	k := b.K
	var tile [12 * nr]float32
	for p := p0; p < p1; p++ {
		pb := &b.panels[p*k*nr]
		bias := &b.bias[p*nr]
		n0 := p * nr
		cols := min(nr, b.N-n0)
		for r := 0; r < m; {
			rows := 1
			switch {
			case m-r >= 12:
				rows = 12
			case m-r >= 4:
				rows = 4
			}
			dst, ld := &c[r*ldc+n0], ldc
			if cols < nr {
				dst, ld = &tile[0], nr
			}
			switch rows {
			case 12:
				gemm12x16(k, &a[r*lda], lda, pb, dst, ld, bias, lo, hi)
			case 4:
				gemm4x16(k, &a[r*lda], lda, pb, dst, ld, bias, lo, hi)
			default:
				gemm1x16(k, &a[r*lda], lda, pb, dst, ld, bias, lo, hi)
			}
			if hs {
				if cols < nr {
					hardSwishRows(tile[:], nr, rows, cols)
				} else {
					hardSwishRows(c[r*ldc+n0:], ldc, rows, cols)
				}
			}
			if cols < nr {
				for i := 0; i < rows; i++ {
					copy(c[(r+i)*ldc+n0:(r+i)*ldc+n0+cols], tile[i*nr:i*nr+cols])
				}
			}
			r += rows
		}
	}
}

// dw3x3x4AVX512 is dw3x3AVX512 four output pixels at a time (n a multiple
// of 4), followed by HARD_SWISH (bit for bit HardSwish's) if hs is not 0.
// Implemented in dwblock_amd64.s (generated by gen_dwblock.go).
//
//go:noescape
func dw3x3x4AVX512(out, in, w, bias *float32, n, c, sx, rs int, lo, hi float32, hs int)

// dw3x3x4s1AVX512 is dw3x3x4AVX512 for stride 1, loading each input vector
// once per window row; its sums are identical. Implemented in
// dwblock_amd64.s.
//
//go:noescape
func dw3x3x4s1AVX512(out, in, w, bias *float32, n, c, rs int, lo, hi float32, hs int)
