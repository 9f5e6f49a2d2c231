//go:build amd64

package kernels

// smallKRows is the height of gemmK6x64's row tile.
const smallKRows = 6

// smallK lets SmallKFast pick the small-K kernel (tests and benchmarks
// switch it off to compare with Gemm).
var smallK = true

// SmallKFast reports whether GemmSmallK has kernels of its own for b:
// AVX-512's 32-column panels.
func SmallKFast(b *PackedB) bool {
	return smallK && hasAVX512 && b.nr == NR512
}

// smallKOverlap lets gemmSmallK end with a tile overlapping the one
// before it instead of running the rows left on GemmPanels (benchmarks
// switch it off to compare).
var smallKOverlap = true

// smallKSingle lets gemmSmallK run the panels after the pairs on gemmK6x32
// (benchmarks switch it off to compare with GemmPanels).
var smallKSingle = true

// smallKBandBytes bounds the rows of A a band of gemmSmallK covers before
// the next band starts: with two pairs of panels or more (N of 128 and
// over), each call reads the band's A again, from L1 rather than L2
// (ResNet-50's 3136x64x256 with its residual: 1.04x GemmAct banded, 0.84x
// not). With one pair and a single panel (V3-Large's 3136x24x72) the bands
// ran 1-2.5% slower. 0 runs every call over all the rows (benchmarks
// compare).
var smallKBandBytes = 32 << 10

// gemmSmallK runs the rows in bands of at most smallKBandBytes of A (the
// last band taking the rows left), each on gemmSmallKBand. Where GemmAct
// would read the next layer's weights ahead (readsAhead), the calls on
// the last panels read them (aheadPlan's panels and bytes a pass, the
// tiles of every band counted).
func gemmSmallK(m int, a []float32, lda int, b *PackedB, act Act, c []float32, ldc int) {
	band := m
	if smallKBandBytes > 0 && b.N >= 4*NR512 {
		band = max(smallKRows, smallKBandBytes/(4*lda)/smallKRows*smallKRows)
	}
	next := func(i0 int) int {
		if m-i0 < 2*band {
			return m - i0
		}
		return band
	}
	var ah smallKAheadCursor
	if readsAhead(m, b) {
		nt := 0 // the calls' tiles a panel
		for i0 := 0; i0 < m; i0 += next(i0) {
			nt += (next(i0) + smallKRows - 1) / smallKRows
		}
		first, ras := aheadPlan(m, b.Panels(), b.K, nt, len(b.next.panels), cacheL2)
		if first < b.Panels() {
			ah = smallKAheadCursor{next: b.next.panels, first: first, ras: ras}
		}
	}
	for i0 := 0; i0 < m; {
		rows := next(i0)
		ra := act
		if ra.Res != nil {
			ra.Res = ra.Res[i0*act.LdRes:]
		}
		gemmSmallKBand(rows, a[i0*lda:], lda, b, ra, c[i0*ldc:], ldc, &ah)
		i0 += rows
	}
}

// smallKAheadCursor walks the next weights the small-K calls read ahead:
// each call on panels from first on reads on from byte at, ras bytes a
// pass of four steps for each of its panels.
type smallKAheadCursor struct {
	next    []float32 // nil: nothing is read
	first   int
	ras, at int
}

// take returns where a call of tiles row tiles of k steps on panels
// [p, p+panels) reads ahead and its bytes a pass (nil, 0: nothing).
func (h *smallKAheadCursor) take(p, panels, tiles, k int) (*float32, int) {
	if h.next == nil || p+panels <= h.first || h.at/4 >= len(h.next) {
		return nil, 0
	}
	at := h.at
	h.at += tiles * (k / 4) * h.ras * panels
	return &h.next[at/4], h.ras * panels
}

// gemmSmallKBand runs each whole pair of panels on gemmK6x64 over the rows in
// sixes, and the panels left (one, or a whole and a partial one) on
// gemmK6x32, columns past N masked off; then the rows left below the
// tiles in one more tile ending at row m (or on GemmPanelsAct). act's
// residual, bounds and HARD_SWISH are the kernels' epilogue.
func gemmSmallKBand(m int, a []float32, lda int, b *PackedB, act Act, c []float32, ldc int, ah *smallKAheadCursor) {
	const nr = NR512
	tiles := m / smallKRows
	pairs := b.N / (2 * nr)
	np := b.Panels()
	lo, hi, hs := act.Lo, act.Hi, 0
	if act.HardSwish {
		hs = 1
	}
	ldr := act.LdRes
	// res returns the residual's element at row i, column j (nil without
	// a residual).
	res := func(i, j int) *float32 {
		if act.Res == nil {
			return nil
		}
		return &act.Res[i*ldr+j]
	}
	// With rows left below the tiles (m >= 6), one more tile ends at row
	// m: it computes a few rows a second time, to the same values (c is
	// written, never read).
	last := m - smallKRows
	if last%smallKRows == 0 || !smallKOverlap {
		last = -1
	}
	for q := 0; q < pairs; q++ {
		p := 2 * q
		ra, ras := ah.take(p, 2, tiles, b.K)
		gemmK6x64(tiles, b.K, &a[0], lda, &b.panels[p*b.K*nr], &c[p*nr], ldc, &b.bias[p*nr], lo, hi, hs, res(0, p*nr), ldr, ra, ras)
		if last > 0 {
			ra, ras := ah.take(p, 2, 1, b.K)
			gemmK6x64(1, b.K, &a[last*lda], lda, &b.panels[p*b.K*nr], &c[last*ldc+p*nr], ldc, &b.bias[p*nr], lo, hi, hs, res(last, p*nr), ldr, ra, ras)
		}
	}
	tiled := 2 * pairs // the panels the tiles cover
	for ; tiled < np && smallKSingle; tiled++ {
		p := tiled
		mask := int(uint32(1)<<min(nr, b.N-p*nr) - 1)
		ra, ras := ah.take(p, 1, tiles, b.K)
		gemmK6x32(tiles, b.K, &a[0], lda, &b.panels[p*b.K*nr], &c[p*nr], ldc, &b.bias[p*nr], lo, hi, hs, res(0, p*nr), ldr, ra, ras, mask)
		if last > 0 {
			ra, ras := ah.take(p, 1, 1, b.K)
			gemmK6x32(1, b.K, &a[last*lda], lda, &b.panels[p*b.K*nr], &c[last*ldc+p*nr], ldc, &b.bias[p*nr], lo, hi, hs, res(last, p*nr), ldr, ra, ras, mask)
		}
	}
	if done := tiles * smallKRows; done < m && last < 0 {
		ra := act
		if ra.Res != nil {
			ra.Res = ra.Res[done*ldr:]
		}
		GemmPanelsAct(m-done, a[done*lda:], lda, b, 0, tiled, ra, c[done*ldc:], ldc)
	}
	if tiled < np {
		GemmPanelsAct(m, a, lda, b, tiled, np, act, c, ldc)
	}
}

// gemmK6x32 and gemmK6x64 are in gemmsmallk_amd64.s (generated by
// gen_gemmsmallk.go).
//
//go:noescape
func gemmK6x32(tiles, k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32, hs int, res *float32, ldr int, ra *float32, ras int, mask int)

//go:noescape
func gemmK6x64(tiles, k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32, hs int, res *float32, ldr int, ra *float32, ras int)
