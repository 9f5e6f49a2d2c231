package graph

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync"
	"unsafe"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// quantWeights checks an int8 constant filter and returns its values minus
// their zero point, and its scale per output channel (axis holds the
// channels; per-tensor parameters are spread over all channels).
func quantWeights(t *Tensor, what string, axis, channels int) ([]int32, []float64, error) {
	if t == nil || !t.Const || t.DType != Int8 || t.Quant == nil || len(t.Int8) != t.Size() {
		return nil, nil, fmt.Errorf("%s must be an INT8 or UINT8 constant with quantization parameters", what)
	}
	q := t.Quant
	nz := len(q.ZeroPoint)
	if len(q.Scale) != nz || (nz != 1 && (nz != channels || q.Axis != axis)) {
		return nil, nil, fmt.Errorf("%s: %d scales and %d zero points on axis %d, want 1 or %d on axis %d", what, len(q.Scale), nz, q.Axis, channels, axis)
	}
	scales := make([]float64, channels)
	zps := make([]int32, channels)
	for c := range scales {
		j := 0
		if nz > 1 {
			j = c
		}
		scales[c], zps[c] = float64(q.Scale[j]), q.ZeroPoint[j]
		if !(scales[c] > 0) || math.IsInf(scales[c], 0) {
			return nil, nil, fmt.Errorf("%s: invalid scale %g", what, scales[c])
		}
		if nz > 1 && zps[c] != 0 {
			return nil, nil, fmt.Errorf("%s: per-channel zero point %d, want 0", what, zps[c])
		}
	}
	// Strides of the channel axis in t's row-major data.
	inner := NumElements(t.Shape[axis+1:])
	w := make([]int32, len(t.Int8))
	for i, v := range t.Int8 {
		w[i] = int32(v) - zps[(i/inner)%channels]
	}
	return w, scales, nil
}

// quantBias checks an INT32 bias of n values (absent: zeros).
func quantBias(g *Graph, n *Node, i, count int) ([]int32, error) {
	b := make([]int32, count)
	if len(n.Inputs) <= i || n.Inputs[i] < 0 {
		return b, nil
	}
	t := g.Tensors[n.Inputs[i]]
	if !t.Const || t.DType != Int32 || len(t.Ints) != count {
		return nil, fmt.Errorf("bias %q must be an INT32 constant of %d values, got %s", t.Name, count, describe(t))
	}
	for j, v := range t.Ints {
		b[j] = int32(v)
	}
	return b, nil
}

// requant holds one output channel's fixed-point rescale.
type requant struct {
	mult  int32
	shift int
	// The single-rounding form: (acc*m + rnd) >> tot.
	m, rnd int64
	tot    uint
}

func (r *requant) single(acc int32) int32 { return int32((int64(acc)*r.m + r.rnd) >> r.tot) }

func requants(inScale float64, w []float64, out qparam) []requant {
	r := make([]requant, len(w))
	for c, s := range w {
		r[c].mult, r[c].shift = QuantizeMultiplier(inScale * s / out.scale)
		r[c].m, r[c].tot = int64(r[c].mult), uint(31-r[c].shift)
		r[c].rnd = int64(1) << (r[c].tot - 1)
	}
	return r
}

// qconvKernel is a quantized CONV_2D or DEPTHWISE_CONV_2D.
type qconvKernel struct {
	depthwise          bool
	h, w, cin          int
	oh, ow, cout, mult int
	kh, kw, sh, sw     int
	padT, padL         int
	wt                 []int32 // conv [cout][kh][kw][cin]; depthwise [kh][kw][cout]
	bias               []int32
	rq                 []requant
	inZP, outZP        int32
	lo, hi             int32
	// singleRound rounds a depthwise rescale once, as ONNX Runtime does
	// (Node.ORTRounding), instead of twice as TFLite's interpreter does.
	singleRound bool

	// The int8 GEMM path (convolution weights that fit in int8): packed
	// weights and the bias with the activation shift folded in, rescaled by
	// grq (single rounding).
	packed *kernels.PackedI8
	gbias  []int32
	grq    *kernels.Requant
	// seg holds the weights again with each window row's kw*cin taps
	// padded to segK bytes, for a convolution whose window rows are that
	// narrow (a stem's): the GEMM then reads them in place from a padded
	// copy of the input rows (convRowsSeg) instead of gathering windows.
	seg  *kernels.PackedI8
	segK int

	// The depthwise path with depth multiplier 1 (double rounding).
	dw *kernels.DWI8
	// padded runs dw on a padded copy of the input (quantdw.go).
	padded bool

	scratch scratchList
}

// scratchList keeps a kernel's idle scratch memory between runs (a
// sync.Pool would drop it at every GC), so a run allocates nothing once
// warm; one entry per goroutine that ran the kernel at once.
type scratchList struct {
	mu   sync.Mutex
	free []*qscratch
}

func (l *scratchList) Get() *qscratch {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.free); n > 0 {
		s := l.free[n-1]
		l.free = l.free[:n-1]
		return s
	}
	return &qscratch{}
}

func (l *scratchList) Put(s *qscratch) {
	l.mu.Lock()
	l.free = append(l.free, s)
	l.mu.Unlock()
}

// qscratch is one goroutine's working memory for a quantized kernel, kept
// between runs so a run allocates nothing once warm.
type qscratch struct {
	xs   []int32
	held []int
	a, u []uint8
	p    []int8  // a padded input band (quantdw.go) or expanded ring (quantblock.go)
	q    []int8  // a fused block's projection output band
	du   []uint8 // a fused block's depthwise output band, as x+128
	t    []uint8 // a fused block's ring of rows in T4 form (quantblock.go)
	c    []int32
	taps []int
}

func (k *qconvKernel) getScratch() *qscratch { return k.scratch.Get() }

// grow returns s with length n, reallocating only when too short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// gemmChunk is how many output pixels one int8 GEMM call covers.
const gemmChunk = 64

func planQConv(g *Graph, n *Node, ip, op qparam) (kernel, []int, error) {
	if len(n.Inputs) < 2 || len(n.Inputs) > 3 || n.Inputs[1] < 0 {
		return nil, nil, fmt.Errorf("%d inputs, want 2 or 3", len(n.Inputs))
	}
	h, w, cin, err := image4(g.Tensors[n.Inputs[0]])
	if err != nil {
		return nil, nil, err
	}
	ft := g.Tensors[n.Inputs[1]]
	if len(ft.Shape) != 4 {
		return nil, nil, fmt.Errorf("filter has shape %v, want rank 4", ft.Shape)
	}
	k := &qconvKernel{depthwise: n.Op == OpDepthwiseConv2D, h: h, w: w, cin: cin, kh: ft.Shape[1], kw: ft.Shape[2],
		sh: n.StrideH, sw: n.StrideW, inZP: ip.zp, outZP: op.zp}
	var scales []float64
	if k.depthwise {
		if ft.Shape[0] != 1 {
			return nil, nil, fmt.Errorf("filter has shape %v, want [1 KH KW C]", ft.Shape)
		}
		k.cout = ft.Shape[3]
		if k.cout%cin != 0 {
			return nil, nil, fmt.Errorf("filter has %d channels, not a multiple of the input's %d", k.cout, cin)
		}
		k.mult = k.cout / cin
		if n.Multiplier != 0 && n.Multiplier != k.mult {
			return nil, nil, fmt.Errorf("depth multiplier %d does not match %d input and %d filter channels", n.Multiplier, cin, k.cout)
		}
		k.wt, scales, err = quantWeights(ft, "filter", 3, k.cout)
	} else {
		k.cout = ft.Shape[0]
		if ft.Shape[3] != cin {
			return nil, nil, fmt.Errorf("filter has shape %v, input has %d channels", ft.Shape, cin)
		}
		k.wt, scales, err = quantWeights(ft, "filter", 0, k.cout)
	}
	if err != nil {
		return nil, nil, err
	}
	if k.bias, err = quantBias(g, n, 2, k.cout); err != nil {
		return nil, nil, err
	}
	if k.oh, k.ow, k.padT, k.padL, err = window2D(n, h, w, k.kh, k.kw); err != nil {
		return nil, nil, err
	}
	k.rq = requants(ip.scale, scales, op)
	k.lo, k.hi = actRange(n, op)
	k.singleRound = n.ORTRounding
	if !k.depthwise {
		k.packGemm()
	} else if k.mult == 1 {
		k.planDW()
	}
	return k, []int{1, k.oh, k.ow, k.cout}, nil
}

// planDW prepares the vector depthwise kernels (depth multiplier 1).
func (k *qconvKernel) planDW() {
	mult, shift := rqArrays(k.rq)
	// TFLite's interpreter rounds the depthwise rescale twice; a node
	// from a quantized ONNX model rounds once, as ONNX Runtime does
	// (ortround.go), on the same vector kernels.
	rq := kernels.NewRequant(k.bias, mult, shift, !k.singleRound, k.outZP, k.lo, k.hi)
	// A weight outside int16 (impossible for int8 weights minus a zero
	// point) keeps the scalar path.
	if k.dw, _ = kernels.NewDWI8(k.kh, k.kw, k.cout, k.wt, rq); k.dw != nil {
		k.dw.FoldZP(k.inZP)
		k.padded = k.choosePadded()
	}
}

// packGemm prepares the int8 GEMM when every weight fits in int8: the
// activations go in as unsigned bytes x+128, so sum((x-zp)*w) is the GEMM
// minus (128+zp) times the filter's weight sum, folded into the bias.
func (k *qconvKernel) packGemm() {
	w8 := make([]int8, len(k.wt))
	for i, v := range k.wt {
		if v < -128 || v > 127 {
			return
		}
		w8[i] = int8(v)
	}
	k.packed = kernels.PackI8(w8, k.cout, k.kh*k.kw*k.cin)
	k.gbias = make([]int32, k.cout)
	for c := range k.gbias {
		k.gbias[c] = k.bias[c] - (128+k.inZP)*k.packed.Sum[c]
	}
	mult, shift := rqArrays(k.rq)
	k.grq = kernels.NewRequant(k.gbias, mult, shift, false, k.outZP, k.lo, k.hi)
	if row := k.kw * k.cin; !k.direct() && row <= segMaxK {
		k.segK = (row + 3) / 4 * 4
		ws := make([]int8, k.cout*k.kh*k.segK)
		for c := 0; c < k.cout; c++ {
			for ky := 0; ky < k.kh; ky++ {
				copy(ws[(c*k.kh+ky)*k.segK:][:row], w8[(c*k.kh+ky)*row:][:row])
			}
		}
		k.seg = kernels.PackI8(ws, k.cout, k.kh*k.segK)
	}
}

// segMaxK is the widest window row (kw*cin bytes) convRowsSeg reads in
// place; wider rows waste less in a gathered copy than the padding to 4
// bytes per row costs in place.
const segMaxK = 16

// convRowsSeg computes output rows [lo, hi) with GemmU8I8RequantSeg: the
// input rows they read are made unsigned into a copy padded with the zero
// point on every side, and each output row is one GEMM whose activation
// rows are the kh window rows read from that copy. It reports false,
// writing nothing, where that kernel does not run.
func (k *qconvKernel) convRowsSeg(in, o []int8, lo, hi int) bool {
	if hi <= lo {
		return true
	}
	s := k.getScratch()
	defer k.scratch.Put(s)
	padR := max(0, (k.ow-1)*k.sw+k.kw-k.padL-k.w)
	P := (k.padL + k.w + padR) * k.cin // padded row bytes
	nr := (hi-1-lo)*k.sh + k.kh
	// The last window row of a row's last pixel reads up to segK-kw*cin
	// bytes past the padded row; they meet zero weights.
	s.u = grow(s.u, nr*P+k.segK)
	u := s.u
	pad := uint8(k.inZP + 128)
	fillU8(u[nr*P:], pad)
	for r := 0; r < nr; r++ {
		row := u[r*P : (r+1)*P]
		iy := lo*k.sh + r - k.padT
		if iy < 0 || iy >= k.h {
			fillU8(row, pad)
			continue
		}
		fillU8(row[:k.padL*k.cin], pad)
		kernels.XorI8(row[k.padL*k.cin:(k.padL+k.w)*k.cin], in[iy*k.w*k.cin:(iy+1)*k.w*k.cin])
		fillU8(row[(k.padL+k.w)*k.cin:], pad)
	}
	for oy := lo; oy < hi; oy++ {
		a := u[(oy-lo)*k.sh*P:]
		if !kernels.GemmU8I8RequantSeg(k.ow, a, k.sw*k.cin, k.kh, P, k.seg, k.grq, o[oy*k.ow*k.cout:(oy+1)*k.ow*k.cout], k.cout) {
			return false // the first row: nothing written
		}
	}
	return true
}

// rqArrays splits per-channel rescales into multipliers and shifts.
func rqArrays(rq []requant) ([]int32, []int) {
	mult, shift := make([]int32, len(rq)), make([]int, len(rq))
	for c, r := range rq {
		mult[c], shift[c] = r.mult, r.shift
	}
	return mult, shift
}

// convRowsGemm computes output rows [lo, hi) with the int8 GEMM, gathering
// up to gemmChunk pixels' windows as unsigned bytes at a time (a 1x1
// convolution of stride 1 reads its input rows as they are).
func (k *qconvKernel) convRowsGemm(in, o []int8, lo, hi int) {
	if k.seg != nil && k.convRowsSeg(in, o, lo, hi) {
		return
	}
	k.convPixelsGemm(in, o, lo*k.ow, hi*k.ow)
}

// direct reports whether the GEMM reads the input as it is: a 1x1
// convolution of stride 1 whose channels fill the packed rows.
func (k *qconvKernel) direct() bool {
	return k.packed != nil && k.kh == 1 && k.kw == 1 && k.sh == 1 && k.sw == 1 && k.padT == 0 && k.padL == 0 && k.cin == k.packed.Kp
}

// convPixelsGemm computes output pixels [p0, p1); a direct convolution
// may span the images of a batch, which lie one after the other.
func (k *qconvKernel) convPixelsGemm(in, o []int8, lo, hi int) {
	pk := k.packed
	s := k.getScratch()
	defer k.scratch.Put(s)
	s.a = grow(s.a, gemmChunk*pk.Kp+narrowTail)
	s.c = grow(s.c, kernels.RequantScratch(gemmChunk, pk))
	a, c := s.a, s.c
	pad := uint8(k.inZP + 128)
	direct := k.direct()
	for p0 := lo; p0 < hi; p0 += gemmChunk {
		m := min(gemmChunk, hi-p0)
		if direct {
			kernels.XorI8(a[:m*k.cin], in[p0*k.cin:(p0+m)*k.cin])
		} else {
			k.gather(s, in, a, pad, p0, m)
		}
		kernels.GemmU8I8Requant(m, a, pk.Kp, pk, k.grq, o[p0*k.cout:(p0+m)*k.cout], k.cout, c)
	}
}

// gather writes the windows of output pixels [p0, p0+m) as GEMM rows of
// unsigned bytes, padding with the input's zero point. The input rows the
// chunk reads are first made unsigned in one pass (s.u holds them), and
// the taps of one window row inside the image are then one contiguous
// copy.
func (k *qconvKernel) gather(s *qscratch, in []int8, a []uint8, pad uint8, p0, m int) {
	kp := k.packed.Kp
	rowLen := k.kw * k.cin
	imgRow := k.w * k.cin
	oy0, oy1 := p0/k.ow, (p0+m-1)/k.ow
	y0 := max(oy0*k.sh-k.padT, 0)
	y1 := min(oy1*k.sh-k.padT+k.kh, k.h)
	if y1 <= y0 {
		y0, y1 = 0, 0
	}
	// narrowTail bytes of slack past u (and past a, see convPixelsGemm)
	// let narrow window rows be copied as two 8-byte words.
	s.u = grow(s.u, max((y1-y0)*imgRow, 1)+narrowTail)
	u := s.u[:(y1-y0)*imgRow]
	kernels.XorI8(u, in[y0*imgRow:y1*imgRow])
	narrow := rowLen <= narrowTail && len(a) >= m*kp+narrowTail
	for i := 0; i < m; i++ {
		oy, ox := (p0+i)/k.ow, (p0+i)%k.ow
		if narrow && k.copyNarrow(a[i*kp:], s.u, oy, ox, y0) {
			continue
		}
		row := a[i*kp : (i+1)*kp]
		ix0 := ox*k.sw - k.padL
		kx0, kx1 := max(0, -ix0), min(k.kw, k.w-ix0)
		for ky := 0; ky < k.kh; ky++ {
			iy := oy*k.sh + ky - k.padT
			dst := row[ky*rowLen : (ky+1)*rowLen]
			if iy < 0 || iy >= k.h || kx1 <= kx0 {
				fillU8(dst, pad)
				continue
			}
			if kx0 > 0 || kx1 < k.kw {
				fillU8(dst[:kx0*k.cin], pad)
				fillU8(dst[kx1*k.cin:], pad)
			}
			base := (iy-y0)*imgRow + (ix0+kx0)*k.cin
			copy(dst[kx0*k.cin:kx1*k.cin], u[base:base+(kx1-kx0)*k.cin])
		}
		clear(row[k.kh*rowLen:])
	}
}

// narrowTail is the widest window row (kw*cin bytes) copyNarrow handles,
// and the slack it needs past the gathered rows and the source.
const narrowTail = 16

// copyNarrow writes the window of output pixel (oy, ox) as GEMM row dst
// (kh rows of kw*cin <= narrowTail bytes, then zeros to Kp) from u, the
// unsigned input rows from y0 followed by narrowTail bytes of slack, when the window lies wholly inside the
// image; it reports false otherwise. Each window row is copied as two
// 8-byte words: the bytes written past it belong to the next window row,
// the row's zero tail or the next pixel's row, all written after it, or to
// the slack past the gathered rows; the bytes read past it lie in u's slack. A stem convolution (three
// input channels) spends most of its time here, so a copy call per window
// row would cost more than its GEMM.
func (k *qconvKernel) copyNarrow(dst, u []uint8, oy, ox, y0 int) bool {
	ix0, iy0 := ox*k.sw-k.padL, oy*k.sh-k.padT
	if ix0 < 0 || ix0+k.kw > k.w || iy0 < 0 || iy0+k.kh > k.h {
		return false
	}
	rowLen, imgRow := k.kw*k.cin, k.w*k.cin
	base := (iy0-y0)*imgRow + ix0*k.cin
	for ky := 0; ky < k.kh; ky++ {
		src := u[base+ky*imgRow:][:narrowTail]
		d := dst[ky*rowLen:][:narrowTail]
		binary.LittleEndian.PutUint64(d, binary.LittleEndian.Uint64(src))
		binary.LittleEndian.PutUint64(d[8:], binary.LittleEndian.Uint64(src[8:]))
	}
	clear(dst[k.kh*rowLen : k.packed.Kp])
	return true
}

func fillU8(d []uint8, v uint8) {
	for j := range d {
		d[j] = v
	}
}

// fillI8 sets every byte of d to v: the first 64 bytes eight at a time,
// then doubling the filled part with copy (the padding columns of a
// depthwise band are a few hundred bytes; doubling from one byte spent
// most of its time in the calls of the first copies, and a byte loop over
// the first 64 was half of fillI8's time in V2's profile).
func fillI8(d []int8, v int8) {
	n := min(len(d), 64)
	u := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(d))), n)
	w := uint64(uint8(v)) * 0x0101010101010101
	i := 0
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(u[i:], w)
	}
	for ; i < n; i++ {
		u[i] = uint8(v)
	}
	for ; n < len(d); n *= 2 {
		copy(d[n:], d[:n])
	}
}

func (k *qconvKernel) run(e *env, ins [][]float32, out []float32) {
	inN, outN := k.h*k.w*k.cin, k.oh*k.ow*k.cout
	src, dst := int8s(ins[0]), int8s(out)
	if k.direct() {
		// All the batch's pixels as one GEMM, so each panel of weights is
		// read once for all images.
		n := e.batch * k.oh * k.ow
		if e.threads <= 1 {
			k.convPixelsGemm(src[:e.batch*inN], dst[:e.batch*outN], 0, n)
			return
		}
		e.parallelFor(n, 16, func(lo, hi int) {
			k.convPixelsGemm(src[:e.batch*inN], dst[:e.batch*outN], lo, hi)
		})
		return
	}
	for img := 0; img < e.batch; img++ {
		in, o := src[img*inN:(img+1)*inN], dst[img*outN:(img+1)*outN]
		if e.threads <= 1 {
			k.rows(in, o, 0, k.oh)
			continue
		}
		e.parallelFor(k.oh, 1, func(lo, hi int) { k.rows(in, o, lo, hi) })
	}
}

// rows computes output rows [lo, hi) of one image.
func (k *qconvKernel) rows(in, o []int8, lo, hi int) {
	switch {
	case k.padded && k.dw != nil:
		k.depthwiseRowsPadded(in, o, lo, hi)
	case k.dw != nil:
		k.depthwiseRowsVec(in, o, lo, hi)
	case k.depthwise:
		k.depthwiseRows(in, o, lo, hi)
	case k.packed != nil:
		k.convRowsGemm(in, o, lo, hi)
	default:
		k.convRows(in, o, lo, hi)
	}
}

// finish rescales one accumulator. TFLite's interpreter rounds the
// convolution's (and FULLY_CONNECTED's and MUL's) rescale once and the
// depthwise convolution's twice (once for a node from ONNX,
// singleRound); the oracle tests pin each.
func (k *qconvKernel) finish(acc int32, c int) int8 {
	var r int32
	if k.depthwise && !k.singleRound {
		r = MultiplyByQuantizedMultiplier(acc, k.rq[c].mult, k.rq[c].shift) + k.outZP
	} else {
		r = k.rq[c].single(acc) + k.outZP
	}
	return int8(clamp32(r, k.lo, k.hi))
}

// convRows computes output rows [lo, hi): each output pixel gathers its
// window (input minus zero point, zeros where padded) and dots it with every
// filter.
func (k *qconvKernel) convRows(in, o []int8, lo, hi int) {
	K := k.kh * k.kw * k.cin
	patch := make([]int32, K)
	for oy := lo; oy < hi; oy++ {
		for ox := 0; ox < k.ow; ox++ {
			p := 0
			for ky := 0; ky < k.kh; ky++ {
				iy := oy*k.sh + ky - k.padT
				for kx := 0; kx < k.kw; kx++ {
					ix := ox*k.sw + kx - k.padL
					if iy < 0 || iy >= k.h || ix < 0 || ix >= k.w {
						clear(patch[p : p+k.cin])
					} else {
						row := in[(iy*k.w+ix)*k.cin:][:k.cin]
						for c, v := range row {
							patch[p+c] = int32(v) - k.inZP
						}
					}
					p += k.cin
				}
			}
			dst := o[(oy*k.ow+ox)*k.cout:][:k.cout]
			for c := range dst {
				dst[c] = k.finish(k.bias[c]+dot32(patch, k.wt[c*K:(c+1)*K]), c)
			}
		}
	}
}

func dot32(a, b []int32) int32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 int32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

// depthwiseRowsVec computes output rows [lo, hi) of a depthwise
// convolution with multiplier 1 through kernels.DWI8. Each output row is
// one run of interior pixels (every tap inside the image) and single
// border pixels with only their valid taps. A 3x3 interior run with a
// kernel that reads int8 takes the input as it is; the rest reads input
// rows widened to int32 minus the zero point, into a ring of KH rows as
// the output rows come to need them (only the border columns when the
// interior is read as int8).
func (k *qconvKernel) depthwiseRowsVec(in, o []int8, lo, hi int) {
	s := k.getScratch()
	defer k.scratch.Put(s)
	c := k.cin
	rowLen := k.w * c
	s.xs = grow(s.xs, k.kh*rowLen)
	s.held = grow(s.held, 2*k.kh)
	xs, held, full := s.xs[:k.kh*rowLen], s.held[:k.kh], s.held[k.kh:2*k.kh]
	for i := range held {
		held[i], full[i] = -1, 0
	}
	s.taps = grow(s.taps, 2*k.kh*k.kw)
	// Interior columns: ox*sw - padL >= 0 and ox*sw - padL + kw <= w.
	oxLo := min((k.padL+k.sw-1)/k.sw, k.ow)
	oxHi := oxLo
	if k.w-k.kw+k.padL >= 0 {
		oxHi = min(max((k.w-k.kw+k.padL)/k.sw+1, oxLo), k.ow)
	}
	fast := oxHi > oxLo && k.dw.HasInt8Pixels3x3()
	// With the fast interior, border pixels read input columns [0, wl)
	// and [wr, w) only.
	wl, wr := 0, k.w
	if oxLo > 0 {
		wl = min(k.w, (oxLo-1)*k.sw-k.padL+k.kw)
	}
	if oxHi < k.ow {
		wr = max(0, oxHi*k.sw-k.padL)
	}
	// need widens input row iy into its ring slot (whole, or the border
	// columns) unless it is there already.
	need := func(iy int, whole bool) int {
		slot := iy % k.kh
		if held[slot] == iy && (full[slot] == 1 || !whole) {
			return slot
		}
		dst, src := xs[slot*rowLen:(slot+1)*rowLen], in[iy*rowLen:(iy+1)*rowLen]
		if whole || !fast || wl >= wr {
			kernels.WidenI8(dst, src, k.inZP)
			full[slot] = 1
		} else {
			kernels.WidenI8(dst[:wl*c], src[:wl*c], k.inZP)
			kernels.WidenI8(dst[wr*c:], src[wr*c:], k.inZP)
			full[slot] = 0
		}
		held[slot] = iy
		return slot
	}
	pixels := func(oy, ox0, n int, whole bool) {
		taps := s.taps[:0]
		for ky := 0; ky < k.kh; ky++ {
			iy := oy*k.sh + ky - k.padT
			if iy < 0 || iy >= k.h {
				continue
			}
			slot := need(iy, whole)
			for kx := 0; kx < k.kw; kx++ {
				ix := ox0*k.sw + kx - k.padL
				if ix < 0 || ix >= k.w {
					continue
				}
				taps = append(taps, slot*rowLen+ix*c, ky*k.kw+kx)
			}
		}
		dst := o[(oy*k.ow+ox0)*c:]
		if len(taps) == 0 {
			// A window wholly in the padding: the bias alone.
			for p := 0; p < n; p++ {
				for ch := 0; ch < c; ch++ {
					dst[p*c+ch] = k.dw.RQ.One(k.bias[ch], ch)
				}
			}
			return
		}
		k.dw.Pixels(dst, c, xs, 0, k.sw*c, taps, n)
	}
	for oy := lo; oy < hi; oy++ {
		for ox := 0; ox < oxLo; ox++ {
			pixels(oy, ox, 1, !fast)
		}
		iy := oy*k.sh - k.padT
		inside := k.kh == 3 && k.kw == 3 && iy >= 0 && iy+3 <= k.h
		switch {
		case oxHi <= oxLo:
		case inside && fast:
			x0 := (oxLo*k.sw - k.padL) * c
			rows := [3]int{iy*rowLen + x0, (iy+1)*rowLen + x0, (iy+2)*rowLen + x0}
			if !k.dw.Int8Pixels3x3(o[(oy*k.ow+oxLo)*c:], c, in, rows, k.sw*c, oxHi-oxLo) {
				panic("graph: int8 3x3 depthwise kernel unavailable after HasInt8Pixels3x3")
			}
		case inside:
			// A full 3x3 window: the kernel that keeps weights in registers.
			var rows [3]int
			for ky := range rows {
				rows[ky] = need(iy+ky, true)*rowLen + (oxLo*k.sw-k.padL)*c
			}
			k.dw.Pixels3x3(o[(oy*k.ow+oxLo)*c:], c, xs, rows, k.sw*c, oxHi-oxLo)
		default:
			pixels(oy, oxLo, oxHi-oxLo, true)
		}
		for ox := oxHi; ox < k.ow; ox++ {
			pixels(oy, ox, 1, !fast)
		}
	}
}

func (k *qconvKernel) depthwiseRows(in, o []int8, lo, hi int) {
	acc := make([]int32, k.cout)
	// The input rows this band reads, minus the zero point, as int32.
	y0 := max(lo*k.sh-k.padT, 0)
	y1 := min((hi-1)*k.sh-k.padT+k.kh, k.h)
	if y1 <= y0 {
		y0, y1 = 0, 0
	}
	rowLen := k.w * k.cin
	xs := make([]int32, (y1-y0)*rowLen)
	for i, v := range in[y0*rowLen : y1*rowLen] {
		xs[i] = int32(v) - k.inZP
	}
	for oy := lo; oy < hi; oy++ {
		for ox := 0; ox < k.ow; ox++ {
			copy(acc, k.bias)
			for ky := 0; ky < k.kh; ky++ {
				iy := oy*k.sh + ky - k.padT
				if iy < 0 || iy >= k.h {
					continue
				}
				for kx := 0; kx < k.kw; kx++ {
					ix := ox*k.sw + kx - k.padL
					if ix < 0 || ix >= k.w {
						continue
					}
					row := xs[(iy-y0)*rowLen+ix*k.cin:][:k.cin]
					wr := k.wt[(ky*k.kw+kx)*k.cout:][:k.cout]
					if k.mult == 1 {
						a := acc[:len(row)]
						wr = wr[:len(row)]
						for c, x := range row {
							a[c] += x * wr[c]
						}
						continue
					}
					for c, x := range row {
						for m := 0; m < k.mult; m++ {
							acc[c*k.mult+m] += x * wr[c*k.mult+m]
						}
					}
				}
			}
			dst := o[(oy*k.ow+ox)*k.cout:][:k.cout]
			for c := range dst {
				dst[c] = k.finish(acc[c], c)
			}
		}
	}
}

// qfcKernel is a quantized FULLY_CONNECTED.
type qfcKernel struct {
	rows, n, k  int
	wt          []int32 // [n][k]
	bias        []int32
	rq          []requant
	inZP, outZP int32
	lo, hi      int32

	// The int8 GEMM path, as for convolutions.
	packed  *kernels.PackedI8
	grq     *kernels.Requant
	scratch scratchList
}

func planQFC(g *Graph, n *Node, ip, op qparam) (kernel, []int, error) {
	if len(n.Inputs) < 2 || len(n.Inputs) > 3 || n.Inputs[1] < 0 {
		return nil, nil, fmt.Errorf("%d inputs, want 2 or 3", len(n.Inputs))
	}
	in, wt := g.Tensors[n.Inputs[0]], g.Tensors[n.Inputs[1]]
	if len(wt.Shape) != 2 {
		return nil, nil, fmt.Errorf("weights have shape %v, want rank 2", wt.Shape)
	}
	nOut, kk := wt.Shape[0], wt.Shape[1]
	if len(in.Shape) == 0 || in.Size()%kk != 0 {
		return nil, nil, fmt.Errorf("input shape %v is not rows of %d", in.Shape, kk)
	}
	w, scales, err := quantWeights(wt, "weights", 0, nOut)
	if err != nil {
		return nil, nil, err
	}
	b, err := quantBias(g, n, 2, nOut)
	if err != nil {
		return nil, nil, err
	}
	rows := in.Size() / kk
	shape := []int{rows, nOut}
	if n.KeepDims {
		if in.Shape[len(in.Shape)-1] != kk {
			return nil, nil, fmt.Errorf("keep_num_dims with input shape %v and %d inputs per row", in.Shape, kk)
		}
		shape = append(slices.Clone(in.Shape[:len(in.Shape)-1]), nOut)
	}
	lo, hi := actRange(n, op)
	k := &qfcKernel{rows: rows, n: nOut, k: kk, wt: w, bias: b, rq: requants(ip.scale, scales, op), inZP: ip.zp, outZP: op.zp, lo: lo, hi: hi}
	k.packGemm()
	return k, shape, nil
}

// packGemm prepares the int8 GEMM when every weight fits in int8 (see
// qconvKernel.packGemm).
func (k *qfcKernel) packGemm() {
	w8 := make([]int8, len(k.wt))
	for i, v := range k.wt {
		if v < -128 || v > 127 {
			return
		}
		w8[i] = int8(v)
	}
	k.packed = kernels.PackI8(w8, k.n, k.k)
	gbias := make([]int32, k.n)
	for c := range gbias {
		gbias[c] = k.bias[c] - (128+k.inZP)*k.packed.Sum[c]
	}
	mult, shift := rqArrays(k.rq)
	k.grq = kernels.NewRequant(gbias, mult, shift, false, k.outZP, k.lo, k.hi)
}

func (k *qfcKernel) run(e *env, ins [][]float32, out []float32) {
	src, dst := int8s(ins[0]), int8s(out)
	if pk := k.packed; pk != nil {
		s := k.scratch.Get()
		defer k.scratch.Put(s)
		s.a = grow(s.a, gemmChunk*pk.Kp)
		s.c = grow(s.c, kernels.RequantScratch(gemmChunk, pk))
		rows := k.rows * e.batch
		for r0 := 0; r0 < rows; r0 += gemmChunk {
			m := min(gemmChunk, rows-r0)
			for i := 0; i < m; i++ {
				row := s.a[i*pk.Kp : (i+1)*pk.Kp]
				kernels.XorI8(row[:k.k], src[(r0+i)*k.k:(r0+i+1)*k.k])
				clear(row[k.k:])
			}
			kernels.GemmU8I8Requant(m, s.a, pk.Kp, pk, k.grq, dst[r0*k.n:(r0+m)*k.n], k.n, s.c)
		}
		return
	}
	x := make([]int32, k.k)
	for r := 0; r < k.rows*e.batch; r++ {
		for i, v := range src[r*k.k : (r+1)*k.k] {
			x[i] = int32(v) - k.inZP
		}
		o := dst[r*k.n : (r+1)*k.n]
		for c := range o {
			acc := k.bias[c] + dot32(x, k.wt[c*k.k:(c+1)*k.k])
			v := MultiplyByQuantizedMultiplierSingle(acc, k.rq[c].mult, k.rq[c].shift) + k.outZP
			o[c] = int8(clamp32(v, k.lo, k.hi))
		}
	}
}

// qpoolKernel is quantized AVERAGE_POOL_2D (rounded average of the window's
// valid pixels) or MAX_POOL_2D, on equal input and output parameters.
type qpoolKernel struct {
	p      poolKernel
	lo, hi int32
	// roundEven takes an average pool's mean from the input zero point zp
	// and rounds ties to even, as ONNX Runtime does (Node.ORTRounding);
	// otherwise the sum is rounded half away from zero, as TFLite does.
	roundEven bool
	zp        int32
	scratch   scratchList
}

func (k *qpoolKernel) run(e *env, ins [][]float32, out []float32) {
	p := &k.p
	inN, outN := p.h*p.w*p.c, p.oh*p.ow*p.c
	src, dst := int8s(ins[0]), int8s(out)
	s := k.scratch.Get()
	defer k.scratch.Put(s)
	s.c = grow(s.c, p.c)
	acc := s.c
	for img := 0; img < e.batch; img++ {
		in, o := src[img*inN:(img+1)*inN], dst[img*outN:(img+1)*outN]
		for oy := 0; oy < p.oh; oy++ {
			for ox := 0; ox < p.ow; ox++ {
				clear(acc)
				if p.max {
					for i := range acc {
						acc[i] = -128
					}
				}
				cnt := int32(0)
				for ky := 0; ky < p.kh; ky++ {
					iy := oy*p.sh + ky - p.padT
					if iy < 0 || iy >= p.h {
						continue
					}
					for kx := 0; kx < p.kw; kx++ {
						ix := ox*p.sw + kx - p.padL
						if ix < 0 || ix >= p.w {
							continue
						}
						cnt++
						row := in[(iy*p.w+ix)*p.c:][:p.c]
						if p.max {
							for c, v := range row {
								acc[c] = max(acc[c], int32(v))
							}
						} else {
							kernels.AccumI8(acc, row)
						}
					}
				}
				d := o[(oy*p.ow+ox)*p.c:][:p.c]
				if sh := poolShift(cnt); !p.max && sh >= 0 {
					// A window of a power-of-two count (V1's 4x4 global pool):
					// shifts instead of a division per channel.
					for c := range d {
						v := poolRoundAway(acc[c], cnt, sh)
						if k.roundEven {
							v = k.zp + poolRoundEven(acc[c]-cnt*k.zp, cnt, sh)
						}
						d[c] = int8(clamp32(v, k.lo, k.hi))
					}
					continue
				}
				for c := range d {
					v := acc[c]
					switch {
					case p.max:
					case k.roundEven:
						v = k.zp
						if cnt > 0 {
							v += divRoundEven(acc[c]-cnt*k.zp, cnt)
						}
					case cnt > 0:
						if v > 0 {
							v = (v + cnt/2) / cnt
						} else {
							v = (v - cnt/2) / cnt
						}
					}
					d[c] = int8(clamp32(v, k.lo, k.hi))
				}
			}
		}
	}
}

// poolShift is log2(cnt) when cnt is a positive power of two, else -1.
func poolShift(cnt int32) int {
	if cnt <= 0 || cnt&(cnt-1) != 0 {
		return -1
	}
	return bits.TrailingZeros32(uint32(cnt))
}

// poolRoundAway is v/cnt rounded half away from zero (TFLite's average
// pool) for cnt = 1<<sh.
func poolRoundAway(v, cnt int32, sh int) int32 {
	if v > 0 {
		return (v + cnt/2) >> sh
	}
	return -((-v + cnt/2) >> sh)
}

// poolRoundEven is divRoundEven(a, cnt) for cnt = 1<<sh.
func poolRoundEven(a, cnt int32, sh int) int32 {
	q, r := a>>sh, a&(cnt-1)
	if 2*r > cnt || 2*r == cnt && q&1 != 0 {
		q++
	}
	return q
}

// qmeanKernel is a quantized MEAN: the integer sum of each group, rescaled
// to the output's parameters and rounded.
type qmeanKernel struct {
	dims    [4]int
	reduced [4]bool
	count   int
	in, out qparam
	// tab, when not nil, holds the output of every possible sum s (count
	// int8s) at tab[s + 128*count]: the same float64 expression computed
	// once per value at build rather than once per output at run time.
	tab     []int8
	scratch scratchList
}

// maxMeanTable bounds the entries of qmeanKernel.tab (count*255 + 1).
const maxMeanTable = 1 << 16

func newQMean(dims [4]int, reduced [4]bool, count int, in, out qparam) *qmeanKernel {
	k := &qmeanKernel{dims: dims, reduced: reduced, count: count, in: in, out: out}
	if n := count*255 + 1; count > 0 && n <= maxMeanTable {
		k.tab = make([]int8, n)
		for i := range k.tab {
			k.tab[i] = k.one(int32(i - 128*count))
		}
	}
	return k
}

// one is the output of the group sum s.
func (k *qmeanKernel) one(s int32) int8 {
	scale := k.in.scale / (float64(k.count) * k.out.scale)
	v := roundHalfAway(float64(s-int32(k.count)*k.in.zp)*scale) + float64(k.out.zp)
	return int8(clamp32(int32(max(min(v, 127), -128)), -128, 127))
}

func (k *qmeanKernel) run(e *env, ins [][]float32, out []float32) {
	d := k.dims
	inN := d[0] * d[1] * d[2] * d[3]
	outN := inN / k.count
	src, dst := int8s(ins[0]), int8s(out)
	s := k.scratch.Get()
	defer k.scratch.Put(s)
	s.c = grow(s.c, outN)
	sums := s.c
	for img := 0; img < e.batch; img++ {
		in := src[img*inN : (img+1)*inN]
		clear(sums)
		i := 0
		for a := 0; a < d[0]; a++ {
			for b := 0; b < d[1]; b++ {
				for c := 0; c < d[2]; c++ {
					row := in[i : i+d[3]]
					i += d[3]
					base := k.outIndex(a, b, c, 0)
					if k.reduced[3] {
						s := int32(0)
						for _, v := range row {
							s += int32(v)
						}
						sums[base] += s
						continue
					}
					kernels.AccumI8(sums[base:base+len(row)], row)
				}
			}
		}
		o := dst[img*outN : (img+1)*outN]
		if k.tab != nil {
			off := int32(128 * k.count)
			for j, s := range sums {
				o[j] = k.tab[s+off]
			}
			continue
		}
		for j, s := range sums {
			o[j] = k.one(s)
		}
	}
}

func (k *qmeanKernel) outIndex(a, b, c, x int) int {
	idx := [4]int{a, b, c, x}
	o := 0
	for i := 0; i < 4; i++ {
		if k.reduced[i] {
			continue
		}
		o = o*k.dims[i] + idx[i]
	}
	return o
}

// qpadKernel is a quantized PAD: padding holds the output's zero point.
type qpadKernel struct {
	p     padKernel
	value int8
}

func (k *qpadKernel) run(e *env, ins [][]float32, out []float32) {
	p := &k.p
	inN := p.in[0] * p.in[1] * p.in[2] * p.in[3]
	outN := p.out[0] * p.out[1] * p.out[2] * p.out[3]
	src, dst := int8s(ins[0]), int8s(out)
	for img := 0; img < e.batch; img++ {
		in, o := src[img*inN:(img+1)*inN], dst[img*outN:(img+1)*outN]
		fillI8(o, k.value)
		// Runs of the last two axes are contiguous in both tensors when the
		// last axis is not padded.
		rowCopy := p.in[3] == p.out[3]
		for a := 0; a < p.in[0]; a++ {
			for b := 0; b < p.in[1]; b++ {
				if rowCopy {
					si := (a*p.in[1] + b) * p.in[2] * p.in[3]
					di := (((a+p.before[0])*p.out[1]+b+p.before[1])*p.out[2] + p.before[2]) * p.out[3]
					n := p.in[2] * p.in[3]
					copy(o[di:di+n], in[si:si+n])
					continue
				}
				for c := 0; c < p.in[2]; c++ {
					si := ((a*p.in[1]+b)*p.in[2] + c) * p.in[3]
					di := (((a+p.before[0])*p.out[1]+b+p.before[1])*p.out[2]+c+p.before[2])*p.out[3] + p.before[3]
					copy(o[di:di+p.in[3]], in[si:si+p.in[3]])
				}
			}
		}
	}
}

// qconcatKernel is a quantized CONCATENATION, rescaling inputs whose
// parameters differ from the output's.
type qconcatKernel struct {
	c   concatKernel
	ins []qparam
	out qparam
}

func (k *qconcatKernel) run(e *env, ins [][]float32, out []float32) {
	per := 0
	for _, n := range k.c.per {
		per += n
	}
	dst := int8s(out)
	for img := 0; img < e.batch; img++ {
		o := dst[img*per : (img+1)*per]
		pos := 0
		for j := 0; j < k.c.outer; j++ {
			for i, in := range ins {
				src := int8s(in)[img*k.c.per[i]:]
				n := k.c.inner[i]
				requantize(o[pos:pos+n], src[j*n:(j+1)*n], k.ins[i], k.out)
				pos += n
			}
		}
	}
}

// qbinaryKernel is a quantized ADD or MUL of two tensors of one shape.
type qbinaryKernel struct {
	mul     bool
	n       int
	a, b, o qparam
	c2      []int8  // a constant second operand (the first is always an activation)
	mo      requant // MUL
	am, bm  int32   // ADD: operand multipliers with ashift fraction bits
	ashift  int
	lo, hi  int32
	add     *kernels.AddI8 // ADD's vector form
}

func planQBinary(g *Graph, n *Node, ap, op qparam) (kernel, []int, error) {
	if len(n.Inputs) != 2 || n.Inputs[1] < 0 {
		return nil, nil, fmt.Errorf("%d inputs, want 2", len(n.Inputs))
	}
	ta, tb := g.Tensors[n.Inputs[0]], g.Tensors[n.Inputs[1]]
	if tb.DType != Int8 {
		return nil, nil, fmt.Errorf("input %q: want INT8 like %q, got %s", tb.Name, ta.Name, describe(tb))
	}
	bp, err := perTensor(tb)
	if err != nil {
		return nil, nil, err
	}
	if !slices.Equal(ta.Shape, tb.Shape) {
		return nil, nil, fmt.Errorf("quantized %s with broadcasting (%v and %v) is not supported", n.Op, ta.Shape, tb.Shape)
	}
	k := &qbinaryKernel{mul: n.Op == OpMul, n: ta.Size(), a: ap, b: bp, o: op}
	if tb.Const {
		if len(tb.Int8) != tb.Size() {
			return nil, nil, fmt.Errorf("constant %q has no INT8 data", tb.Name)
		}
		k.c2 = tb.Int8
	}
	k.lo, k.hi = actRange(n, op)
	if k.mul {
		k.mo.mult, k.mo.shift = QuantizeMultiplier(ap.scale * bp.scale / op.scale)
	} else {
		// ADD as TFLite's interpreter (through XNNPACK) computes it: both
		// operands' scales over the output's as integers with about 20
		// significant bits, summed and shifted back once, rounding up.
		sa, sb := float32(float32(ap.scale)/float32(op.scale)), float32(float32(bp.scale)/float32(op.scale))
		_, e := math.Frexp(float64(max(sa, sb)))
		k.ashift = 20 - (e - 1)
		k.am = int32(math.RoundToEven(float64(sa) * math.Ldexp(1, k.ashift)))
		k.bm = int32(math.RoundToEven(float64(sb) * math.Ldexp(1, k.ashift)))
		k.add = &kernels.AddI8{AZP: ap.zp, BZP: bp.zp, AM: k.am, BM: k.bm, Shift: k.ashift, ZP: op.zp, Lo: k.lo, Hi: k.hi}
	}
	return k, slices.Clone(ta.Shape), nil
}

func (k *qbinaryKernel) run(e *env, ins [][]float32, out []float32) {
	a, dst := int8s(ins[0])[:k.n*e.batch], int8s(out)
	for img := 0; img < e.batch; img++ {
		var b []int8
		if k.c2 != nil {
			b = k.c2
		} else {
			b = int8s(ins[1])[img*k.n : (img+1)*k.n]
		}
		k.binary(dst[img*k.n:(img+1)*k.n], a[img*k.n:(img+1)*k.n], b)
	}
}

// binary computes o[i] = op(ai[i], b[i]) for i < len(o).
func (k *qbinaryKernel) binary(o, ai, b []int8) {
	ai, b = ai[:len(o)], b[:len(o)]
	if k.add != nil && k.ashift >= 1 {
		k.add.Run(o, ai, b)
		return
	}
	for i := range o {
		x, y := int32(ai[i])-k.a.zp, int32(b[i])-k.b.zp
		var r int32
		if k.mul {
			r = MultiplyByQuantizedMultiplierSingle(x*y, k.mo.mult, k.mo.shift)
		} else {
			r = int32((int64(x)*int64(k.am) + int64(y)*int64(k.bm) + int64(1)<<(k.ashift-1)) >> k.ashift)
		}
		o[i] = int8(clamp32(r+k.o.zp, k.lo, k.hi))
	}
}

// qsoftmaxKernel is a quantized SOFTMAX over the last axis, computed in
// float64 from the dequantized inputs and quantized to the output's
// parameters (TFLite uses an exp table; both round to the same quantum or
// one apart). An input x of a row with maximum m enters as exp(beta*scale*
// (x-m)); x-m takes at most 256 values, so those are computed once at build
// (exp, the same expression), and each row rounds each distinct quotient
// once.
type qsoftmaxKernel struct {
	n, size int // row length, elements per image
	in, out qparam
	beta    float64
	exp     [256]float64 // exp[d]: exp(beta*scale*(-d))
}

func newQSoftmax(n, size int, in, out qparam, beta float64) *qsoftmaxKernel {
	k := &qsoftmaxKernel{n: n, size: size, in: in, out: out, beta: beta}
	for d := range k.exp {
		k.exp[d] = math.Exp(k.beta * k.in.scale * float64(int32(-d)))
	}
	return k
}

func (k *qsoftmaxKernel) run(e *env, ins [][]float32, out []float32) {
	total := k.size * e.batch
	src, dst := int8s(ins[0])[:total], int8s(out)[:total]
	for r := 0; r+k.n <= total; r += k.n {
		row := src[r : r+k.n]
		m := int32(slices.Max(row))
		sum := 0.0
		for _, v := range row {
			sum += k.exp[m-int32(v)]
		}
		var q [256]int8
		var done [256]bool
		o := dst[r : r+k.n]
		for i, v := range row {
			d := m - int32(v)
			if !done[d] {
				f := roundHalfAway(k.exp[d]/sum/k.out.scale) + float64(k.out.zp)
				q[d], done[d] = int8(max(min(f, 127), -128)), true
			}
			o[i] = q[d]
		}
	}
}
