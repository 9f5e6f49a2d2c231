//go:build amd64

package kernels

import "math"

// The banded driver of the 32-column AVX-512 tiles. The panel-major loop
// (gemmPanels512) reads every weight panel once per 12-row tile and all of
// A once per panel, and waits on each cold panel of weights. This one
// walks the product in blocks sized from the caches:
//
//	for each block of kc rows of K (one panel's slice, kc×32 floats, about
//	        the size of L1, stays near while every row tile of the band reads it)
//	  for each band of mc rows of A (mc×kc of A and the band's mc×N
//	          outputs stay in L2 while every panel passes over them)
//	    for each panel of 32 columns
//	      for each tile of 12 (or 13, then 8, 4, 1) rows
//
// A band after the first whose K block is short runs the last two loops
// the other way round, each row tile over every panel (tilesOuter).
// A last panel of at most 16 real columns runs 16-column tiles (one ZMM a
// row, half the multiply-adds of its zero padding; halfPanel), and the
// tiles read and write only the panel's real columns, under a mask, so a
// partial panel is stored in place (maskedTail).
// Sums of an earlier block of K are carried in C; a residual, the clamp,
// and HARD_SWISH when asked, are applied in registers by the last one's
// tiles. While a panel's row tiles run, they read the next panel's slice
// towards L2 (prefetchPlan), so a layer whose weights come from L3 or
// memory does not stall on each panel; and at batch 1, the row tiles of a
// layer followed by a product bound by its weights read the first part of
// those weights ahead (gemmahead.go, the gemmR tiles).

// bandedGemm selects the banded driver for 32-column panels; tests and
// benchmarks switch it off to compare with the panel-major loop.
var bandedGemm = true

// halfPanel runs a last panel of at most 16 real columns (N mod 32 in 1..16:
// MobileNet V3's 40, 72, 80, 112, 200 and 240 channels) on the 16-column
// tiles (gemmB<R>x16, gemmR<R>x16) instead of the 32-column ones, which
// multiply its zero padding too; benchmarks switch it off to compare.
var halfPanel = true

// maskedTail runs a last panel of 17 to 31 real columns (MobileNet V3's
// 24, 120 and 184 channels) in place, the 32-column tiles masking the
// columns past N in their loads and stores, instead of through a staging
// tile and copies; benchmarks switch it off to compare.
var maskedTail = true

// oneBandRows is the most rows gemmBlocks keeps in one band whatever the
// cache budget (eight 13-row tiles); benchmarks set it to 0 to compare.
var oneBandRows = 104

// spreadPrefetch makes every row tile of a band of up to oneBandRows rows
// read its share of the next slice ahead, instead of the first two tiles
// reading half each; benchmarks switch it to compare.
var spreadPrefetch = true

// oneBandFullK gives a one-band product whose panels are at most an
// eighth of L2 a single K block (gemmBlocks); benchmarks switch it off to
// compare.
var oneBandFullK = true

// kcOverride, when positive, replaces the cache-derived K block (tests use
// it to cover several blocks on small shapes).
var kcOverride = 0

// gemmBlocks picks the K block kc and the row band mc for an m×k by k×n
// product from the cache sizes.
func gemmBlocks(m, k, n int) (kc, mc int) {
	// One panel's slice of kc×32 floats the size of L1: the row tiles of
	// a band reread it from L1 or L2 (both keep the tile fed; measured,
	// slices of half of L1 lost 2-4% to the extra passes over C).
	kcMax := max(128, cacheL1/(NR512*4)) &^ 3
	switch {
	case m <= 12:
		// One row tile per panel: nothing reads a slice twice, and whole
		// panels stream in order.
		kcMax = k
	case oneBandFullK && m <= oneBandRows && k*NR512*4 <= cacheL2/8:
		// One band (one image's late layers): a whole panel at a time,
		// its row tiles rereading it from L2. The weights stream in one
		// pass, panel after panel, and the outputs are stored once
		// rather than once per K block. Measured against L1-sized blocks
		// (BenchmarkGemmOneBandFullK, weights cold, median call):
		// 49x1024x2048 1.04-1.06, 49x512x2048 1.03, 49x2048x512 and
		// 16x1024x1024 1.02, 64x512x512 1.00, 16x512x1024 and 16x960x160
		// 0.98 (their best calls 1.01-1.04); 49x4608x512 (576 KB panels)
		// 0.95-0.96, hence the bound. Whole models at batch 1
		// (BenchmarkFullKModel): V1 1.0@128 1.01, V2, V3-Large and
		// ResNet-50 1.00.
		kcMax = k
	}
	if kcOverride > 0 {
		kcMax = kcOverride
	}
	blocks := (k + kcMax - 1) / kcMax
	kc = min(k, ((k+blocks-1)/blocks+3)&^3)
	if m <= oneBandRows {
		// A few tiles' rows (one image's 8x8 or 7x7 layer, a fused band)
		// in one band: two bands would read every weight twice, and the
		// second of them would be a stub (49 rows as 48 + 1 ran its last
		// row as a one-row tile over all of the weights). Measured with
		// both in one loop: ResNet-50's 49-row layers at batch 1 7-21 %
		// faster, MobileNet V1's 64-row layers the same.
		return kc, m
	}
	// The band's A block and its outputs get a sixteenth of L2, but at
	// least four row tiles: A's block stays close to L1 and the outputs
	// (and a residual) in L2 while the panels pass, and every band rereads
	// the K block's weights from L2. Weights larger than half of L2 would
	// come from further out for each band: then a quarter of L2, fewer and
	// taller bands. (Measured against a quarter of L2 for all: ResNet-50's
	// 3136x64x256 5-7 % faster, with a residual 784x256x1024 5 % and
	// 3136x128x512 10-24 %, the rest within 1 %.)
	budget := cacheL2 / 16
	if kc*n*4 > cacheL2/2 {
		budget = cacheL2 / 4
	}
	mcMax := max(48, budget/((kc+n)*4)/12*12)
	bands := (m + mcMax - 1) / mcMax
	mc = min(m, max(48, ((m+bands-1)/bands+11)/12*12))
	return kc, mc
}

// tileRows is the height of the next row tile with r rows left: 12, and
// for the rest the tallest of 8, 4 and 1 that fits; 13 rows take one tile
// of 13, so that 12k+1 rows (49, ResNet's 7×7 layers, one image) end in
// it rather than in a one-row tile that reads a whole panel for one row.
func tileRows(r int) int {
	switch {
	case r == 13:
		return 13
	case r == 16:
		return 8 // two tiles of 8 rather than 12 and a 4-row tile
	case r >= 12:
		return 12
	case r >= 8:
		return 8
	case r >= 4:
		return 4
	}
	return 1
}

// gemmBanded512 is GemmPanelsAct on 32-column panels; res, when not nil,
// holds m rows (ldr floats apart) added to the sums before the bounds.
func gemmBanded512(m int, a []float32, lda int, b *PackedB, p0, p1 int, lo, hi float32, hs bool, res []float32, ldr int, c []float32, ldc int) {
	const nr = NR512
	k := b.K
	kc, mc := gemmBlocks(m, k, (p1-p0)*nr)
	var ctile, rtile [13 * nr]float32
	inf := float32(math.Inf(1))
	// A later layer's weights read ahead (gemmahead.go): one band, one K
	// block, every panel.
	var ahead, ahead2 []float32 // the next weights and, chained, the ones after
	if readAhead && b.next != nil {
		ahead = b.next.panels
		if n2 := b.next.next; n2 != nil && b.next.aheadRows > 0 && b.next.aheadNextRows <= b.next.aheadRows {
			ahead2 = n2.panels
		}
	}
	aheadLen := len(ahead) + len(ahead2)
	aheadAt := func(off int) *float32 {
		switch {
		case off < len(ahead):
			return &ahead[off]
		case off < aheadLen:
			return &ahead2[off-len(ahead)]
		}
		return nil
	}
	aheadFirst, aheadStep, aheadNT := p1, 0, 0
	if readAhead && b.next != nil && kc == k && mc == m && p0 == 0 && p1 == b.Panels() && aheadWorth(m, b.aheadRows, b.aheadNextRows) {
		for r := 0; r < m; r += tileRows(m - r) {
			aheadNT++
		}
		aheadFirst, aheadStep = aheadPlan(m, p1, k, aheadNT, aheadLen, cacheL2)
	}
	// Or, in a product of several bands, its last tile-major row tiles of
	// at least aheadTileRows rows (q counts them in order; from tmStart on
	// each reads tmBytes).
	tmStart, tmBytes, q := -1, 0, 0
	if readAhead && b.next != nil && kc == k && mc < m && p0 == 0 && p1 == b.Panels() && aheadWorth(m, b.aheadRows, b.aheadNextRows) {
		calls := 0
		for i0 := mc; i0 < m; i0 += mc {
			if tilesOuter(i0, k, (p1-p0)*nr) {
				for r, mb := 0, min(mc, m-i0); r < mb; r += tileRows(mb - r) {
					if tileRows(mb-r) >= aheadTileRows {
						calls += p1 - p0
					}
				}
			}
		}
		tmStart, tmBytes = aheadPlanTiles(calls, k, aheadLen, cacheL2)
	}
	tmAt := -1
	for k0 := 0; k0 < k; k0 += kc {
		kb := min(kc, k-k0)
		first, last := k0 == 0, k0+kb == k
		clo, chi, chs, cres := lo, hi, 0, res
		switch {
		case !last:
			clo, chi, cres = -inf, inf, nil
		case hs:
			chs = 1
		}
		for i0 := 0; i0 < m; i0 += mc {
			mb := min(mc, m-i0)
			// doTile runs the row tile of rows rows from band row r on
			// panel p, reading pfs bytes a step ahead from pf.
			doTile := func(p, r, rows int, pf *float32, pfs int) {
				at := (p*k + k0) * nr
				bp := &b.panels[at]
				var ra *float32
				ras := 0
				if tmAt >= 0 {
					if ra = aheadAt(tmAt); ra != nil {
						ras = 128
					}
				}
				if p >= aheadFirst {
					g := (p-aheadFirst)*aheadNT + r2t(r, mb)
					if ra = aheadAt(g * (k / 4) * aheadStep / 4); ra != nil {
						ras = aheadStep
					}
				}
				n0 := p * nr
				cols := min(nr, b.N-n0)
				row := i0 + r
				ar := &a[row*lda+k0]
				// A last panel of at most 16 real columns runs the
				// 16-column tiles, half the multiply-adds, reading and
				// writing its columns in place (masked).
				half := cols <= 16 && halfPanel
				if cols == nr || half || cols > 16 && maskedTail {
					init, ldi := &b.bias[p*nr], 0
					if !first {
						init, ldi = &c[row*ldc+n0], ldc
					}
					var rp *float32
					if cres != nil {
						rp = &cres[row*ldr+n0]
					}
					if half {
						tileR16(rows, kb, ar, lda, bp, &c[row*ldc+n0], ldc, init, ldi, pf, pfs, clo, chi, chs, rp, ldr, ra, ras, cols)
					} else {
						tileR(rows, kb, ar, lda, bp, &c[row*ldc+n0], ldc, init, ldi, pf, pfs, clo, chi, chs, rp, ldr, ra, ras, cols)
					}
				} else {
					init, ldi := &b.bias[p*nr], 0
					if !first {
						for i := 0; i < rows; i++ {
							copy(ctile[i*nr:i*nr+cols], c[(row+i)*ldc+n0:(row+i)*ldc+n0+cols])
						}
						init, ldi = &ctile[0], nr
					}
					var rp *float32
					if cres != nil {
						for i := 0; i < rows; i++ {
							copy(rtile[i*nr:i*nr+cols], cres[(row+i)*ldr+n0:(row+i)*ldr+n0+cols])
						}
						rp = &rtile[0]
					}
					tileR(rows, kb, ar, lda, bp, &ctile[0], nr, init, ldi, pf, pfs, clo, chi, chs, rp, nr, ra, ras, nr)
					for i := 0; i < rows; i++ {
						copy(c[(row+i)*ldc+n0:(row+i)*ldc+n0+cols], ctile[i*nr:i*nr+cols])
					}
				}
			}
			if tilesOuter(i0, kb, (p1-p0)*nr) {
				// Each row tile over every panel; while it runs on the
				// first, it reads the next tile's rows of A ahead (a line
				// a step from its first row: at least 16 rows of kb floats
				// when A's rows are kb floats long).
				for r := 0; r < mb; {
					rows := tileRows(mb - r)
					for p := p0; p < p1; p++ {
						pf, pfs := &b.panels[(p*k+k0)*nr], 0
						if p == p0 && r+rows < mb {
							pf, pfs = &a[(i0+r+rows)*lda+k0], 64
						}
						tmAt = -1
						if tmStart >= 0 && rows >= aheadTileRows {
							if q >= tmStart {
								tmAt = (q - tmStart) * tmBytes / 4
							}
							q++
						}
						doTile(p, r, rows, pf, pfs)
					}
					r += rows
				}
				continue
			}
			nt := 0 // the band's row tiles, when they share the read-ahead
			if spreadPrefetch && mb <= oneBandRows && (p1-p0 > 1 || !last) {
				for r := 0; r < mb; r += tileRows(mb - r) {
					nt++
				}
			}
			for p := p0; p < p1; p++ {
				at := (p*k + k0) * nr
				bp := &b.panels[at]
				// What to read ahead: the next panel's slice, else the
				// first panel's slice of the next K block.
				next, nextK := at, 0
				switch {
				case p+1 < p1:
					next, nextK = ((p+1)*k+k0)*nr, kb
				case !last:
					next, nextK = (p0*k+k0+kb)*nr, min(kc, k-k0-kb)
				}
				for r, t := 0, 0; r < mb; t++ {
					rows := tileRows(mb - r)
					off, pfs := prefetchPlan(t, nt, rows, mb, kb, nextK)
					pf := bp
					if pfs > 0 {
						pf = &b.panels[min(next+off, len(b.panels)-1)]
					}
					doTile(p, r, rows, pf, pfs)
					r += rows
				}
			}
		}
	}
}

// r2t returns the index of the row tile that starts at row r of a band of
// mb rows.
func r2t(r, mb int) int {
	t := 0
	for i := 0; i < r; i += tileRows(mb - i) {
		t++
	}
	return t
}

// tilesOuterK is the longest K block whose bands after the first run
// tile-major (tilesOuter); benchmarks set it to 0 to compare.
var tilesOuterK = 256

// tilesOuter reports whether the band starting at row i0 of a K block of
// kb steps runs its row tiles in the outer loop and the panels in the
// inner one: each tile's rows of A come from far (a large layer's input,
// read once) and are then reread from L1 by every panel, where the panel
// loop reads each band's A from L2 or memory once per panel. The first
// band keeps the panel loop, which streams the weights in with their
// next slices read ahead; the later bands find the K block's weights in
// L2, which is why they must fill at most half of it (kb×N floats: 1 MB
// for ResNet-50's 784x256x1024; 196x512x2048's 2 MB came from L3 for
// every tile: 0.84-0.90). Measured with both in one loop
// (BenchmarkGemmTilesOuter, thread CPU, median call, two runs at load 8):
// ResNet-50's 56x56 1x1 layers 3136x256x64 1.05-1.06, 3136x64x64
// 1.01-1.07, 3136x64x256 with its residual 1.06-1.08, batch 8's
// 12544x256x64 1.08-1.11, 784x256x1024 with its residual 1.04, V1's
// 1024x256x256 1.03-1.04 and 4096x32x64 1.07-1.09. Tile-major for every
// band lost on one-band calls, whose weights come cold (10-25 % for the
// lack of a weight read-ahead), and on K blocks of 344 steps or more
// (196x2048x512: 0.90).
func tilesOuter(i0, kb, n int) bool {
	return i0 > 0 && kb <= tilesOuterK && kb*n*4 <= cacheL2/2
}

// prefetchPlan says which part of the next slice (nextK rows of 32 floats,
// two cache lines a row) row tile t of a band of mb rows reads ahead while
// it runs its kb steps, one line a step: from off floats into the slice,
// advancing pfs bytes a step (0: nothing). A lone tile reads every other
// line (the adjacent-line prefetcher brings its pair). With nt > 2 (the
// tiles of one band of at most oneBandRows rows, spreadPrefetch on) each
// tile reads its nt-th of the slice, so the reads are spread over the
// whole panel's time rather than crowded into its first two tiles; else
// (or with no next slice: the last panel of the last K block) the first
// two tiles read half each. Prefetches never fault: running past
// a shorter next slice only wastes a read.
func prefetchPlan(t, nt, rows, mb, kb, nextK int) (off, pfs int) {
	switch {
	case rows == mb:
		return 0, 128
	case nt > 2 && nextK > 0:
		lines := (2*nextK + nt - 1) / nt
		if t*lines >= 2*nextK {
			return 0, 0
		}
		// Rounded up to a whole byte: nt > 2 and nextK <= kb keep the
		// stride under a line, so no line is skipped.
		return t * lines * 16, (lines*64 + kb - 1) / kb
	case t == 0:
		return 0, 64
	case t == 1:
		return nextK * 16, 64
	}
	return 0, 0
}

// tileB calls the banded micro-kernel for 13, 12, 8, 4 or 1 rows, on the
// first cols (17 to 32) columns of the panel.
func tileB(rows, k int, a *float32, lda int, b, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, cols int) {
	if cols <= 16 || cols > NR512 {
		panic("kernels: a 32-column tile for at most 16 or more than 32 columns")
	}
	switch rows {
	case 13:
		gemmB13x32(k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, cols)
	case 12:
		gemmB12x32(k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, cols)
	case 8:
		gemmB8x32(k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, cols)
	case 4:
		gemmB4x32(k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, cols)
	default:
		gemmB1x32(k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, cols)
	}
}

// tileR is tileB reading a later layer's weights ahead from ra, ras bytes a
// pass of four k steps (gemmR<rows>x32); ras 0 runs tileB.
func tileR(rows, k int, a *float32, lda int, b, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, ra *float32, ras int, cols int) {
	if ras == 0 {
		tileB(rows, k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, cols)
		return
	}
	switch rows {
	case 13:
		gemmR13x32(k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, ra, ras, cols)
	case 12:
		gemmR12x32(k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, ra, ras, cols)
	case 8:
		gemmR8x32(k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, ra, ras, cols)
	case 4:
		gemmR4x32(k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, ra, ras, cols)
	default:
		gemmR1x32(k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, ra, ras, cols)
	}
}

// tileR16 is tileR on the first cols (1 to 16) columns of a panel (B's rows
// still 32 floats apart; only those columns of c, init and res are read or
// written): gemmB<rows>x16, or gemmR<rows>x16 when ras is not 0.
func tileR16(rows, k int, a *float32, lda int, b, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, ra *float32, ras int, cols int) {
	if cols < 1 || cols > 16 {
		panic("kernels: a 16-column tile for more than 16 columns")
	}
	if ras == 0 {
		switch rows {
		case 13:
			gemmB13x16(k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, cols)
		case 12:
			gemmB12x16(k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, cols)
		case 8:
			gemmB8x16(k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, cols)
		case 4:
			gemmB4x16(k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, cols)
		default:
			gemmB1x16(k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, cols)
		}
		return
	}
	switch rows {
	case 13:
		gemmR13x16(k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, ra, ras, cols)
	case 12:
		gemmR12x16(k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, ra, ras, cols)
	case 8:
		gemmR8x16(k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, ra, ras, cols)
	case 4:
		gemmR4x16(k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, ra, ras, cols)
	default:
		gemmR1x16(k, a, lda, b, c, ldc, init, ldi, pf, pfs, lo, hi, hs, res, ldr, ra, ras, cols)
	}
}

// The micro-kernels of gemmband_amd64.s (generated by gen_gemmband.go).
//
//go:noescape
func gemmB13x32(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, cols int)

//go:noescape
func gemmB12x32(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, cols int)

//go:noescape
func gemmB8x32(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, cols int)

//go:noescape
func gemmB4x32(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, cols int)

//go:noescape
func gemmB1x32(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, cols int)

//go:noescape
func gemmR13x32(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, ra *float32, ras int, cols int)

//go:noescape
func gemmR12x32(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, ra *float32, ras int, cols int)

//go:noescape
func gemmR8x32(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, ra *float32, ras int, cols int)

//go:noescape
func gemmR4x32(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, ra *float32, ras int, cols int)

//go:noescape
func gemmR1x32(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, ra *float32, ras int, cols int)

//go:noescape
func gemmB13x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, cols int)

//go:noescape
func gemmB12x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, cols int)

//go:noescape
func gemmB8x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, cols int)

//go:noescape
func gemmB4x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, cols int)

//go:noescape
func gemmB1x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, cols int)

//go:noescape
func gemmR13x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, ra *float32, ras int, cols int)

//go:noescape
func gemmR12x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, ra *float32, ras int, cols int)

//go:noescape
func gemmR8x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, ra *float32, ras int, cols int)

//go:noescape
func gemmR4x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, ra *float32, ras int, cols int)

//go:noescape
func gemmR1x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, pf *float32, pfs int, lo, hi float32, hs int, res *float32, ldr int, ra *float32, ras int, cols int)
