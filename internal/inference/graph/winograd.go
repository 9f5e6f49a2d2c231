package graph

import (
	"os"
	"sync"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// winogradOn enables the Winograd path for the 3x3 stride-1 convolutions
// wantWinograd picks; CSPIPE_WINOGRAD=0 in the environment (read once at
// start-up) turns it off, for A/B runs against the direct paths, and
// CSPIPE_WINOGRAD=2 or 4 runs every one of them on F(2×2, 3×3) or F(4×4,
// 3×3) instead of winoTile's choice.
var winogradOn = os.Getenv("CSPIPE_WINOGRAD") != "0"

// winograd is a 3x3 stride-1 convolution planned as Winograd F(m×m, 3×3),
// m 2 or 4 (see kernels.WinoFilter and kernels.Wino4Filter): the output is
// cut into tiles of m×m pixels, a band of tiles at a time has its
// (m+2)×(m+2) input tiles transformed into V ((m+2)² matrices of tiles ×
// Cin), each position p multiplied by its transformed filter U_p with the
// packed GEMM into M ((m+2)² matrices of tiles × Cout), and M folded back
// into the tiles' pixels with the bias and the bounds (HARD_SWISH after,
// when fused).
type winograd struct {
	m              int // output tile side: 2 for F(2×2, 3×3), 4 for F(4×4, 3×3)
	pb             []*kernels.PackedB
	bias           []float32
	tilesY, tilesX int
	band           int       // most tiles in one band
	scratch        sync.Pool // *[]float32: V, M, an edge input tile, an edge output tile and the transforms' scratch
}

// tile is the input tile side and pos the number of positions.
func (w *winograd) tile() int { return w.m + 2 }
func (w *winograd) pos() int  { return (w.m + 2) * (w.m + 2) }

// winoBandBytes bounds a band's V and M together, so that they stay in
// the 2 MB L2 between the transforms and the GEMMs.
const winoBandBytes = 1 << 20

// winoMinBand is the fewest tiles a band holds whatever its channels: each
// band streams all the transformed filters once.
const winoMinBand = 48

// wantWinograd reports whether the convolution runs on the Winograd path:
// 3x3, stride 1, a plain epilogue (bias, bounds, HARD_SWISH; no residual),
// and a shape where it measured faster than the direct paths (see
// winoShape).
func (k *convKernel) wantWinograd() bool {
	return winogradOn && k.kh == 3 && k.kw == 3 && k.sh == 1 && k.sw == 1 && !k.residual &&
		winoShape(k.oh, k.ow, k.cin, k.cout)
}

// winoShape is the measured choice (graph BenchmarkResNetWinograd, the
// direct path against Winograd call by call, one thread): Winograd won on
// every ResNet 3x3 shape measured, 7² to 56² with 16 to 512 channels, at
// batch 1 and 4 (the least: 7²×512 at batch 1, F(2×2, 3×3) 1.17-1.25×).
// Layers with fewer than 16 input or output channels were not measured
// and keep the direct paths.
func winoShape(oh, ow, cin, cout int) bool {
	return cin >= 16 && cout >= 16
}

// winoVariant forces the output tile side of every Winograd layer (2 or 4;
// 0 lets winoTile choose): CSPIPE_WINOGRAD, or tests and benchmarks.
var winoVariant = map[string]int{"2": 2, "4": 4}[os.Getenv("CSPIPE_WINOGRAD")]

// winoTile chooses F(2×2, 3×3) or F(4×4, 3×3) for a layer (the output tile
// side).
func winoTile(oh, ow, cin, cout int) int {
	if winoVariant != 0 {
		return winoVariant
	}
	if oh*ow >= winoF4Pixels {
		return 4
	}
	return 2
}

// winoF4Pixels is the smallest output image F(4×4, 3×3) is chosen for.
// Measured on ResNet-50@224's 3x3 layers (BenchmarkResNetWinograd, one
// thread, direct path's time over each variant's, load 8): 56² 2.4-2.9
// (F4) against 1.7 (F2); 28² 2.8-2.9 against 1.9; 14² 1.8 against 1.9 at
// batch 1 and 2.3 against 1.9 at batch 4; 7² (4 tiles an image, M = 4 per
// GEMM at batch 1) 0.6 against 1.2 at batch 1 and 1.9 against 1.5 at batch 4.
const winoF4Pixels = 14 * 14

// reserveWinograd counts the transformed filter of a layer that will run
// on the Winograd path against the graph's budget of packed weights,
// beyond the direct filter's share, reserved already (the path keeps no
// direct weights).
func (k *convKernel) reserveWinograd(g *Graph) error {
	if !k.wantWinograd() {
		return nil
	}
	m := winoTile(k.oh, k.ow, k.cin, k.cout)
	return g.reservePacked(k.cout, ((m+2)*(m+2)-9)*k.cin)
}

// newWinograd transforms and packs the [Cout][3][3][Cin] filter for
// F(m×m, 3×3), m 2 or 4.
func (k *convKernel) newWinograd(filter, bias []float32, m int) *winograd {
	w := &winograd{m: m, bias: make([]float32, k.cout), tilesY: (k.oh + m - 1) / m, tilesX: (k.ow + m - 1) / m}
	if m == 4 {
		pb := kernels.Wino4Filter(filter, k.cout, k.cin)
		w.pb = pb[:]
	} else {
		pb := kernels.WinoFilter(filter, k.cout, k.cin)
		w.pb = pb[:]
	}
	copy(w.bias, bias)
	w.band = max(winoMinBand, winoBandBytes/(4*w.pos()*(k.cin+k.cout)))
	return w
}

// runWinograd splits the batch's tiles across threads, each thread working
// through its share band by band.
func (k *convKernel) runWinograd(e *env, in, out []float32) {
	w := k.wino
	total := w.tilesY * w.tilesX * e.batch
	e.parallelFor(total, 1, func(lo, hi int) {
		nb := (hi - lo + w.band - 1) / w.band
		per := (hi - lo + nb - 1) / nb
		sp, _ := w.scratch.Get().(*[]float32)
		if need := w.pos()*(per*(k.cin+k.cout)+k.cin) + w.m*w.m*k.cout + kernels.Wino4Scratch; sp == nil || len(*sp) < need {
			s := make([]float32, need)
			sp = &s
		}
		defer w.scratch.Put(sp)
		for t0 := lo; t0 < hi; t0 += per {
			k.winoBand(in, out, t0, min(per, hi-t0), *sp)
		}
	})
}

// winoBand computes tiles [t0, t0+n) of the batch (numbered image by
// image, row by row).
func (k *convKernel) winoBand(in, out []float32, t0, n int, scratch []float32) {
	w := k.wino
	cin, cout := k.cin, k.cout
	ts, pos, mo := w.tile(), w.pos(), w.m
	v := scratch[:pos*n*cin]
	m := scratch[len(v):][:pos*n*cout]
	scratch = scratch[len(v)+len(m):]
	tile := scratch[:pos*cin]
	otile := scratch[len(tile):][:mo*mo*cout]
	tmp := scratch[len(tile)+len(otile):]
	input := func(dst []float32, src []float32, rs int) {
		if mo == 4 {
			kernels.Wino4Input(dst, n*cin, src, rs, cin, cin, tmp)
		} else {
			kernels.WinoInput(dst, n*cin, src, rs, cin, cin)
		}
	}
	output := func(dst []float32, rs int, src []float32) {
		if mo == 4 {
			kernels.Wino4Output(dst, rs, src, n*cout, w.bias, cout, k.lo, k.hi, tmp)
		} else {
			kernels.WinoOutput(dst, rs, src, n*cout, w.bias, cout, k.lo, k.hi)
		}
	}
	perImg := w.tilesY * w.tilesX
	inLen, outLen := k.h*k.w*cin, k.oh*k.ow*cout
	for i := 0; i < n; i++ {
		t := t0 + i
		img, ty, tx := t/perImg, t%perImg/w.tilesX, t%w.tilesX
		im := in[img*inLen : (img+1)*inLen]
		y0, x0 := mo*ty-k.padT, mo*tx-k.padL
		if y0 >= 0 && x0 >= 0 && y0+ts <= k.h && x0+ts <= k.w {
			input(v[i*cin:], im[(y0*k.w+x0)*cin:], k.w*cin)
			continue
		}
		// The tile leaves the image: its pixels with zeros around them.
		clear(tile)
		for dy := max(0, -y0); dy < ts && y0+dy < k.h; dy++ {
			xa, xb := max(0, -x0), min(ts, k.w-x0)
			if xb > xa {
				copy(tile[(dy*ts+xa)*cin:(dy*ts+xb)*cin], im[((y0+dy)*k.w+x0+xa)*cin:])
			}
		}
		input(v[i*cin:], tile, ts*cin)
	}
	for p := 0; p < pos; p++ {
		kernels.Gemm(n, v[p*n*cin:], cin, w.pb[p], kernels.NoClampLo, kernels.NoClampHi, m[p*n*cout:], cout)
	}
	for i := 0; i < n; i++ {
		t := t0 + i
		img, ty, tx := t/perImg, t%perImg/w.tilesX, t%w.tilesX
		o := out[img*outLen : (img+1)*outLen]
		oy, ox := mo*ty, mo*tx
		ny, nx := min(mo, k.oh-oy), min(mo, k.ow-ox)
		if ny == mo && nx == mo {
			dst := o[(oy*k.ow+ox)*cout:]
			output(dst, k.ow*cout, m[i*cout:])
			if k.hs {
				for dy := 0; dy < mo; dy++ {
					kernels.HardSwish(dst[dy*k.ow*cout:][:mo*cout])
				}
			}
			continue
		}
		// A tile past the bottom or right edge: the pixels inside.
		output(otile, mo*cout, m[i*cout:])
		for dy := 0; dy < ny; dy++ {
			dst := o[((oy+dy)*k.ow+ox)*cout:][:nx*cout]
			copy(dst, otile[dy*mo*cout:])
			if k.hs {
				kernels.HardSwish(dst)
			}
		}
	}
}
