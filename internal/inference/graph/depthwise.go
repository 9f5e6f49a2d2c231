package graph

import (
	"fmt"
	"slices"
	"sync"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// dwPlanes lets plain depthwise layers that kernels.DWPlanesFaster picks
// run through kernels.DepthwisePlanes (tests and benchmarks switch it off
// to compare with DepthwiseBlocked).
var dwPlanes = true

// dwPackedOn lets plain 3x3 depthwise layers run on kernels.DepthwisePacked
// with the weights packed at plan time where kernels.DWPackedTakes (tests
// switch it off to compare with DepthwiseBlocked).
var dwPackedOn = true

// dwHotInput lets a plain depthwise layer tell the kernels
// (DWParams.Hot) that its input is likely in L2, when the batch's input
// is at most a quarter of L2 (tests and benchmarks switch it off to
// compare).
var dwHotInput = true

// depthwiseKernel is DEPTHWISE_CONV_2D. Multiplier 1 uses the vector kernel;
// other multipliers use a direct loop.
type depthwiseKernel struct {
	p      kernels.DWParams
	mult   int
	cout   int
	w      []float32 // [KH][KW][Cin*mult]
	wpack  []float32 // w packed by kernels.PackDW3x3x16 for DepthwisePacked, on AVX2
	bias   []float32
	expand *expansion // a fused 1x1 convolution computing the input band by band
	hs     bool       // HARD_SWISH on each output row while it is still in L1
	pad    sync.Pool  // *[]float32 of kernels.DWScratch(&p): padded border rows
	planes bool       // kernels.DepthwisePlanes instead of DepthwiseBlocked
	plane  sync.Pool  // *[]float32 of kernels.DWPlaneScratch(&p)
}

// planeScratch returns scratch for DepthwisePlanes; give it back with
// k.plane.Put.
func (k *depthwiseKernel) planeScratch() *[]float32 {
	if sp, _ := k.plane.Get().(*[]float32); sp != nil {
		return sp
	}
	s := make([]float32, kernels.DWPlaneScratch(&k.p))
	return &s
}

// padScratch returns scratch for DepthwiseBlocked's padded border rows;
// give it back with k.pad.Put.
func (k *depthwiseKernel) padScratch() *[]float32 {
	if sp, _ := k.pad.Get().(*[]float32); sp != nil {
		return sp
	}
	s := make([]float32, kernels.DWScratch(&k.p))
	return &s
}

func planDepthwise(g *Graph, n *Node) (kernel, []int, error) {
	ts, err := inputs(g, n, 2, 3)
	if err != nil {
		return nil, nil, err
	}
	var ex *expansion
	if n.Expand != nil {
		if ex, err = planExpansion(g, n.Expand, ts[0]); err != nil {
			return nil, nil, fmt.Errorf("fused 1x1 convolution: %w", err)
		}
	}
	var h, w, cin int
	if ex != nil {
		h, w, cin = ex.h, ex.w, ex.cout
	} else if h, w, cin, err = image4(ts[0]); err != nil {
		return nil, nil, err
	}
	if err := constFloat(ts[1], "filter", 1, -1, -1, -1); err != nil {
		return nil, nil, err
	}
	kh, kw, cout := ts[1].Shape[1], ts[1].Shape[2], ts[1].Shape[3]
	if cout%cin != 0 {
		return nil, nil, fmt.Errorf("filter has %d channels, not a multiple of the input's %d", cout, cin)
	}
	mult := n.Multiplier
	if mult == 0 { // some converters leave it out; the filter decides
		mult = cout / cin
	}
	if mult*cin != cout {
		return nil, nil, fmt.Errorf("depth multiplier %d does not match %d input and %d filter channels", mult, cin, cout)
	}
	var bt *Tensor
	if len(ts) > 2 {
		bt = ts[2]
	}
	b, err := biasData(bt, cout)
	if err != nil {
		return nil, nil, err
	}
	lo, hi := bounds(n)
	oh, ow, padT, padL, err := window2D(n, h, w, kh, kw)
	if err != nil {
		return nil, nil, err
	}
	k := &depthwiseKernel{
		p: kernels.DWParams{H: h, W: w, C: cin, KH: kh, KW: kw, SH: n.StrideH, SW: n.StrideW,
			PadT: padT, PadL: padL, OH: oh, OW: ow, Lo: lo, Hi: hi},
		mult: mult, cout: cout, w: ts[1].Float, bias: b, expand: ex,
	}
	if ex != nil && mult != 1 {
		return nil, nil, fmt.Errorf("fused 1x1 convolution before a depth multiplier of %d", mult)
	}
	k.planes = mult == 1 && ex == nil && dwPlanes && kernels.DWPlanesFaster(&k.p)
	if !k.planes && mult == 1 && ex == nil && kh == 3 && kw == 3 && cin%16 == 0 && kernels.Path() == "avx2" {
		k.wpack = kernels.PackDW3x3x16(k.w, cin)
	}
	return k, []int{1, oh, ow, cout}, nil
}

// fuseHardSwish has the kernel apply a following HARD_SWISH to each output
// row (or band, behind a fused 1x1 convolution) right after computing it,
// instead of a pass over the whole activation from L2.
func (k *depthwiseKernel) fuseHardSwish() bool { k.hs = true; return true }

func (k *depthwiseKernel) run(e *env, ins [][]float32, out []float32) {
	if k.expand != nil {
		eachImage(e, ins, out, func(ins [][]float32, out []float32) {
			e.parallelFor(k.p.OH, 1, func(lo, hi int) {
				k.runExpanded(ins[0], out, lo, hi)
			})
		})
		return
	}
	// Rows of all images in one split, so a batch of small images costs
	// the threads one start and one wait, not one per image.
	oh := k.p.OH
	inPer, outPer := len(ins[0])/e.batch, len(out)/e.batch
	p := k.p
	// The batch's input in at most a quarter of L2: likely still there
	// from the operator that wrote it.
	p.Hot = dwHotInput && len(ins[0])*4 <= kernels.CacheL2()/4
	// The sixteen-channel row kernel on packed weights, where
	// DepthwiseBlocked would run it on the weights as they are.
	packed := dwPackedOn && k.wpack != nil && kernels.DWPackedTakes(&p)
	e.parallelFor(e.batch*oh, 1, func(lo, hi int) {
		if k.planes {
			sp := k.planeScratch()
			defer k.plane.Put(sp)
			for r := lo; r < hi; {
				img, y0 := r/oh, r%oh
				y1 := min(oh, y0+hi-r)
				kernels.DepthwisePlanes(&k.p, ins[0][img*inPer:(img+1)*inPer], k.w, k.bias, out[img*outPer:(img+1)*outPer], y0, y1, *sp, k.hs)
				r += y1 - y0
			}
			return
		}
		var pad *[]float32 // DepthwiseBlocked's scratch: the packed kernels need none
		if !packed {
			pad = k.padScratch()
			defer k.pad.Put(pad)
		}
		for r := lo; r < hi; {
			img, y0 := r/oh, r%oh
			y1 := min(oh, y0+hi-r)
			in, o := ins[0][img*inPer:(img+1)*inPer], out[img*outPer:(img+1)*outPer]
			switch {
			case packed:
				kernels.DepthwisePacked(&p, in, k.wpack, k.bias, o, y0, y1, k.hs)
			case k.mult == 1 && k.hs:
				// Each row is HARD_SWISHed right after it is computed,
				// while it is in L1.
				kernels.DepthwiseBlockedHardSwish(&p, in, k.w, k.bias, o, y0, y1, *pad)
			case k.mult == 1:
				kernels.DepthwiseBlocked(&p, in, k.w, k.bias, o, y0, y1, *pad)
			default:
				for y := y0; y < y1; y++ {
					k.general(in, o, y, y+1)
					if k.hs {
						kernels.HardSwish(o[y*k.p.OW*k.cout : (y+1)*k.p.OW*k.cout])
					}
				}
			}
			r += y1 - y0
		}
	})
}

// general handles any depth multiplier: output channel ic*mult+m reads input
// channel ic.
func (k *depthwiseKernel) general(in, out []float32, y0, y1 int) {
	p := &k.p
	for oy := y0; oy < y1; oy++ {
		for ox := 0; ox < p.OW; ox++ {
			o := out[(oy*p.OW+ox)*k.cout : (oy*p.OW+ox+1)*k.cout]
			copy(o, k.bias)
			for ky := 0; ky < p.KH; ky++ {
				iy := oy*p.SH + ky - p.PadT
				if iy < 0 || iy >= p.H {
					continue
				}
				for kx := 0; kx < p.KW; kx++ {
					ix := ox*p.SW + kx - p.PadL
					if ix < 0 || ix >= p.W {
						continue
					}
					src := in[(iy*p.W+ix)*p.C : (iy*p.W+ix+1)*p.C]
					wt := k.w[(ky*p.KW+kx)*k.cout : (ky*p.KW+kx+1)*k.cout]
					for oc := range o {
						o[oc] += src[oc/k.mult] * wt[oc]
					}
				}
			}
			clampSlice(o, p.Lo, p.Hi)
		}
	}
}

// cost is the multiply-adds per output value, those of a fused 1x1
// convolution included (shared out over the output values, so the total is
// off by less than one per output value).
func (k *depthwiseKernel) cost() int {
	c := k.p.KH * k.p.KW
	if x := k.expand; x != nil {
		c += (x.h*x.w*x.cin + k.p.OH*k.p.OW/2) / (k.p.OH * k.p.OW) // to the nearest
	}
	return c
}

// dwPointwise is a depthwise convolution (multiplier 1) followed by the 1x1
// convolution that alone reads its output, run band of rows by band of
// rows: the depthwise writes a few rows into a scratch band that the 1x1
// GEMM reads while it is still in cache, instead of the whole activation
// going out to L2 or memory and back. The kernels and their order of sums
// are those of the two operators, so the result is bit-identical.
type dwPointwise struct {
	dw      *depthwiseKernel
	pw      *convKernel
	band    int       // depthwise output rows per band
	planes  bool      // the depthwise on kernels.DepthwisePlanes (dwpwPlanes)
	scratch sync.Pool // *[]float32 of band*OW*C
	// A residual ADD after the 1x1 convolution (see fuseResidualAdd): the
	// node input res (0: none) is added to each band of output while it is
	// in cache, then clamped to [lo, hi] if clamp.
	res    int
	clamp  bool
	lo, hi float32
}

// fusedBandBytes is the size the depthwise rows of one band aim at: half
// of L1, so the band is still there when the GEMM reads it; a band is at
// least fusedMinPixels pixels so the GEMM's row tiles stay full and its
// weights are read from L2 few times. On AVX2 it is one and a half L1s
// (fusedBandDefault).
var (
	fusedBandBytes = fusedBandDefault()
	fusedMinPixels = 96
)

// fusedBandDefault is fusedBandBytes for this CPU. On AVX2 (32 KB L1, 512
// KB L2 where measured), bands of 1.5 L1 rather than half of one: fewer,
// larger GEMM and depthwise calls, the band read back from L2.
// BenchmarkDWPointwiseBands (1000 rounds, thread CPU, against a second
// plan of the old default as control) measured them 1.054x as fast on
// V1's 64x64x32 pair (control 1.009x), 1.024x on 64x64x64 stride 2
// (1.002x), 1.074x on EfficientNet-Lite0's 112x112x32 (1.028x), 1.007x on
// 16x16x256 (0.999x); three runs of 400 rounds without a control gave
// 1.057-1.084x on 64x64x32 and 1.055-1.093x on V3-Large's 112x112x16,
// where a plan the same as the default read 1.02-1.05x.
func fusedBandDefault() int {
	if kernels.Path() == "avx2" {
		return 3 * kernels.CacheL1() / 2
	}
	return kernels.CacheL1() / 2
}

// dwpwPlain16 runs a fused pair's 1x1 convolution to 16 channels on
// GemmSegs's one-segment 16-column tiles (tests and benchmarks switch it
// off to compare with Gemm's 12-row ones).
var dwpwPlain16 = true

// dwpwSmallK runs a fused pair's 1x1 convolution of at most smallKMaxK
// input channels, or whose K×N weights are fewer than smallKMaxKN floats, on
// kernels.GemmSmallK (tests and benchmarks switch it off to compare with
// Gemm).
var (
	dwpwSmallK  = true
	smallKMaxK  = 128
	smallKMaxKN = 1 << 16
)

// dwpwHSRows has a fused pair's depthwise apply its HARD_SWISH row by row
// as it stores the band (kernels.DepthwiseBlockedHardSwish: in the AVX2
// row kernels' epilogue), rather than in a pass over the band after it;
// the values are the same bit for bit. On AVX2 only, where it was
// measured (the AVX-512 path keeps the pass); tests and benchmarks switch
// it to compare.
var dwpwHSRows = kernels.Path() == "avx2"

// dwpwEvenRows has the threads of a fused pair split its rows evenly, each
// running its share in bands; off, they split whole bands (tests and
// benchmarks switch it to compare).
var dwpwEvenRows = true

// dwpwPlanesOn has a fused pair plan its depthwise on
// kernels.DepthwisePlanes where kernels.DWPlanesFaster picks the plane
// kernels for the layer alone (5x5 and 7x7 windows), and dwpwPlanes lets
// it run there (tests and benchmarks switch it off to compare with
// DepthwiseBlocked); the sums are the same. On AVX2 only, where it was
// measured: the AVX-512 path keeps DepthwiseBlocked.
var (
	dwpwPlanesOn = kernels.Path() == "avx2"
	dwpwPlanes   = true
)

// fuseDWPW enables fuseDepthwisePointwise (tests switch it off for an
// unfused reference).
var fuseDWPW = true

func newDWPointwise(dw *depthwiseKernel, pw *convKernel) *dwPointwise {
	p := &dw.p
	rowBytes := p.OW * p.C * 4
	band := max(fusedBandBytes/rowBytes, (fusedMinPixels+p.OW-1)/p.OW, 1)
	if !dwpwPackedOn {
		dw.wpack = nil // the depthwise on the weights as they are
	}
	return &dwPointwise{dw: dw, pw: pw, band: min(band, p.OH), planes: dwpwPlanesOn && kernels.DWPlanesFaster(p)}
}

func (k *dwPointwise) run(e *env, ins [][]float32, out []float32) {
	p := &k.dw.p
	inPer, outPer := len(ins[0])/e.batch, len(out)/e.batch
	for img := 0; img < e.batch; img++ {
		in, o := ins[0][img*inPer:(img+1)*inPer], out[img*outPer:(img+1)*outPer]
		var res []float32
		if k.res > 0 {
			res = ins[k.res][img*outPer : (img+1)*outPer]
		}
		// The threads split the rows evenly, and each runs its rows in
		// bands of k.band and a shorter last one: with bands of many rows
		// (fusedBandDefault), a split by whole bands left one thread
		// up to a band more than the other.
		n, grain := p.OH, 1
		if !dwpwEvenRows {
			n, grain = (p.OH+k.band-1)/k.band*k.band, k.band
		}
		e.parallelFor(n, grain, func(r0, r1 int) {
			r1 = min(r1, p.OH)
			sp, _ := k.scratch.Get().(*[]float32)
			if sp == nil {
				s := make([]float32, k.band*p.OW*p.C)
				sp = &s
			}
			defer k.scratch.Put(sp)
			buf := *sp
			pad := k.dw.padScratch()
			defer k.dw.pad.Put(pad)
			var plane *[]float32
			for y0 := r0; y0 < r1; y0 += k.band {
				y1 := min(y0+k.band, r1)
				// The band as an image of its own: rows y0.. become rows
				// 0.., which moves the top padding up by y0 strides.
				bp := *p
				bp.PadT -= y0 * p.SH
				bp.OH = y1 - y0
				rows := (y1 - y0) * p.OW
				switch {
				case k.planes && dwpwPlanes:
					// HARD_SWISH, if any, as the plane kernels store.
					if plane == nil {
						plane = k.dw.planeScratch()
						defer k.dw.plane.Put(plane)
					}
					kernels.DepthwisePlanes(&bp, in, k.dw.w, k.dw.bias, buf, 0, y1-y0, *plane, k.dw.hs)
				case k.packed(&bp):
					// HARD_SWISH, if any, as the row kernel stores.
					kernels.DepthwisePacked(&bp, in, k.dw.wpack, k.dw.bias, buf, 0, y1-y0, k.dw.hs)
				case k.dw.hs && dwpwHSRows:
					kernels.DepthwiseBlockedHardSwish(&bp, in, k.dw.w, k.dw.bias, buf, 0, y1-y0, *pad)
				case k.dw.hs:
					kernels.DepthwiseBlocked(&bp, in, k.dw.w, k.dw.bias, buf, 0, y1-y0, *pad)
					kernels.HardSwish(buf[:rows*p.C])
				default:
					kernels.DepthwiseBlocked(&bp, in, k.dw.w, k.dw.bias, buf, 0, y1-y0, *pad)
				}
				ob := o[y0*p.OW*k.pw.cout : y1*p.OW*k.pw.cout]
				if k.pw.cout == kernels.NR && dwpwPlain16 && kernels.GemmSegsFast(kernels.NR) {
					// 16 output channels: GemmSegs's 24-row tiles
					// with one segment.
					a := [1][]float32{buf}
					kernels.GemmSegs(rows, a[:], p.C, k.pw.pb, kernels.Act{Lo: k.pw.lo, Hi: k.pw.hi}, ob, k.pw.cout)
				} else if k.pairGemm() {
					// AVX2: the band's tiles across the panels in one call,
					// prefetching the rows the next band reads.
					kernels.GemmPairAhead(rows, buf, p.C, k.pw.pb, k.pw.lo, k.pw.hi, ob, k.pw.cout, k.ahead(in, y1, r1))
				} else if dwpwSmallK && (p.C <= smallKMaxK || p.C*k.pw.cout < smallKMaxKN) {
					// The whole band in one call per pair of panels (on
					// AVX2, prefetching the rows the next band reads).
					kernels.GemmSmallKAhead(rows, buf, p.C, k.pw.pb, k.pw.lo, k.pw.hi, ob, k.pw.cout, k.smallKAhead(in, y1, r1))
				} else {
					kernels.Gemm(rows, buf, p.C, k.pw.pb, k.pw.lo, k.pw.hi, ob, k.pw.cout)
				}
				if res != nil {
					kernels.Add(ob, ob, res[y0*p.OW*k.pw.cout:y1*p.OW*k.pw.cout])
					if k.clamp {
						clampSlice(ob, k.lo, k.hi)
					}
				}
			}
		})
	}
}

// fuseDepthwisePointwise replaces each depthwise convolution whose output
// only a following plain 1x1 convolution reads by a dwPointwise, among the
// nodes before the batching split (they run image by image, where a band
// of one image is the unit of work; after it, a 1x1 convolution is better
// run once over the whole sub-batch) and before fuseLimit. Graphs with int8 activations are
// left alone. It runs before slots are assigned: the intermediate tensor
// then needs none.
func (m *Model) fuseDepthwisePointwise() {
	if !fuseDWPW {
		return
	}
	for i, t := range m.tensors {
		if !t.Const && i != m.input && t.DType != Float32 {
			return
		}
	}
	split := min(m.fuseLimit(), m.splitPoint())
	reads := make([]int, len(m.tensors))
	for _, nd := range m.nodes {
		for _, ti := range nd.ins {
			if ti >= 0 {
				reads[ti]++
			}
		}
	}
	var nodes []planned
	for i := 0; i < len(m.nodes); i++ {
		nd := m.nodes[i]
		if i+1 < split {
			next := m.nodes[i+1]
			dw, ok1 := nd.k.(*depthwiseKernel)
			pw, ok2 := next.k.(*convKernel)
			if ok1 && ok2 && dw.mult == 1 && dw.expand == nil && pw.pointwise && !pw.residual && !pw.hs && pw.cin == dw.cout &&
				len(next.ins) >= 1 && next.ins[0] == nd.out && reads[nd.out] == 1 && nd.out != m.output {
				f := newDWPointwise(dw, pw)
				fused := planned{name: nd.name + " + " + next.name, k: f, ins: nd.ins, out: next.out}
				i++
				if i+1 < split && m.fuseResidualAdd(f, &fused, m.nodes[i+1], reads) {
					i++
				}
				nodes = append(nodes, fused)
				continue
			}
		}
		nodes = append(nodes, nd)
	}
	m.nodes = nodes
}

// fuseResidualAdd folds add, the node after a fused depthwise and 1x1
// convolution, into it when add is a plain ADD (no broadcast) of the
// convolution's output, read by nothing else, and an activation computed
// before (a residual connection): each band of output gets the residual
// added while it is still in cache, instead of a pass over both whole
// activations. Float addition commutes, so the sums are bit-identical.
func (m *Model) fuseResidualAdd(f *dwPointwise, fused *planned, add planned, reads []int) bool {
	b, ok := add.k.(*binaryKernel)
	if !ok || b.mul || !b.flat || b.aPer == 0 || b.bPer == 0 || len(add.ins) != 2 || reads[fused.out] != 1 || fused.out == m.output {
		return false
	}
	other := add.ins[0]
	switch {
	case add.ins[1] == fused.out && other != fused.out:
	case add.ins[0] == fused.out && add.ins[1] != fused.out:
		other = add.ins[1]
	default:
		return false
	}
	if other < 0 || m.tensors[other].Const || m.tensors[other].Size() != m.tensors[add.out].Size() {
		return false
	}
	f.res, f.clamp, f.lo, f.hi = len(fused.ins), b.clamp, b.lo, b.hi
	fused.ins = append(slices.Clone(fused.ins), other)
	fused.name += " + " + add.name
	fused.out = add.out
	return true
}
