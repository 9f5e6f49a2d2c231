package graph

import (
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// stemConv is MobileNet's stem at 128: 3x3 stride 2 from RGB to 32
// channels, padding only right and below (SAME), on the column path.
func stemConv(rng *rand.Rand) (*convKernel, []float32) {
	const h, w, cin, cout = 128, 128, 3, 32
	oh, ow := h/2, w/2
	k := &convKernel{h: h, w: w, cin: cin, oh: oh, ow: ow, cout: cout, kh: 3, kw: 3, sh: 2, sw: 2, lo: 0, hi: 6,
		columns: true, wpad: (ow-1)*2 + 3}
	f := columnOrder(randFloats(rng, cout*9*cin), cout, 3, 3, cin)
	k.pb = kernels.PackB(f, cout, 9*cin, randFloats(rng, cout))
	return k, randFloats(rng, h*w*cin)
}

// BenchmarkStem reports the stem convolution of MobileNet V1 at 128 on one
// thread, whole and in its two parts (filling the column strips, and the
// GEMMs over them).
func BenchmarkStem(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	k, in := stemConv(rng)
	out := make([]float32, k.oh*k.ow*k.cout)
	macs := float64(k.oh * k.ow * k.cout * k.pb.K)
	b.Run("conv", func(b *testing.B) {
		for b.Loop() {
			k.run(&env{threads: 1, batch: 1}, [][]float32{in}, out)
		}
		b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
	})
	strip := make([]float32, k.wpad*k.kh*k.cin)
	b.Run("fill", func(b *testing.B) {
		for b.Loop() {
			for oy := 0; oy < k.oh; oy++ {
				k.fillStrip(in, oy, strip)
			}
		}
	})
	b.Run("gemm", func(b *testing.B) {
		for b.Loop() {
			for oy := 0; oy < k.oh; oy++ {
				kernels.Gemm(k.ow, strip, k.sw*k.kh*k.cin, k.pb, k.lo, k.hi, out[oy*k.ow*k.cout:], k.cout)
			}
		}
		b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
	})
}
