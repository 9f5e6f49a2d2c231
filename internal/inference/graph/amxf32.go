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
// tiles, fp32 accuracy), and every GEMM call of theirs over at least
// amxF32MinRows rows runs on it; fewer rows keep the fp32 GEMM. Only
// where the CPU has AMX-BF16 and AVX512_BF16 (kernels.BF3Available); the
// split weights take 1.5 times the fp32 bytes on top of the fp32 ones,
// counted against the graph's packing budget (a layer that would exceed
// it keeps the fp32 GEMM alone).
var amxF32 = os.Getenv("CSPIPE_AMXF32") == "1"

// amxF32MinRows is the fewest rows a GEMM call needs to take the tiles:
// a tile block is 16 rows, and below 32 the split weights (1.5 times the
// fp32 bytes) stream for too few rows (kernels BenchmarkGemmBF3:
// 16x1024x1024 0.87x the fp32 GEMM's speed, 32x1024x1024 1.0x).
const amxF32MinRows = 32

// amxF32MinK is the least depth that takes the tiles. Below it the
// bf16x3 sums, six rounded additions per k into one fp32 tile, err a few
// times more than the fp32 GEMM's (kernels TestGemmBF3Accuracy: K=32 max
// relative 6.8e-6 against 4.0e-6), and EfficientNet-Lite0's oracle test
// went past its 1e-5 (1.1e-5 against ONNX Runtime, 7.5e-6 with the
// switch off); from K=64 on they err less than the fp32 GEMM's.
const amxF32MinK = 64

// bf3Conv is a 1x1 convolution's bf16x3 form.
type bf3Conv struct {
	pb   *kernels.PackedBF3
	work sync.Pool // *kernels.BF3Work
}

// newBF3Conv splits the N×K weights of a plain 1x1 convolution when the
// switch is on, the tiles are there, N is over 16 and K at least
// amxF32MinK, else returns nil. fp32 is the layer's fp32 packing, for the
// few rows a call has past its tile blocks.
func newBF3Conv(g *Graph, filter, bias []float32, n, k int, fp32 *kernels.PackedB) *bf3Conv {
	if !amxF32 || !kernels.BF3Available() || n <= kernels.NR || k < amxF32MinK {
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
