//go:build amd64

package kernels

import "golang.org/x/sys/cpu"

// hasAVX2FMA selects the assembly kernels; the OS must also save YMM state,
// which x/sys/cpu folds into HasAVX2.
var hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// gemm6x16 computes one full 6×16 tile: c[r][j] = clamp(sum_k a[r*lda+k] *
// b[k*16+j] + bias[j], lo, hi) for r < 6, j < 16. Implemented in gemm_amd64.s.
//
//go:noescape
func gemm6x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32)

// dwTapAVX2 is dwTap for c a multiple of 8. Implemented in dw_amd64.s.
//
//go:noescape
func dwTapAVX2(out, in, w *float32, n, c, inStride int)

// clampAVX2 clamps n floats (a multiple of 8) to [lo, hi].
//
//go:noescape
func clampAVX2(p *float32, n int, lo, hi float32)

// gemmAVX2 runs the 6×16 micro-kernel over all tiles, staging partial tiles
// (fewer than 6 rows or 16 columns) through small buffers.
func gemmAVX2(m int, a []float32, lda int, b *PackedB, lo, hi float32, c []float32, ldc int) {
	gemmPanelsAVX2(m, a, lda, b, 0, (b.N+NR-1)/NR, lo, hi, c, ldc)
}

func gemmPanelsAVX2(m int, a []float32, lda int, b *PackedB, p0, p1 int, lo, hi float32, c []float32, ldc int) {
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
				continue
			}
			gemm6x16(k, &a[r*lda], lda, pb, &tile[0], NR, bias, lo, hi)
			for i := 0; i < MR; i++ {
				copy(c[(r+i)*ldc+n0:(r+i)*ldc+n0+cols], tile[i*NR:i*NR+cols])
			}
		}
		if tailA != nil {
			gemm6x16(k, &tailA[0], k, pb, &tile[0], NR, bias, lo, hi)
			for i := 0; i < m-full; i++ {
				copy(c[(full+i)*ldc+n0:(full+i)*ldc+n0+cols], tile[i*NR:i*NR+cols])
			}
		}
	}
}
