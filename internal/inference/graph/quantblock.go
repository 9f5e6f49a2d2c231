package graph

import "github.com/cspipe/cspipe/internal/inference/kernels"

// The int8 inverted-residual block run band by band.
//
// MobileNet V2's block expands its input six-fold with a 1x1 convolution,
// filters that with a 3x3 depthwise convolution and projects it back with
// another 1x1 (then adds the block's input when shapes agree). Run
// operator by operator, the expanded activation is written whole and read
// back; at the first blocks of V2 1.0@128 it is 384 KiB per image. Here
// the expansion computes input rows one at a time straight into a ring of
// zero-point-padded rows that the depthwise kernel reads (no padded copy,
// no separate PAD), a band of its output rows is projected (and the
// residual added) at once, and only the ring and one band are ever held.
// The band is written as the unsigned bytes x+128 the projection's GEMM
// reads, so it needs no conversion pass. Each piece is the same kernel on
// the same integers as the separate operators, so the outputs are
// identical.

// The same band loop without the expansion runs a depthwise -> project
// pair (MobileNet V2's first block, which does not expand, and V1's layers
// a block leaves over): the ring then holds zero-point-padded copies of
// the input rows, and the depthwise output still goes straight from a
// band in cache into the projection's GEMM instead of through memory.

// qblockKernel runs [expand ->] depthwise -> project (-> ADD) by bands.
type qblockKernel struct {
	ex       *qconvKernel // nil for a depthwise -> project pair
	dw, pr   *qconvKernel
	add      *qbinaryKernel   // nil without the residual ADD
	addFirst bool             // the projection is the ADD's first operand
	band     int              // depthwise output rows per band
	ring     int              // padded expanded rows held
	t4       bool             // the ring holds rows in T4 form (rowsT4)
	exT4     *kernels.Requant // ex's rescale as x+128 when its GEMM can write T4 rows (nil: it cannot)
	scratch  scratchList
}

// blockBudget is what the ring and a band's depthwise output may take, in
// bytes: a part of the L2 cache. With bands sized for L1 (16 and 40 KiB)
// V2's first blocks ran 1-6% faster than the separate operators, with 256
// KiB 3-9% (BenchmarkQBlock): larger bands give the projection larger
// GEMMs. With the ring in T4 form (larger rows, and written once more) 96
// KiB ran the V2 int8 model at batch 1 2-3.5% faster than 256 KiB, 64
// and 40 KiB 1.5%, 128 KiB 1-3% (alternating, load 5-6; 256 against
// itself 0.99-1.01); at batch 8 on two threads 96 and 256 KiB ran alike
// (0.99-1.01). On the AVX2 path (no T4 rows; 512 KiB of L2 per core) see
// blockBudgetAVX2.
var blockBudget = blockBudgetFor(kernels.Path())

// blockBudgetAVX2 is blockBudget on the AVX2 path. One block alone ran as
// fast with 16 to 96 KiB (BenchmarkQBlock's shapes, 0.96-1.01), but the
// V2 int8 model at batch 1 on one thread ran faster with 32 KiB than with
// 96 (thread CPU, alternating, 150 runs a round, load 5-10: per-round
// medians of 1.012-1.045 over 12 rounds, about 1.03), 16, 24 and 48 KiB
// about alike (0.999-1.029): the smaller ring and band leave more of L2
// to the weights of the layers around the block; BenchmarkQuantBlock-
// BudgetModel, 4x200 runs, load 7-8: medians 1.013-1.028. At batch 8 on
// one thread alike (0.993-1.012), on two (wall clock, load 9) 0.97-1.037,
// median 1.025.
const blockBudgetAVX2 = 32 << 10

// blockBudgetFor is blockBudget for the kernel path (kernels.Path).
func blockBudgetFor(path string) int {
	if path == "avx2" {
		return blockBudgetAVX2
	}
	return 96 << 10
}

// minBlockWidth is the narrowest image banded: the expansion runs one row
// of pixels per GEMM, which at 4 pixels is 10% slower than the separate
// operators, at 8 about 1% faster and at 16 to 64 2-6% faster
// (BenchmarkQBlock). On the AVX2 path the 8x8 blocks ran 1-2.5% slower
// fused than apart (one block alone), and the V2 int8 model at batch 1
// with 16 rather than 8 1.008-1.037 faster with a 96 KiB budget, but with
// blockBudgetAVX2 0-1% (five rounds, load 7-9), and with the depthwise
// kernels' blends and stride-2 column kernel 0.986-1.008 (median 0.989,
// five rounds, load 13-16): kept at 8.
var minBlockWidth = 8

// maxBlockWeights bounds the bytes of the two 1x1 convolutions' packed
// weights in a banded block: the band's GEMMs read all of them once per
// row or band where the separate operators read them once per batch. V1's
// 16x16x256 layers (128 KiB) ran as fast fused as not, its 8x8x512 ones
// (512 KiB) 2.5% slower. At 128 KiB rather than 96, V2's 8x8x96 blocks
// (110 KiB) fuse too: its int8/float CPU-time ratio at batch 1 went from
// a median of 1.95 to 1.99 over six alternating runs, batch 8 on two
// threads unchanged (BenchmarkQuantVsFloat).
const maxBlockWeights = 128 << 10

// newQBlock returns the fused block of ex, dw, pr (and add), or nil when
// the pieces are not of the forms the band loop runs.
// ex may be nil: the pair dw -> pr.
func newQBlock(ex, dw, pr *qconvKernel, add *qbinaryKernel, addFirst bool) *qblockKernel {
	if ex != nil && (ex.depthwise || !ex.direct()) || pr.depthwise || !pr.direct() || !dw.depthwise || dw.dw == nil ||
		dw.kh != 3 || dw.kw != 3 || !dw.dw.HasInt8Pixels3x3() || dw.inZP < -128 || dw.inZP > 127 {
		return nil
	}
	if ex != nil && (ex.cout != dw.cin || ex.oh != dw.h || ex.ow != dw.w) || pr.cin != dw.cout || pr.h != dw.oh || pr.w != dw.ow {
		return nil
	}
	weights := len(pr.packed.Data)
	if ex != nil {
		weights += len(ex.packed.Data)
	}
	if dw.w < minBlockWidth || weights > maxBlockWeights {
		return nil
	}
	if add != nil && (add.mul || add.c2 != nil || add.n != pr.oh*pr.ow*pr.cout) {
		return nil
	}
	k := &qblockKernel{ex: ex, dw: dw, pr: pr, add: add, addFirst: addFirst}
	rowP := ((dw.ow-1)*dw.sw + 3) * dw.cin
	k.band = 1
	for b := 2; b <= dw.oh; b++ {
		if ((b-1)*dw.sh+3)*rowP+b*dw.ow*dw.cin > blockBudget {
			break
		}
		k.band = b
	}
	k.ring = (k.band-1)*dw.sh + 3
	k.t4 = quantT4 && dw.dw.HasT4() && (dw.sw == 1 || dw.sw == 2)
	// The T4 expansion only where its 8-pixel tiles from padded pixel 0
	// are no more than the row's own (left padding of 0, as at V2's
	// stride-2 blocks, which ran 6-9% faster per block at batch 1): with
	// one column of padding a row of 8k pixels takes a tile more, and
	// V2's stride-1 blocks ran slower than on int8 rows and T4Row (32x32:
	// 5%, 16x16: 15%, 8x8: 35-40%).
	cols := min(dw.w, (dw.ow-1)*dw.sw+3-dw.padL)
	if k.t4 && ex != nil && (dw.padL+cols+7)/8 == (cols+7)/8 {
		if ru := kernels.UnsignedRequant(ex.grq); kernels.HasGemmT4(ex.packed, ru) {
			k.exT4 = ru
		}
	}
	return k
}

// macs returns the multiply-adds of one image: those of each operator
// the block runs, as each counts them standing alone (its outputs times
// costPerOutput), so a fused block's node time carries the MACs of its
// expansion, depthwise, projection and ADD rather than of its output only.
func (k *qblockKernel) macs() int64 {
	n := k.dw.outputs()*int64(costPerOutput(k.dw)) + k.pr.outputs()*int64(costPerOutput(k.pr))
	if k.ex != nil {
		n += k.ex.outputs() * int64(costPerOutput(k.ex))
	}
	if k.add != nil {
		n += int64(k.add.n) * int64(costPerOutput(k.add))
	}
	return n
}

// outputs is the count of k's output values for one image.
func (k *qconvKernel) outputs() int64 { return int64(k.oh) * int64(k.ow) * int64(k.cout) }

// t4Gemm makes a fused block's expansion write its rows in T4 form
// itself (kernels.GemmU8I8RequantT4) where it can, instead of writing
// int8 rows that T4Row then converts: a switch for tests and A/B
// benchmarks, read while a model runs.
var t4Gemm = true

// quantT4 makes the int8 3x3 depthwise layers run on rows in T4 form
// (kernels.DWI8.T4Pixels3x3) where the kernel exists: a switch for tests
// and A/B benchmarks, read when a fused block is planned and when a
// standalone layer's padded path runs.
var quantT4 = true

// t4BlocksOuter runs the T4 depthwise rows of a band (or a standalone
// layer's rows) in one T4Rows3x3 call, the channel groups outer, where
// they lie in order: a switch for tests and A/B benchmarks.
var t4BlocksOuter = true

func (k *qblockKernel) run(e *env, ins [][]float32, out []float32) {
	inN := k.dw.h * k.dw.w * k.dw.cin
	if k.ex != nil {
		inN = k.ex.h * k.ex.w * k.ex.cin
	}
	outN := k.pr.oh * k.pr.ow * k.pr.cout
	src, dst := int8s(ins[0]), int8s(out)
	var res []int8
	if k.add != nil {
		res = int8s(ins[1])
	}
	for img := 0; img < e.batch; img++ {
		x, o := src[img*inN:(img+1)*inN], dst[img*outN:(img+1)*outN]
		var r []int8
		if res != nil {
			r = res[img*outN : (img+1)*outN]
		}
		rows := k.rows
		if k.t4 {
			rows = k.rowsT4
		}
		if e.threads <= 1 {
			rows(x, r, o, 0, k.dw.oh)
			continue
		}
		e.parallelFor(k.dw.oh, 1, func(lo, hi int) { rows(x, r, o, lo, hi) })
	}
}

// project runs the block's 1x1 projection on the depthwise output d of
// pixels [p0, p1) into o, adding the residual res when the block has one.
func (k *qblockKernel) project(s *qscratch, d []uint8, res, o []int8, p0, p1 int) {
	pr, n := k.pr, p1-p0
	dst := o[p0*pr.cout : p1*pr.cout]
	if k.add == nil {
		pr.gemmDirectU(s, d[:n*k.dw.cin], dst, n)
		return
	}
	q := s.q[:n*pr.cout]
	pr.gemmDirectU(s, d[:n*k.dw.cin], q, n)
	r := res[p0*pr.cout : p1*pr.cout]
	if k.addFirst {
		k.add.binary(dst, q, r)
	} else {
		k.add.binary(dst, r, q)
	}
}

// rows computes the block's output rows [lo, hi) of one image.
func (k *qblockKernel) rows(x, res, o []int8, lo, hi int) {
	ex, dw, pr := k.ex, k.dw, k.pr
	s := k.scratch.Get()
	defer k.scratch.Put(s)
	c, ow := dw.cin, dw.ow
	wp := (ow-1)*dw.sw + 3
	rowP := wp * c
	cols := min(dw.w, wp-dw.padL) // input columns the windows read
	s.p = grow(s.p, k.ring*rowP)
	// The depthwise output band is written as unsigned bytes x+128, which
	// the projection's GEMM reads as they are.
	s.du = grow(s.du, k.band*ow*c)
	if k.add != nil {
		s.q = grow(s.q, k.band*ow*pr.cout)
	}
	ring, d := s.p, s.du
	zp := int8(dw.inZP)
	next := lo*dw.sh - dw.padT // the next expanded row to compute
	for oy0 := lo; oy0 < hi; oy0 += k.band {
		oy1 := min(oy0+k.band, hi)
		// The expanded rows the band reads, each in ring slot (row +
		// padT) mod ring; rows before next are there from the last band.
		for iy := max(next, oy0*dw.sh-dw.padT); iy < (oy1-1)*dw.sh-dw.padT+3; iy++ {
			slot := (iy + dw.padT) % k.ring
			row := ring[slot*rowP : (slot+1)*rowP]
			if iy < 0 || iy >= dw.h {
				fillI8(row, zp)
				continue
			}
			fillI8(row[:dw.padL*c], zp)
			if ex == nil {
				copy(row[dw.padL*c:(dw.padL+cols)*c], x[iy*dw.w*c:][:cols*c])
			} else {
				ex.gemmDirect(s, x[iy*ex.w*ex.cin:(iy*ex.w+cols)*ex.cin], row[dw.padL*c:(dw.padL+cols)*c], cols)
			}
			fillI8(row[(dw.padL+cols)*c:], zp)
			next = iy + 1
		}
		// Where the band's window rows lie in the ring without wrapping,
		// one call computes them all, channel block by block.
		first := (oy0 * dw.sh) % k.ring
		if dwBlocksOuter && first+(oy1-1-oy0)*dw.sh+2 < k.ring {
			r := first * rowP
			if !dw.dw.Int8Rows3x3U(d, ow*c, c, ring, [3]int{r, r + rowP, r + 2*rowP}, dw.sh*rowP, dw.sw*c, ow, oy1-oy0) {
				panic("graph: int8 3x3 depthwise kernel unavailable in a fused block")
			}
		} else {
			k.depthwiseBand(d, ring, rowP, oy0, oy1)
		}
		k.project(s, d, res, o, oy0*ow, oy1*ow)
	}
}

// rowsT4 is rows with the ring in T4 form: each expanded (or copied) input
// row is written zero-point padded into one int8 row and put in T4 form
// in its ring slot by T4Row, once for the three output rows that read it;
// the depthwise runs on the T4 kernel, whose output bytes are the 64-
// channel kernel's. Where the expansion can (exT4, t4Gemm), its GEMM
// writes the row's pixels into the slot in T4 form itself: the slots'
// padding groups are filled with the zero point once, and the GEMM's
// tiles (from padded pixel 0, in steps of 8 pixels, so a slot may hold a
// group or two more) store only the row's pixels.
func (k *qblockKernel) rowsT4(x, res, o []int8, lo, hi int) {
	ex, dw, pr := k.ex, k.dw, k.pr
	s := k.scratch.Get()
	defer k.scratch.Put(s)
	c, ow := dw.cin, dw.ow
	gb := 4 * c                               // bytes of a group of four pixels
	rowT := kernels.T4Groups(ow, dw.sw) * gb  // bytes of a padded row, plain or in T4 form
	cols := min(dw.w, (ow-1)*dw.sw+3-dw.padL) // input columns the windows read
	direct := ex != nil && k.exT4 != nil && t4Gemm
	tiles := (dw.padL + cols + 7) / 8 // the T4 GEMM's 8-pixel tiles of a row
	if direct {
		rowT = max(rowT, 2*tiles*gb)
		s.a = grow(s.a, 8*tiles*ex.cin)
	}
	s.p = grow(s.p, rowT)
	s.t = grow(s.t, k.ring*rowT)
	s.du = grow(s.du, k.band*ow*c)
	if k.add != nil {
		s.q = grow(s.q, k.band*ow*pr.cout)
	}
	row, ring, d := s.p[:rowT], s.t, s.du
	zp := int8(dw.inZP)
	// The padding columns of row are the same for every row.
	fillI8(row[:dw.padL*c], zp)
	fillI8(row[(dw.padL+cols)*c:], zp)
	// Without the expansion, the groups [qa, qb) lie inside the input row
	// and are put in T4 form straight from it; only the others go through
	// row.
	qa, qb := (dw.padL+3)/4, (dw.padL+cols)/4
	if direct {
		// The groups with padding in them, in every slot; the GEMM
		// stores around the padding's bytes.
		for slot := 0; slot < k.ring; slot++ {
			fillT4(ring[slot*rowT:][:qa*gb], zp)
			fillT4(ring[slot*rowT+qb*gb:(slot+1)*rowT], zp)
		}
	}
	next := lo*dw.sh - dw.padT // the next expanded row to compute
	for oy0 := lo; oy0 < hi; oy0 += k.band {
		oy1 := min(oy0+k.band, hi)
		for iy := max(next, oy0*dw.sh-dw.padT); iy < (oy1-1)*dw.sh-dw.padT+3; iy++ {
			slot := (iy + dw.padT) % k.ring
			dst := ring[slot*rowT : (slot+1)*rowT]
			switch {
			case iy < 0 || iy >= dw.h:
				fillT4(dst, zp)
				continue
			case direct:
				kernels.XorI8(s.a[dw.padL*ex.cin:(dw.padL+cols)*ex.cin], x[iy*ex.w*ex.cin:(iy*ex.w+cols)*ex.cin])
				if !kernels.GemmU8I8RequantT4(s.a[:8*tiles*ex.cin], ex.cin, ex.packed, k.exT4, dw.padL, cols, dst) {
					panic("graph: int8 T4 expansion kernel unavailable in a fused block")
				}
			case ex != nil:
				ex.gemmDirect(s, x[iy*ex.w*ex.cin:(iy*ex.w+cols)*ex.cin], row[dw.padL*c:(dw.padL+cols)*c], cols)
				dw.dw.T4Row(dst, row)
			case qb > qa:
				src := x[iy*dw.w*c:][:cols*c]
				dw.dw.T4Row(dst[qa*gb:qb*gb], src[(4*qa-dw.padL)*c:])
				copy(row[dw.padL*c:4*qa*c], src)
				copy(row[4*qb*c:(dw.padL+cols)*c], src[(4*qb-dw.padL)*c:])
				dw.dw.T4Row(dst[:qa*gb], row[:qa*gb])
				dw.dw.T4Row(dst[qb*gb:], row[qb*gb:])
			default:
				copy(row[dw.padL*c:(dw.padL+cols)*c], x[iy*dw.w*c:][:cols*c])
				dw.dw.T4Row(dst, row)
			}
			next = iy + 1
		}
		// Where the band's window rows lie in the ring without wrapping,
		// one call computes them all, channel group by group.
		if first := (oy0 * dw.sh) % k.ring; t4BlocksOuter && first+(oy1-1-oy0)*dw.sh+2 < k.ring {
			r := first * rowT
			if !dw.dw.T4Rows3x3U(d, ow*c, c, ring, [3]int{r, r + rowT, r + 2*rowT}, dw.sh*rowT, dw.sw, ow, oy1-oy0) {
				panic("graph: int8 T4 depthwise kernel unavailable in a fused block")
			}
		} else {
			for oy := oy0; oy < oy1; oy++ {
				var rows [3]int
				for ky := range rows {
					rows[ky] = ((oy*dw.sh + ky) % k.ring) * rowT
				}
				if !dw.dw.T4Pixels3x3U(d[(oy-oy0)*ow*c:], c, ring, rows, dw.sw, ow) {
					panic("graph: int8 T4 depthwise kernel unavailable in a fused block")
				}
			}
		}
		k.project(s, d, res, o, oy0*ow, oy1*ow)
	}
}

// depthwiseBand computes depthwise output rows [oy0, oy1) of a band into
// d (as x+128) from the ring, one kernel call per row.
func (k *qblockKernel) depthwiseBand(d []uint8, ring []int8, rowP, oy0, oy1 int) {
	dw := k.dw
	c, ow := dw.cin, dw.ow
	for oy := oy0; oy < oy1; oy++ {
		var rows [3]int
		for ky := range rows {
			rows[ky] = ((oy*dw.sh + ky) % k.ring) * rowP
		}
		if !dw.dw.Int8Pixels3x3U(d[(oy-oy0)*ow*c:], c, ring, rows, dw.sw*c, ow) {
			panic("graph: int8 3x3 depthwise kernel unavailable in a fused block")
		}
	}
}

// gemmDirect computes the m output pixels of a direct 1x1 convolution
// whose input pixels are in, into out, with s's scratch.
func (k *qconvKernel) gemmDirect(s *qscratch, in, out []int8, m int) {
	pk := k.packed
	s.a = grow(s.a, gemmChunk*pk.Kp)
	s.c = grow(s.c, kernels.RequantScratch(gemmChunk, pk))
	for p0 := 0; p0 < m; p0 += gemmChunk {
		n := min(gemmChunk, m-p0)
		kernels.XorI8(s.a[:n*k.cin], in[p0*k.cin:(p0+n)*k.cin])
		kernels.GemmU8I8Requant(n, s.a, pk.Kp, pk, k.grq, out[p0*k.cout:(p0+n)*k.cout], k.cout, s.c)
	}
}

// gemmDirectU is gemmDirect on input pixels already unsigned (x+128).
func (k *qconvKernel) gemmDirectU(s *qscratch, in []uint8, out []int8, m int) {
	pk := k.packed
	s.c = grow(s.c, kernels.RequantScratch(gemmChunk, pk))
	for p0 := 0; p0 < m; p0 += gemmChunk {
		n := min(gemmChunk, m-p0)
		kernels.GemmU8I8Requant(n, in[p0*k.cin:(p0+n)*k.cin], pk.Kp, pk, k.grq, out[p0*k.cout:(p0+n)*k.cout], k.cout, s.c)
	}
}

// fuseQuantBlocks replaces each run of planned nodes expand (1x1) ->
// depthwise 3x3 -> project (1x1), optionally followed by the ADD of the
// projection and an activation computed before the block, with one
// qblockKernel, when each intermediate is read only by the next node and
// newQBlock takes the pieces. It runs before slots are assigned.
func (m *Model) fuseQuantBlocks() {
	if !quantBlocks {
		return
	}
	uses := make([]int, len(m.tensors))
	for _, nd := range m.nodes {
		for _, ti := range nd.ins {
			if ti >= 0 {
				uses[ti]++
			}
		}
	}
	producer := make([]int, len(m.tensors))
	for i := range producer {
		producer[i] = -1
	}
	for i, nd := range m.nodes {
		producer[nd.out] = i
	}
	only := func(t, reader int) bool {
		return uses[t] == 1 && t != m.output && len(m.nodes[reader].ins) > 0 && m.nodes[reader].ins[0] == t
	}
	var out []planned
	for i := 0; i < len(m.nodes); i++ {
		if i+2 >= len(m.nodes) {
			out = append(out, m.nodes[i])
			continue
		}
		a, b, c := m.nodes[i], m.nodes[i+1], m.nodes[i+2]
		ex, ok1 := a.k.(*qconvKernel)
		dw, ok2 := b.k.(*qconvKernel)
		pr, ok3 := c.k.(*qconvKernel)
		if !ok1 || !ok2 || !ok3 || !only(a.out, i+1) || !only(b.out, i+2) || len(a.ins) == 0 || a.ins[0] < 0 {
			out = append(out, m.nodes[i])
			continue
		}
		fused := planned{name: a.name + " .. " + c.name, ins: []int{a.ins[0]}, out: c.out}
		var add *qbinaryKernel
		addFirst := false
		if i+3 < len(m.nodes) && uses[c.out] == 1 && c.out != m.output {
			nd := m.nodes[i+3]
			if ak, ok := nd.k.(*qbinaryKernel); ok && len(nd.ins) == 2 && nd.ins[0] != nd.ins[1] {
				for side := 0; side < 2; side++ {
					other := nd.ins[1-side]
					if nd.ins[side] == c.out && other >= 0 && (other == m.input || producer[other] >= 0 && producer[other] < i) {
						add, addFirst = ak, side == 0
						fused.ins = append(fused.ins, other)
						fused.out = nd.out
						fused.name += " + " + nd.name
					}
				}
			}
		}
		blk := newQBlock(ex, dw, pr, add, addFirst)
		if blk == nil && add != nil {
			// Without the ADD, the block alone may still fuse.
			add = nil
			fused.ins, fused.out, fused.name = fused.ins[:1], c.out, a.name+" .. "+c.name
			blk = newQBlock(ex, dw, pr, nil, false)
		}
		if blk == nil {
			out = append(out, m.nodes[i])
			continue
		}
		fused.k = blk
		out = append(out, fused)
		i += 2
		if add != nil {
			i++
		}
	}
	m.nodes = out
	if quantPairs {
		m.fuseQuantPairs()
	}
}

// quantBlocks makes fuseQuantBlocks band blocks and pairs at all (a
// switch for tests and A/B benchmarks).
var quantBlocks = true

// quantPairs makes fuseQuantBlocks also band the depthwise -> project
// pairs no block took (a switch for tests and A/B benchmarks).
var quantPairs = true

// fuseQuantPairs replaces each planned int8 depthwise 3x3 node whose
// output only the next node, a direct 1x1 convolution, reads with one
// qblockKernel without expansion, when newQBlock takes the pair. It runs
// after the blocks are fused, so a pair never splits a block.
func (m *Model) fuseQuantPairs() {
	uses := make([]int, len(m.tensors))
	for _, nd := range m.nodes {
		for _, ti := range nd.ins {
			if ti >= 0 {
				uses[ti]++
			}
		}
	}
	var out []planned
	for i := 0; i < len(m.nodes); i++ {
		a := m.nodes[i]
		if i+1 < len(m.nodes) {
			b := m.nodes[i+1]
			dw, ok1 := a.k.(*qconvKernel)
			pr, ok2 := b.k.(*qconvKernel)
			if ok1 && ok2 && len(a.ins) > 0 && a.ins[0] >= 0 && uses[a.out] == 1 && a.out != m.output &&
				len(b.ins) > 0 && b.ins[0] == a.out {
				if blk := newQBlock(nil, dw, pr, nil, false); blk != nil {
					out = append(out, planned{name: a.name + " .. " + b.name, ins: []int{a.ins[0]}, out: b.out, k: blk})
					i++
					continue
				}
			}
		}
		out = append(out, a)
	}
	m.nodes = out
}
