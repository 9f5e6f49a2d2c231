// Package kernels holds the float32 compute kernels of the inference engine:
// a packed GEMM with fused bias and clamp (1x1 convolutions, fully connected
// layers, and general convolutions after a row gather) and a direct
// depthwise convolution. A portable Go path always builds; on amd64 an
// AVX2+FMA assembly path is chosen at run time when the CPU supports it.
package kernels

import "math"

// NR is the column width of a packed B panel.
const NR = 16

// MR is the number of A rows the micro-kernel handles at once.
const MR = 6

// PackedB is a K×N right-hand matrix stored as panels of NR columns, each
// panel K rows of NR floats, zero-padded past N.
type PackedB struct {
	K, N   int
	panels []float32
	bias   []float32 // bias padded to a multiple of NR
}

// PackB packs weights given as N rows of K (w[n*k+kk], the layout of TFLite
// conv filters and fully connected weights) and an optional bias of N.
func PackB(w []float32, n, k int, bias []float32) *PackedB {
	np := (n + NR - 1) / NR
	p := &PackedB{K: k, N: n, panels: make([]float32, np*k*NR), bias: make([]float32, np*NR)}
	for j := 0; j < n; j++ {
		panel, col := j/NR, j%NR
		base := panel * k * NR
		for kk := 0; kk < k; kk++ {
			p.panels[base+kk*NR+col] = w[j*k+kk]
		}
	}
	copy(p.bias, bias)
	return p
}

// Activation bounds for fused activations.
var (
	NoClampLo = float32(math.Inf(-1))
	NoClampHi = float32(math.Inf(1))
)

// Gemm computes C[i][j] = clamp(sum_k A[i*lda+k]*B[k][j] + bias[j], lo, hi)
// for rows i in [0, m) and all N columns of b, writing C with row stride ldc.
func Gemm(m int, a []float32, lda int, b *PackedB, lo, hi float32, c []float32, ldc int) {
	if m <= 0 {
		return
	}
	_ = a[(m-1)*lda+b.K-1]
	_ = c[(m-1)*ldc+b.N-1]
	if hasAVX2FMA {
		gemmAVX2(m, a, lda, b, lo, hi, c, ldc)
		return
	}
	gemmGeneric(m, a, lda, b, lo, hi, c, ldc)
}

func clamp(v, lo, hi float32) float32 {
	if v < lo {
		v = lo
	}
	if v > hi {
		v = hi
	}
	return v
}

// gemmGeneric is the portable path.
func gemmGeneric(m int, a []float32, lda int, b *PackedB, lo, hi float32, c []float32, ldc int) {
	var acc [NR]float32
	for i := 0; i < m; i++ {
		arow := a[i*lda : i*lda+b.K]
		for panel := 0; panel*NR < b.N; panel++ {
			pb := b.panels[panel*b.K*NR : (panel+1)*b.K*NR]
			acc = [NR]float32{}
			for kk, av := range arow {
				bp := pb[kk*NR : kk*NR+NR]
				for j := range acc {
					acc[j] += av * bp[j]
				}
			}
			n0 := panel * NR
			cols := min(NR, b.N-n0)
			crow := c[i*ldc+n0 : i*ldc+n0+cols]
			for j := range crow {
				crow[j] = clamp(acc[j]+b.bias[n0+j], lo, hi)
			}
		}
	}
}
