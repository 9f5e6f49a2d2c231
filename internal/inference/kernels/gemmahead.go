package kernels

// Reading a later layer's weights ahead. At batch 1 the late layers of a
// network find their weights in L3, not L2: one image's 7x7 layer
// computes long enough to leave the memory system partly idle, and a
// following few-row product (squeeze and excite, a head or classifier,
// bound by its weights) then streams all of its weights while the FMAs
// wait. A GEMM told which weights come next (SetReadAhead) reads the first
// part of them towards L2 while it computes: its last panels' row tiles
// each ask for two lines of them a pass of four k steps (gemmR<rows>x32,
// the plain kernels with a second read-ahead stream), spread over the
// layer's time, and issued late enough to still be in L2 when the next
// layer starts (aheadPlan). It is not free: the reading layer runs a few
// per cent slower, so only a next layer bound by its weights is read ahead
// (aheadWorth). The products the banded AVX-512 driver runs in one K
// block read ahead: in one band, its last panels' tiles (a 7x7 layer before
// a squeeze and excite or a head); in several bands, the last tile-major
// row tiles of the later bands, whose weights are already in L2 (a 14x14
// expansion before its squeeze and excite); and only over all of the
// weights' panels (one thread's call). The sums do not change.

// readAhead switches the read-ahead of later weights; benchmarks turn it
// off to compare.
var readAhead = true

// aheadShare is the part of L2 the read-ahead may count on: the lines read
// ahead plus the current layer's weights streamed after them (which evict
// the oldest lines first) stay under it.
const aheadShare = 3 // quarters of L2

// SetReadAhead makes every later GEMM over b read the first part of next's
// packed weights towards L2 (next nil: nothing) when next's GEMM, which
// runs nextRows rows where b's runs rows, is bound by its weights
// (aheadWorth). When next in turn reads weights ahead for a GEMM of no more
// rows, the read runs on into those (a squeeze and excite pair: at 14x14
// the squeeze's 450 KB leave room for part of the excite's). The graph
// planner links each GEMM layer to the next one that has weights.
func (b *PackedB) SetReadAhead(next *PackedB, rows, nextRows int) {
	if next == b || rows <= 0 || nextRows <= 0 {
		next = nil
	}
	b.next, b.aheadRows, b.aheadNextRows = next, rows, nextRows
}

// ReadAhead returns the weights b reads ahead (nil: none).
func (b *PackedB) ReadAhead() *PackedB { return b.next }

// aheadWorth reports whether a GEMM of m rows whose weights come next after
// one of rows rows (then nextRows rows) waits on its weights enough to be
// worth reading them ahead: its multiply-adds take less than half the time
// its weights take to stream in (at batch 1 the few-row products: squeeze
// and excite, the heads and classifiers). A next layer bound by its FMAs
// streams its own weights in time; one in between (MobileNet V1's 4x4
// layers, 16 rows) gained less from the lines read ahead (5 µs of the 38
// they take to stream) than the layer before lost reading them (2-12 µs,
// BenchmarkReadAheadModel).
func aheadWorth(m, rows, nextRows int) bool {
	nextM := max(1, m*nextRows/rows)
	return float64(nextM)*aheadBytesPerMAC < 2
}

// aheadBytesPerMAC is about how many bytes one core streams from L3 in the
// time its FMAs take for one multiply-add (measured here: 23-26 GB/s
// against 82-89 GMAC/s).
const aheadBytesPerMAC = 0.27

// aheadPlan says how a one-band, one-K-block product of m rows over np
// panels of k steps, with nt row tiles per panel, reads ahead the next
// weights of nextFloats floats: the row tiles of panels from first on each
// read two lines a pass of four k steps, advancing ras bytes a pass, tile g
// of them (counting from the first panel's first tile) from byte
// g×(k/4)×ras of the next weights. ras is half of what the memory system
// can stream while the tiles compute beyond the panel's own weights (so a
// product bound by its weights reads nothing ahead: it would only wait
// longer itself), at most the two lines; the panels are the last ones
// whose own weights and the lines read during them fit aheadShare quarters
// of L2 (l2 bytes), and no more than the next weights need. first == np:
// nothing is read.
func aheadPlan(m, np, k, nt, nextFloats, l2 int) (first, ras int) {
	passes := k / 4
	if np <= 0 || nt <= 0 || passes == 0 || nextFloats <= 0 {
		return np, 0
	}
	own := k * NR512 * 4
	spare := int(aheadBytesPerMAC*float64(m*k*NR512)) - own
	ras = min(128, spare/2/(nt*passes))
	if ras < aheadMinPass {
		return np, 0
	}
	perPanel := own + nt*passes*ras // own bytes + bytes read ahead
	panels := min(np, aheadShare*l2/4/perPanel)
	need := (nextFloats*4 + nt*passes*ras - 1) / (nt * passes * ras)
	panels = min(panels, need)
	return np - panels, ras
}

// aheadMinPass is the least read-ahead worth its instructions: bytes a pass
// of four k steps.
const aheadMinPass = 64

// aheadTileRows is the least rows a tile-major row tile must have to read
// ahead (aheadPlanTiles): its FMAs take long enough for two lines a pass
// of four k steps.
const aheadTileRows = 8

// aheadPlanTiles says how the last tile-major row tiles of a product of
// several bands (calls of them, each over k steps of weights already in
// L2) read ahead the next weights of nextFloats floats, two lines a pass
// of four steps: the tiles from start on each read bytes bytes, tile q
// from byte (q-start)×bytes, up to the next weights or a quarter of L2
// (l2 bytes) next to the product's K block (at most half of L2) and its
// band. start -1: nothing is read.
func aheadPlanTiles(calls, k, nextFloats, l2 int) (start, bytes int) {
	bytes = k / 4 * 128
	if calls <= 0 || bytes == 0 || nextFloats <= 0 {
		return -1, 0
	}
	want := min(nextFloats*4, l2/4)
	need := (want + bytes - 1) / bytes
	return max(0, calls-need), bytes
}
