package graph

import (
	"os"
	"sync"
	"sync/atomic"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// The bf16x3 switch. With CSPIPE_AMXF32=1 in the environment (read once at
// start-up; off by default), the plain 1x1 convolutions of models planned
// afterwards also get their weights split for kernels.GemmBF3Act (AMX BF16
// tiles, fp32 accuracy) where they have at least amxF32MinK input and
// amxF32MinN output channels, and every GEMM call of theirs over at least
// amxF32MinRows rows runs on it; fewer rows keep the fp32 GEMM. Only
// where the CPU has AMX-BF16 and AVX512_BF16 (kernels.BF3Available); the
// split weights take 1.5 times the fp32 bytes on top of the fp32 ones,
// counted against the graph's packing budget (a layer that would exceed
// it keeps the fp32 GEMM alone).
var amxF32 = os.Getenv("CSPIPE_AMXF32") == "1"

// amxF32MinRows, amxF32MinK and amxF32MinN select the GEMM calls that
// run on the tiles: at least 64 rows, and layers of at least 96 input and
// output channels. Per layer, in-process, the same model planned with the
// switch on and off (thread CPU time, load 1.5-3.7), the tiles took
// 0.8-0.9 times the fp32 time on ResNet-50's 28x28 layers (K=128 N=512,
// K=512 N=128) and MobileNet V1's 16x16 K=256 and 0.9 on V3-Large's
// 14x14 K=112 N=672; but 1.3-1.8 times on layers of fewer channels
// (V3-Large's K=64 N=24, K=72 N=40, K=184 N=80; ResNet-50's K=64 N=64)
// and on batch-1 7x7 layers (49 rows, ResNet-50's and V3-Large's last
// stage), whose split weights, 1.5 times the fp32 bytes, stream from L3.
// Below K=64 the bf16x3 sums, six rounded additions per k into one fp32
// tile, also err a few times more than the fp32 GEMM's (kernels
// TestGemmBF3Accuracy: K=32 max relative 6.8e-6 against 4.0e-6), and
// EfficientNet-Lite0's oracle test went past its 1e-5 with them.
const (
	amxF32MinRows = 64
	amxF32MinK    = 96
	amxF32MinN    = 96
)

// bf3Conv is a 1x1 convolution's bf16x3 form.
type bf3Conv struct {
	pb   *kernels.PackedBF3
	work sync.Pool // *kernels.BF3Work
}

// newBF3Conv splits the N×K weights of a plain 1x1 convolution when the
// switch is on, the tiles are there and N and K are at least amxF32MinN
// and amxF32MinK, else returns nil. fp32 is the layer's fp32 packing, for the
// few rows a call has past its tile blocks.
func newBF3Conv(g *Graph, filter, bias []float32, n, k int, fp32 *kernels.PackedB) *bf3Conv {
	if !amxF32 || !kernels.BF3Available() || n < amxF32MinN || k < amxF32MinK {
		return nil
	}
	kp := (k + 31) / 32 * 32
	if g.reservePacked(n, (3*kp+1)/2) != nil {
		return nil
	}
	pb := kernels.PackBF3(filter, n, k, bias)
	pb.Fallback = fp32 // the last few rows of a call
	return &bf3Conv{pb: pb}
}

// gemm is kernels.GemmBF3Act over panels [p0, p1) with a pooled scratch.
func (b *bf3Conv) gemm(m int, a []float32, lda, p0, p1 int, act kernels.Act, c []float32, ldc int) {
	w, _ := b.work.Get().(*kernels.BF3Work)
	if w == nil {
		w = new(kernels.BF3Work)
	}
	kernels.GemmBF3Act(m, a, lda, b.pb, p0, p1, act, c, ldc, w)
	b.work.Put(w)
	bf3Calls.Add(1)
}

// bf3Calls counts the GEMM calls on the tiles (tests check the switch
// reaches them).
var bf3Calls atomic.Int64
