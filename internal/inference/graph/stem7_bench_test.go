package graph

import (
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// resnetStem is ResNet-50@224's stem: a 7x7 stride-2 SAME convolution of
// 224×224×3 to 112×112×64 on the column-window path.
func resnetStem(rng *rand.Rand) *convKernel {
	k := &convKernel{h: 224, w: 224, cin: 3, oh: 112, ow: 112, cout: 64, kh: 7, kw: 7, sh: 2, sw: 2, padT: 2, padL: 2,
		lo: 0, hi: kernels.NoClampHi}
	k.pack(randFloats(rng, 64*7*7*3), randFloats(rng, 64))
	return k
}

// BenchmarkResNetStem times ResNet-50@224's stem at batch 1 on one thread,
// strips and GEMM, and reports multiply-adds per CPU second and the
// fastest run's rate.
func BenchmarkResNetStem(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	k := resnetStem(rng)
	in := randFloats(rng, 224*224*3)
	out := make([]float32, 112*112*64)
	macs := float64(112 * 112 * 64 * k.pb.K)
	e := &env{threads: 1, batch: 1}
	benchRate(b, macs, func() { k.run(e, [][]float32{in}, out) })
}
