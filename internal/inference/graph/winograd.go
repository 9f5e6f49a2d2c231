package graph

import (
	"os"
	"sync"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// winogradOn enables the Winograd path for the 3x3 stride-1 convolutions
// wantWinograd picks; CSPIPE_WINOGRAD=0 in the environment (read once at
// start-up) turns it off, for A/B runs against the direct paths.
var winogradOn = os.Getenv("CSPIPE_WINOGRAD") != "0"

// winograd is a 3x3 stride-1 convolution planned as Winograd F(2×2, 3×3)
// (see kernels.WinoFilter): the output is cut into tiles of 2×2 pixels, a
// band of tiles at a time has its 4×4 input tiles transformed into V (16
// matrices of tiles × Cin), each position p multiplied by its transformed
// filter U_p with the packed GEMM into M (16 matrices of tiles × Cout), and
// M folded back into the tiles' pixels with the bias and the bounds.
type winograd struct {
	pb             [kernels.WinoPos]*kernels.PackedB
	bias           []float32
	tilesY, tilesX int
	band           int       // most tiles in one band
	scratch        sync.Pool // *[]float32: V, M, an edge input tile and an edge output tile
}

// winoBandBytes bounds a band's V and M together, so that they stay in
// the 2 MB L2 between the transforms and the GEMMs.
const winoBandBytes = 1 << 20

// winoMinBand is the fewest tiles a band holds whatever its channels: each
// band streams all 16 transformed filters once.
const winoMinBand = 48

// wantWinograd reports whether the convolution runs on the Winograd path:
// 3x3, stride 1, a plain epilogue (bias, bounds, HARD_SWISH; no residual),
// and a shape where it measured faster than the direct paths (see
// winoShape).
func (k *convKernel) wantWinograd() bool {
	return winogradOn && k.kh == 3 && k.kw == 3 && k.sh == 1 && k.sw == 1 && !k.residual &&
		winoShape(k.oh, k.ow, k.cin, k.cout)
}

// winoShape is the measured choice (graph BenchmarkResNetWinograd, direct
// against Winograd call by call on ResNet-50@224's 3x3 layers): Winograd
// wherever the images have at least as many tiles as ... .
func winoShape(oh, ow, cin, cout int) bool {
	return cin >= 16 && cout >= 16
}

// newWinograd transforms and packs the [Cout][3][3][Cin] filter.
func (k *convKernel) newWinograd(filter, bias []float32) *winograd {
	w := &winograd{pb: kernels.WinoFilter(filter, k.cout, k.cin), bias: make([]float32, k.cout),
		tilesY: (k.oh + 1) / 2, tilesX: (k.ow + 1) / 2}
	copy(w.bias, bias)
	w.band = max(winoMinBand, winoBandBytes/(4*kernels.WinoPos*(k.cin+k.cout)))
	return w
}

// runWinograd splits the batch's tiles across threads, each thread working
// through its share band by band.
func (k *convKernel) runWinograd(e *env, in, out []float32) {
	w := k.wino
	total := w.tilesY * w.tilesX * e.batch
	parallelFor(e.threads, total, 1, func(lo, hi int) {
		nb := (hi - lo + w.band - 1) / w.band
		per := (hi - lo + nb - 1) / nb
		sp, _ := w.scratch.Get().(*[]float32)
		if need := kernels.WinoPos*per*(k.cin+k.cout) + kernels.WinoPos*k.cin + 4*k.cout; sp == nil || len(*sp) < need {
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
	v := scratch[:kernels.WinoPos*n*cin]
	m := scratch[len(v):][:kernels.WinoPos*n*cout]
	tile := scratch[len(v)+len(m):][:kernels.WinoPos*cin]
	otile := scratch[len(v)+len(m)+len(tile):][:4*cout]
	perImg := w.tilesY * w.tilesX
	inLen, outLen := k.h*k.w*cin, k.oh*k.ow*cout
	for i := 0; i < n; i++ {
		t := t0 + i
		img, ty, tx := t/perImg, t%perImg/w.tilesX, t%w.tilesX
		im := in[img*inLen : (img+1)*inLen]
		y0, x0 := 2*ty-k.padT, 2*tx-k.padL
		if y0 >= 0 && x0 >= 0 && y0+4 <= k.h && x0+4 <= k.w {
			kernels.WinoInput(v[i*cin:], n*cin, im[(y0*k.w+x0)*cin:], k.w*cin, cin, cin)
			continue
		}
		// The tile leaves the image: its pixels with zeros around them.
		clear(tile)
		for dy := max(0, -y0); dy < 4 && y0+dy < k.h; dy++ {
			xa, xb := max(0, -x0), min(4, k.w-x0)
			if xb > xa {
				copy(tile[(dy*4+xa)*cin:(dy*4+xb)*cin], im[((y0+dy)*k.w+x0+xa)*cin:])
			}
		}
		kernels.WinoInput(v[i*cin:], n*cin, tile, 4*cin, cin, cin)
	}
	for p := 0; p < kernels.WinoPos; p++ {
		kernels.Gemm(n, v[p*n*cin:], cin, w.pb[p], kernels.NoClampLo, kernels.NoClampHi, m[p*n*cout:], cout)
	}
	for i := 0; i < n; i++ {
		t := t0 + i
		img, ty, tx := t/perImg, t%perImg/w.tilesX, t%w.tilesX
		o := out[img*outLen : (img+1)*outLen]
		oy, ox := 2*ty, 2*tx
		ny, nx := min(2, k.oh-oy), min(2, k.ow-ox)
		if ny == 2 && nx == 2 {
			dst := o[(oy*k.ow+ox)*cout:]
			kernels.WinoOutput(dst, k.ow*cout, m[i*cout:], n*cout, w.bias, cout, k.lo, k.hi)
			if k.hs {
				kernels.HardSwish(dst[:2*cout])
				kernels.HardSwish(dst[k.ow*cout:][:2*cout])
			}
			continue
		}
		// A tile past the bottom or right edge: the pixels inside.
		kernels.WinoOutput(otile, 2*cout, m[i*cout:], n*cout, w.bias, cout, k.lo, k.hi)
		for dy := 0; dy < ny; dy++ {
			dst := o[((oy+dy)*k.ow+ox)*cout:][:nx*cout]
			copy(dst, otile[dy*2*cout:])
			if k.hs {
				kernels.HardSwish(dst)
			}
		}
	}
}
