//go:build amd64

package kernels

import "golang.org/x/sys/cpu"

// hasBF3 reports AMX-BF16 and AVX512_BF16 on the CPU, with the tiles
// permitted.
var hasBF3 = cpu.X86.HasAMXTile && cpu.X86.HasAMXBF16 && cpu.X86.HasAVX512BF16 && cpu.X86.HasAVX512F && amxPermit()

// BF3Available reports whether GemmBF3Act can run here: the CPU's
// features, less what CSPIPE_KERNELS caps (avx512 turns the tiles off,
// avx2 and generic AVX-512 as well).
func BF3Available() bool { return hasBF3 && hasAMX && hasAVX512 }

// Implemented in amxf32_amd64.s.
//
//go:noescape
func bf3Gemm32(cfg *byte, kb int, a *uint16, lda int, b *uint16, pstride, np int, c *float32, ldc int)

//go:noescape
func bf3Gemm16(cfg *byte, kb int, a *uint16, lda int, b *uint16, pstride, np int, c *float32, ldc int)

//go:noescape
func bf3Half32(cfg *byte, kb int, a *uint16, lda int, b *uint16, c *float32, ldc int)

//go:noescape
func bf3Half16(cfg *byte, kb int, a *uint16, lda int, b *uint16, c *float32, ldc int)

//go:noescape
func bf3Split(rows, kfull int, a *float32, lda int, masks uint32, dst *uint16, ldd int)

//go:noescape
func bf3Epilogue(n int, src, bias, res, dst *float32, lo, hi float32)

// GemmBF3Act computes, for rows [0, m) and the columns of panels [p0, p1)
// of b, C = act(A·B + bias) as GemmPanelsAct does, on AMX BF16 tiles with
// the bf16x3 split (see amxf32.go). w is the call's scratch. It panics
// without AMX-BF16 (BF3Available).
func GemmBF3Act(m int, a []float32, lda int, b *PackedBF3, p0, p1 int, act Act, c []float32, ldc int, w *BF3Work) {
	if !BF3Available() {
		panic("kernels: GemmBF3Act without AMX-BF16")
	}
	if m <= 0 || p0 >= p1 {
		return
	}
	if p0 < 0 || p1 > b.Panels() {
		panic("kernels: GemmBF3Act panels out of range")
	}
	checkGemm(m, a, lda, b.K, b.N, act, c, ldc)
	np := p1 - p0
	kb := b.Kp / bf3KBlock
	ldaB := 2 * 3 * b.Kp // bytes between split rows
	ldcF := np * BF3Panel
	n0, n1 := p0*BF3Panel, min(p1*BF3Panel, b.N)
	// The last block of K when K is not a multiple of 32: its k as the
	// set bits of the masks, loaded with zeros past K.
	var masks uint32
	if t := b.K % bf3KBlock; t != 0 {
		masks = 1<<t - 1
	}
	// A last panel whose second half is padding runs on the half kernels.
	half := bf3HalfPanels && p1 == b.Panels() && (p1-1)*BF3Panel+16 >= b.N
	// The last few rows go to the fp32 GEMM where its weights are small
	// enough to be read once more from cache.
	tail := 0
	if fb := b.Fallback; fb != nil && fb.nr == BF3Panel && fb.K == b.K && fb.N == b.N && 4*b.Kp*ldcF <= bf3FallbackBytes {
		r := m
		for r > 0 && bf3BlockRows(r) != 0 {
			r -= min(bf3BlockRows(r), r)
		}
		tail = r
	}
	tiled := m - tail
	// Weights that stay in L2 (bf3L2Weights) go past each block of 32
	// split rows, which stay in L1: all panels in one kernel call. Larger
	// ones would stream from L3 once per block; then the rows go in chunks
	// whose split rows and sums stay in L2 while each panel's weights go
	// past all of the chunk's blocks.
	bytes := 6 * b.Kp * ldcF
	chunk := 32
	if bytes > bf3L2Weights {
		chunk = bf3ChunkRows(b.Kp, ldcF)
	}
	full := np
	if half {
		full--
	}
	w.grow(chunk, b.Kp, ldcF)
	for r0 := 0; r0 < tiled; r0 += chunk {
		cm := min(chunk, tiled-r0)
		bf3Split(cm, b.K/bf3KBlock, &a[r0*lda], 4*lda, masks, &w.a[0], ldaB)
		if chunk == 32 {
			blk := 16
			if cm > 16 {
				blk = 32
			}
			bp := &b.data[p0*3*b.Kp*BF3Panel]
			pstride := 2 * 3 * b.Kp * BF3Panel
			if full > 0 {
				if blk == 32 {
					bf3Gemm32(&amxConfig[0], kb, &w.a[0], ldaB, bp, pstride, full, &w.c[0], 4*ldcF)
				} else {
					bf3Gemm16(&amxConfig[0], kb, &w.a[0], ldaB, bp, pstride, full, &w.c[0], 4*ldcF)
				}
			}
			if half {
				hp := &b.data[(p1-1)*3*b.Kp*BF3Panel]
				if blk == 32 {
					bf3Half32(&amxConfig[0], kb, &w.a[0], ldaB, hp, &w.c[full*BF3Panel], 4*ldcF)
				} else {
					bf3Half16(&amxConfig[0], kb, &w.a[0], ldaB, hp, &w.c[full*BF3Panel], 4*ldcF)
				}
			}
		} else {
			bf3PanelsOuter(cm, kb, w, ldaB, ldcF, b, p0, np, half)
		}
		for i := 0; i < cm; i++ {
			var res *float32
			if act.Res != nil {
				res = &act.Res[(r0+i)*act.LdRes+n0]
			}
			dst := c[(r0+i)*ldc+n0 : (r0+i)*ldc+n1]
			bf3Epilogue(n1-n0, &w.c[i*ldcF], &b.bias[n0], res, &dst[0], act.Lo, act.Hi)
			if act.HardSwish {
				HardSwish(dst)
			}
		}
	}
	if tail > 0 {
		GemmPanelsAct(tail, a[tiled*lda:], lda, b.Fallback, p0, p1, bf3RowsAct(act, tiled), c[tiled*ldc:], ldc)
	}
}

// bf3PanelsOuter runs the tile blocks of cm split rows in w panel by
// panel of b's np panels from p0 (the last on the half kernels if half).
func bf3PanelsOuter(cm, kb int, w *BF3Work, ldaB, ldcF int, b *PackedBF3, p0, np int, half bool) {
	for p := 0; p < np; p++ {
		bp := &b.data[(p0+p)*3*b.Kp*BF3Panel]
		hp := half && p == np-1
		for i := 0; i < cm; {
			blk := max(bf3BlockRows(cm-i), 16)
			ap, cp := &w.a[i*ldaB/2], &w.c[i*ldcF+p*BF3Panel]
			switch {
			case hp && blk == 32:
				bf3Half32(&amxConfig[0], kb, ap, ldaB, bp, cp, 4*ldcF)
			case hp:
				bf3Half16(&amxConfig[0], kb, ap, ldaB, bp, cp, 4*ldcF)
			case blk == 32:
				bf3Gemm32(&amxConfig[0], kb, ap, ldaB, bp, 0, 1, cp, 4*ldcF)
			default:
				bf3Gemm16(&amxConfig[0], kb, ap, ldaB, bp, 0, 1, cp, 4*ldcF)
			}
			i += blk
		}
	}
}

// bf3L2Weights is the most split weights GemmBF3Act streams past each
// block of 32 rows (from L2, of 2 MB here, if they stay there). ResNet-50's
// 14x14 K=256 N=1024 layer (1.5 MB split) ran 0.93-1.04 times the fp32
// speed that way, 0.83-0.95 in chunks panel by panel; its 7x7 K=512
// N=2048 layer (6 MB) 0.52-0.59 that way, 0.74-0.82 in chunks (batch 1).
const bf3L2Weights = 2 << 20

// bf3FallbackBytes bounds the fp32 weights GemmBF3Act reads once more
// for the last few rows of a call: more would stream from L3 again (the
// tiles then compute a 16-row block for them instead).
const bf3FallbackBytes = 1 << 20

// bf3ChunkRows is how many rows GemmBF3Act splits at once: a multiple
// of 32 whose split rows (6 bytes a k) stay within 768 KB and whose sums
// (ncols floats a row) within 512 KB, so that with a panel of weights
// they stay in L2.
func bf3ChunkRows(kp, ncols int) int {
	r := min(768<<10/(6*kp), 512<<10/(4*ncols))
	return max(32, r/32*32)
}

// bf3HalfPanels lets GemmBF3Act run a last panel whose second half is
// padding on the half kernels (tests and benchmarks switch it off).
var bf3HalfPanels = true

// bf3BlockRows is the tile block for the next of rem rows: 32 rows while
// more than 24 are left, then 16 while 8 or more are (a 16-row block costs
// half a 32-row one), then none: the fp32 GEMM (PackedBF3.Fallback) takes
// the last few rows.
func bf3BlockRows(rem int) int {
	switch {
	case rem > 24:
		return 32
	case rem >= 8:
		return 16
	}
	return 0
}

// bf3RowsAct is act for the rows from r0 on.
func bf3RowsAct(act Act, r0 int) Act {
	if act.Res != nil {
		act.Res = act.Res[r0*act.LdRes:]
	}
	return act
}
