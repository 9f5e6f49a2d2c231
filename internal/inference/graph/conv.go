package graph

import (
	"fmt"
	"slices"
	"sync"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// convKernel is CONV_2D: a packed GEMM, reading the input directly for 1x1
// stride-1 convolutions and gathering input windows row block by row block
// otherwise.
type convKernel struct {
	h, w, cin    int
	oh, ow, cout int
	kh, kw       int
	sh, sw       int
	padT, padL   int
	lo, hi       float32
	hs           bool // HARD_SWISH in the GEMM's epilogue (see fuseHardSwish)
	pb           *kernels.PackedB
	pointwise    bool
	residual     bool      // a fourth input is added to the output before the bounds
	rlo, rhi     float32   // the bounds after the residual (lo, hi are then open)
	columns      bool      // pb's K is ordered KW×KH×Cin for the column-window path
	rows         bool      // the 3x3 RGB stem reads its window rows in place (runRows)
	wpad         int       // input columns one output row reads, padding included
	wino         *winograd // the Winograd F(2x2,3x3) path (winograd.go), when chosen
	bf3          *bf3Conv  // the 1x1 path's AMX bf16x3 form (amxf32.go), when switched on
	scratch      sync.Pool // *[]float32 of gatherRows*K, or wpad*KH*Cin for columns
}

// gatherRows is how many output pixels a general convolution gathers at
// once; a remainder of up to gatherTail pixels joins the last block.
const (
	gatherRows = 8 * kernels.MR
	gatherTail = 11
)

func planConv(g *Graph, n *Node) (kernel, []int, error) {
	ts, err := inputs(g, n, 2, 4)
	if err != nil {
		return nil, nil, err
	}
	h, w, cin, err := image4(ts[0])
	if err != nil {
		return nil, nil, err
	}
	if err := constFloat(ts[1], "filter", -1, -1, -1, cin); err != nil {
		return nil, nil, err
	}
	cout, kh, kw := ts[1].Shape[0], ts[1].Shape[1], ts[1].Shape[2]
	var bias *Tensor
	if len(ts) > 2 {
		bias = ts[2]
	}
	var res *Tensor
	if len(ts) > 3 {
		res = ts[3]
	}
	b, err := biasData(bias, cout)
	if err != nil {
		return nil, nil, err
	}
	lo, hi := bounds(n)
	if err := g.reservePacked(cout, kh*kw*cin); err != nil {
		return nil, nil, err
	}
	oh, ow, padT, padL, err := window2D(n, h, w, kh, kw)
	if err != nil {
		return nil, nil, err
	}
	sh, sw := n.StrideH, n.StrideW
	k := &convKernel{h: h, w: w, cin: cin, oh: oh, ow: ow, cout: cout, kh: kh, kw: kw, sh: sh, sw: sw,
		padT: padT, padL: padL, lo: lo, hi: hi,
		pointwise: kh == 1 && kw == 1 && sh == 1 && sw == 1 && padT == 0 && padL == 0}
	if res != nil {
		// Set by fuseResiduals only for 1x1 stride-1 convolutions.
		if !k.pointwise || res.DType != Float32 || res.Const || !slices.Equal(res.Shape, []int{1, oh, ow, cout}) {
			return nil, nil, fmt.Errorf("residual input %q: want a FLOAT32 activation of shape %v after a 1x1 convolution, got %s %v",
				res.Name, []int{1, oh, ow, cout}, describe(res), res.Shape)
		}
		k.residual, k.rlo, k.rhi = true, lo, hi
		k.lo, k.hi = kernels.NoClampLo, kernels.NoClampHi
	}
	if err := k.reserveWinograd(g); err != nil {
		return nil, nil, err
	}
	k.pack(ts[1].Float, b)
	if k.pointwise {
		k.bf3 = newBF3Conv(g, ts[1].Float, b, cout, cin, k.pb)
	}
	return k, []int{1, oh, ow, cout}, nil
}

// pack chooses between the gathered and the column-window paths and packs
// the [Cout][KH][KW][Cin] filter in the order that path reads.
func (k *convKernel) pack(filter, bias []float32) {
	if k.wantWinograd() {
		k.wino = k.newWinograd(filter, bias, winoTile(k.oh, k.ow, k.cin, k.cout))
		// No direct weights: pb holds only the K the planner counts by.
		k.pb = kernels.PackB(nil, 0, k.kh*k.kw*k.cin, nil)
		return
	}
	switch {
	case stemRows && k.kh == 3 && k.kw == 3 && k.cin == 3 && (k.ow-1)*k.sw*k.cin+k.kw*k.cin <= len(zeroRow) && kernels.GemmSegsFast(k.cout):
		// pb keeps the filter's KH×KW×Cin order: segment ky of K is
		// input row ky of the window.
		k.rows = true
	case k.wantColumns():
		k.columns = true
		k.wpad = (k.ow-1)*k.sw + k.kw
		filter = columnOrder(filter, k.cout, k.kh, k.kw, k.cin)
	}
	k.pb = kernels.PackB(filter, k.cout, k.kh*k.kw*k.cin, bias)
}

// maxColumnsRow bounds KW×Cin for the column-window path: it pays off for
// thin inputs (the RGB stem), where gathering each pixel's window costs
// more than the GEMM that follows.
const maxColumnsRow = 64

// minColumnsWidth is the narrowest output row that takes the column-window
// path whatever its channels, for windows taller than one row and stride 1
// across: the strip copies each input value KH times instead of the
// gather's KH×KW, one row's strip stays near L1 (ResNet-50's 56×56×64 3×3:
// 58 columns of 3×64 floats, 44 KB; 28×28×128: 46 KB), and a row of 28 or
// more pixels is tall enough for the GEMM to reuse each weight panel from
// L2. Measured on ResNet-50@224's 3×3 layers, the gathered path's time over
// the strips' (graph BenchmarkResNetConv3x3Paths, call by call): 56 wide
// 1.08-1.10, 28 wide 1.00-1.04 (batch 4: 0.98-1.04), 14 wide 0.68-0.75
// (its 2.4 MB of weights streaming once per short row).
const minColumnsWidth = 28

// wantColumns reports whether the convolution runs on the column-window
// path (see runColumns) rather than gathering each pixel's window.
func (k *convKernel) wantColumns() bool {
	if k.pointwise {
		return false
	}
	return k.kw*k.cin <= maxColumnsRow || (k.kh > 1 && k.sw == 1 && k.ow >= minColumnsWidth)
}

// columnOrder reorders a [Cout][KH][KW][Cin] filter to [Cout][KW][KH][Cin].
func columnOrder(f []float32, cout, kh, kw, cin int) []float32 {
	r := make([]float32, len(f))
	for o := 0; o < cout; o++ {
		for ky := 0; ky < kh; ky++ {
			for kx := 0; kx < kw; kx++ {
				src := f[((o*kh+ky)*kw+kx)*cin:][:cin]
				copy(r[((o*kw+kx)*kh+ky)*cin:][:cin], src)
			}
		}
	}
	return r
}

// fuseHardSwish moves a following HARD_SWISH into the GEMM's epilogue of
// the 1x1 and gathered paths, and into the column-window path (the RGB
// stem) row by row of output; a fused residual (added after the GEMM)
// keeps it as a pass of its own.
func (k *convKernel) fuseHardSwish() bool {
	if k.residual {
		return false
	}
	k.hs = true
	return true
}

// act is the GEMM epilogue: the bounds, then HARD_SWISH if fused.
func (k *convKernel) act() kernels.Act { return kernels.Act{Lo: k.lo, Hi: k.hi, HardSwish: k.hs} }

// convSmallK runs a plain 1x1 convolution of at most convSmallKMaxK input
// channels on kernels.GemmSmallKAct, its residual and HARD_SWISH in the
// kernels' epilogue (convSmallKAct; tests and benchmarks switch them off
// to compare with GemmAct). Up to K=128: per layer (V3-Large@224, batch
// 1) the HARD_SWISH expansions of K 40 and 80 ran 1.09-1.17x GemmAct's
// time, 112 1.04x, the projections of K 72 and 120 1.12-1.19x, but the
// 7x7 ones of K=160 (49 rows, N=960) 0.84x.
var (
	convSmallK     = true
	convSmallKAct  = true
	convSmallKMaxK = 128
)

func (k *convKernel) run(e *env, ins [][]float32, out []float32) {
	rows := k.oh * k.ow * e.batch
	grain := kernels.MR * 4
	if k.pointwise {
		// A fused residual is added in the GEMM's epilogue, before the
		// bounds, as each tile is stored.
		act := k.act()
		var res []float32
		if k.residual {
			res = ins[3][:rows*k.cout]
			act.Lo, act.Hi, act.LdRes = k.rlo, k.rhi, k.cout
		}
		if e.threads > 1 && k.pb.Panels() >= e.threads && (rows < 4*grain*e.threads || k.cout >= rows) {
			// Few pixels, or weights outweighing the input rows (the late
			// layers, batched): split columns, so each thread streams its
			// own share of the weights.
			act.Res = res
			if k.bf3 != nil && rows >= amxF32MinRows && k.bf3.pb.Panels() == k.pb.Panels() {
				e.parallelFor(k.pb.Panels(), 1, func(p0, p1 int) {
					k.bf3.gemm(rows, ins[0], k.cin, p0, p1, act, out, k.cout)
				})
				return
			}
			e.parallelFor(k.pb.Panels(), 1, func(p0, p1 int) {
				kernels.GemmPanelsAct(rows, ins[0], k.cin, k.pb, p0, p1, act, out, k.cout)
			})
			return
		}
		gemm := kernels.GemmAct
		if convSmallK && k.cin <= convSmallKMaxK && (convSmallKAct || res == nil && !act.HardSwish) {
			// Few input channels: the rows in one call per pair of
			// panels (see kernels.GemmSmallKAct).
			gemm = kernels.GemmSmallKAct
		}
		e.parallelFor(rows, grain, func(lo, hi int) {
			act := act
			if res != nil {
				act.Res = res[lo*k.cout:]
			}
			if k.bf3 != nil && hi-lo >= amxF32MinRows {
				k.bf3.gemm(hi-lo, ins[0][lo*k.cin:], k.cin, 0, k.bf3.pb.Panels(), act, out[lo*k.cout:], k.cout)
				return
			}
			gemm(hi-lo, ins[0][lo*k.cin:], k.cin, k.pb, act, out[lo*k.cout:], k.cout)
		})
		return
	}
	if k.wino != nil {
		k.runWinograd(e, ins[0], out)
		return
	}
	if k.rows {
		k.runRows(e, ins[0], out)
		return
	}
	if k.columns {
		k.runColumns(e, ins[0], out)
		return
	}
	e.parallelFor(rows, gatherRows, func(lo, hi int) {
		kk := k.pb.K
		sp, _ := k.scratch.Get().(*[]float32)
		if sp == nil {
			s := make([]float32, (gatherRows+gatherTail)*kk)
			sp = &s
		}
		defer k.scratch.Put(sp)
		buf := *sp
		for r0 := lo; r0 < hi; {
			n := min(gatherRows, hi-r0)
			if hi-r0-n <= gatherTail {
				// A short remainder joins this block: a GEMM of a few rows
				// would stream every weight again for them.
				n = hi - r0
			}
			for i := 0; i < n; i++ {
				k.gather(ins[0], r0+i, buf[i*kk:(i+1)*kk])
			}
			kernels.GemmAct(n, buf, kk, k.pb, k.act(), out[r0*k.cout:], k.cout)
			r0 += n
		}
	})
}

// gather copies the input window of output pixel p into dst (KH×KW×Cin),
// zero where the window leaves the image.
func (k *convKernel) gather(in []float32, p int, dst []float32) {
	img := p / (k.oh * k.ow)
	in = in[img*k.h*k.w*k.cin : (img+1)*k.h*k.w*k.cin]
	p %= k.oh * k.ow
	oy, ox := p/k.ow, p%k.ow
	c := k.cin
	for ky := 0; ky < k.kh; ky++ {
		iy := oy*k.sh + ky - k.padT
		row := dst[ky*k.kw*c : (ky+1)*k.kw*c]
		if iy < 0 || iy >= k.h {
			clear(row)
			continue
		}
		if ix0 := ox*k.sw - k.padL; ix0 >= 0 && ix0+k.kw <= k.w {
			// The whole window row is inside the image and contiguous.
			copy(row, in[(iy*k.w+ix0)*c:(iy*k.w+ix0+k.kw)*c])
			continue
		}
		for kx := 0; kx < k.kw; kx++ {
			ix := ox*k.sw + kx - k.padL
			d := row[kx*c : (kx+1)*c]
			if ix < 0 || ix >= k.w {
				clear(d)
				continue
			}
			copy(d, in[(iy*k.w+ix)*c:(iy*k.w+ix+1)*c])
		}
	}
}

// runColumns computes each output row as one GEMM over a strip of input
// columns: for every input column the strip holds its KH rows of Cin
// values back to back (zero outside the image), so the window of output
// pixel x is the KW×KH×Cin floats starting at column x*SW, and consecutive
// pixels are rows of a matrix with stride SW×KH×Cin that the GEMM reads in
// place, the filter having been reordered to match.
func (k *convKernel) runColumns(e *env, in, out []float32) {
	if k.stemAVX2() {
		k.runStemAVX2(e, in, out)
		return
	}
	colLen := k.kh * k.cin
	imgLen := k.h * k.w * k.cin
	avx2 := kernels.Path() == "avx2"
	e.parallelFor(k.oh*e.batch, 1, func(lo, hi int) {
		sp, _ := k.scratch.Get().(*[]float32)
		if sp == nil || len(*sp) < k.wpad*colLen { // runStemAVX2's are shorter
			s := make([]float32, k.wpad*colLen)
			sp = &s
		}
		defer k.scratch.Put(sp)
		strip := *sp
		for r := lo; r < hi; r++ {
			img, oy := r/k.oh, r%k.oh
			k.fillStrip(in[img*imgLen:(img+1)*imgLen], oy, strip)
			o := out[r*k.ow*k.cout : (r+1)*k.ow*k.cout]
			if k.hs && avx2 {
				// The AVX2 tiles apply HARD_SWISH in registers as
				// they store (the same rounding as HardSwish).
				kernels.GemmAct(k.ow, strip, k.sw*colLen, k.pb, k.act(), o, k.cout)
				continue
			}
			kernels.Gemm(k.ow, strip, k.sw*colLen, k.pb, k.lo, k.hi, o, k.cout)
			if k.hs {
				// The row, still in L1, in one pass: the 16-wide and AVX2
				// GEMM tiles would call HardSwish row by row of each tile.
				kernels.HardSwish(o)
			}
		}
	})
}

// insideColumns returns the output columns [x0, x1) of a column-window
// convolution whose windows lie inside the image's width, and edge, the
// most pixels on either side whose windows leave it.
func (k *convKernel) insideColumns() (x0, x1, edge int) {
	x1 = min(k.ow, max(0, (k.w+k.padL-k.kw)/k.sw+1))
	x0 = min(x1, (k.padL+k.sw-1)/k.sw)
	return x0, x1, max(x0, k.ow-x1)
}

// edgeWindowRow writes into seg the window rows, read from input row iy
// of image im, of the n output pixels from column x on, with zeros where
// a window leaves the image (a row iy outside it is all zeros).
func (k *convKernel) edgeWindowRow(seg, im []float32, iy, x, n int) {
	c, kw := k.cin, k.kw
	win := kw * c
	clear(seg)
	if iy < 0 || iy >= k.h {
		return
	}
	for i := 0; i < n; i++ {
		for kx := 0; kx < kw; kx++ {
			if ix := (x+i)*k.sw - k.padL + kx; ix >= 0 && ix < k.w {
				copy(seg[i*win+kx*c:i*win+kx*c+c], im[(iy*k.w+ix)*c:])
			}
		}
	}
}

// stemRows enables runRows for 3x3 convolutions of RGB images (tests and
// benchmarks switch it off to compare with the column-window path).
var stemRows = true

// runRows computes each output row of a 3x3 convolution on three channels
// (the RGB stem) as one GEMM whose A rows are the output pixels' windows
// read where the image holds them: the window of pixel x in input row iy
// is the 3×3 floats from column x*SW-PadL on, so segment ky of every
// window is input row oy*SH+ky-PadT read with a stride of SW×3 floats
// (kernels.GemmSegs), a row outside the image reading zeros. Pixels whose
// window leaves the image left or right get their windows copied with the
// zeros in place. Nothing is gathered for the others: the column strip
// cost as much as a third of the GEMM.
func (k *convKernel) runRows(e *env, in, out []float32) {
	c, kw := k.cin, k.kw
	win := kw * c
	imgLen := k.h * k.w * c
	x0, x1, edge := k.insideColumns()
	act := k.act()
	// On StemRow32, a last pixel whose window's right column alone is
	// outside the image (SAME padding of an even width at stride 2), and a
	// first one whose left column alone is (padding on the left), join the
	// interior's call, their zeros taken in registers: the row's pixels
	// [xl, xr) in one call.
	xl, xr := x0, x1
	if k.stem32(act) && x1 > x0 {
		if x1 == k.ow-1 && x1*k.sw-k.padL+kw == k.w+1 {
			xr = k.ow
		}
		if x0 == 1 && k.padL == 1 {
			xl = 0
		}
	}
	e.parallelFor(k.oh*e.batch, 1, func(lo, hi int) {
		sp, _ := k.scratch.Get().(*[]float32)
		if sp == nil {
			s := make([]float32, k.kh*edge*win)
			sp = &s
		}
		defer k.scratch.Put(sp)
		scratch := *sp
		var segArr [3][]float32 // kh is 3 on this path
		segs := segArr[:k.kh]
		for r := lo; r < hi; r++ {
			img, oy := r/k.oh, r%k.oh
			im := in[img*imgLen : (img+1)*imgLen]
			o := out[r*k.ow*k.cout : (r+1)*k.ow*k.cout]
			if x1 > x0 {
				for ky := range segs {
					iy := oy*k.sh + ky - k.padT
					if iy < 0 || iy >= k.h {
						segs[ky] = zeroRow[:]
						continue
					}
					if xl < x0 {
						// From the left pixel's middle column: the image's first.
						segs[ky] = im[iy*k.w*c : (iy+1)*k.w*c]
						continue
					}
					segs[ky] = im[(iy*k.w+x0*k.sw-k.padL)*c : (iy+1)*k.w*c]
				}
				if xl < x0 || xr > x1 {
					kernels.StemRow32(xr-xl, xl < x0, xr > x1, &segArr, k.sw*c, k.pb, act.Lo, act.Hi, o[xl*k.cout:])
				} else {
					k.segGemm(x1-x0, &segArr, k.sw*c, act, o[x0*k.cout:])
				}
			}
			for _, span := range [2][2]int{{0, xl}, {xr, k.ow}} {
				n := span[1] - span[0]
				if n <= 0 {
					continue
				}
				for ky := range segs {
					seg := scratch[ky*edge*win : (ky*edge+n)*win]
					k.edgeWindowRow(seg, im, oy*k.sh+ky-k.padT, span[0], n)
					segs[ky] = seg
				}
				k.segGemm(n, &segArr, win, act, o[span[0]*k.cout:])
			}
		}
	})
}

// stemRow32 lets runRows use kernels.StemRow32 (tests and benchmarks
// switch it off to compare with GemmSegs).
var stemRow32 = true

// segGemm is runRows's product of n windows, whose three rows are the
// segments segs (lda floats from one window to the next), with the
// filter, into o: on kernels.StemRow32, a whole row per call, where it
// takes the filter (32 channels, no HARD_SWISH), else on GemmSegs. The
// two give the same bits.
func (k *convKernel) segGemm(n int, segs *[3][]float32, lda int, act kernels.Act, o []float32) {
	if k.stem32(act) {
		kernels.StemRow32(n, false, false, segs, lda, k.pb, act.Lo, act.Hi, o)
		return
	}
	kernels.GemmSegs(n, segs[:], lda, k.pb, act, o, k.cout)
}

// stem32 reports whether runRows's products with epilogue act run on
// kernels.StemRow32.
func (k *convKernel) stem32(act kernels.Act) bool {
	return stemRow32 && !act.HardSwish && kernels.StemRow32Fast(k.pb.K, k.pb.N)
}

// fillStrip writes the input columns output row oy reads into strip,
// column by column, each column KH rows of Cin floats.
func (k *convKernel) fillStrip(in []float32, oy int, strip []float32) {
	c := k.cin
	colLen := k.kh * c
	// Columns left and right of the image are zero.
	for col := 0; col < k.wpad; col++ {
		if ix := col - k.padL; ix >= 0 && ix < k.w {
			continue
		}
		clear(strip[col*colLen : (col+1)*colLen])
	}
	c0, c1 := max(k.padL, 0), min(k.wpad, k.w+k.padL)
	if c == 3 && k.kh == 3 && c1 > c0 && (c1-c0)*3 <= len(zeroRow) {
		k.fillStripRGB3(in, oy, strip[c0*colLen:c1*colLen], c0-k.padL, c1-c0)
		return
	}
	for ky := 0; ky < k.kh; ky++ {
		iy := oy*k.sh + ky - k.padT
		if iy < 0 || iy >= k.h {
			for col := c0; col < c1; col++ {
				clear(strip[col*colLen+ky*c : col*colLen+ky*c+c])
			}
			continue
		}
		row := in[(iy*k.w+c0-k.padL)*c : (iy*k.w+c1-k.padL)*c]
		dst := strip[c0*colLen+ky*c:]
		if c == 3 {
			// RGB (the 7×7 stem): each pixel's three floats to its column.
			kernels.Scatter3(dst, row, c1-c0, colLen)
			continue
		}
		for i := 0; i < c1-c0; i++ {
			copy(dst[i*colLen:i*colLen+c], row[i*c:i*c+c])
		}
	}
}

// zeroRow is an input row of zeros for fillStripRGB3, which takes RGB rows
// of up to len(zeroRow)/3 pixels (wider ones go through the general loop).
var zeroRow [3 * 1024]float32

// fillStripRGB3 is fillStrip's inner part for three rows of three channels
// (the RGB stem): n columns from input column ix0 on, each written as its
// nine floats in one go (rows top to bottom), from the three input rows or
// zeros for a row outside the image.
func (k *convKernel) fillStripRGB3(in []float32, oy int, dst []float32, ix0, n int) {
	var rows [3][]float32
	for ky := range rows {
		iy := oy*k.sh + ky - k.padT
		switch {
		case iy >= 0 && iy < k.h:
			rows[ky] = in[(iy*k.w+ix0)*3 : (iy*k.w+ix0+n)*3]
		default:
			rows[ky] = zeroRow[:n*3]
		}
	}
	r0, r1, r2 := rows[0][:n*3], rows[1][:n*3], rows[2][:n*3]
	dst = dst[:n*9]
	for i := 0; i < n; i++ {
		d := dst[i*9 : i*9+9 : i*9+9]
		a := r0[i*3 : i*3+3 : i*3+3]
		b := r1[i*3 : i*3+3 : i*3+3]
		c := r2[i*3 : i*3+3 : i*3+3]
		d[0], d[1], d[2] = a[0], a[1], a[2]
		d[3], d[4], d[5] = b[0], b[1], b[2]
		d[6], d[7], d[8] = c[0], c[1], c[2]
	}
}
