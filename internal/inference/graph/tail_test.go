package graph_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// TestBatchTail: the tail (the operators after the global pooling: the
// classifier, HARD_SWISH head of V3, reshape, softmax) starts where
// expected, and running it once on the whole batch after the sub-batches
// gives the outputs of running it in every sub-batch, bit for bit (on
// AVX-512, whose one-row classifier rounds apart from the batched one,
// within 1e-5), at batches 2, 3, 8 and 9 on 1, 2 and 3 threads, each run
// twice (the second on the first's buffers). A model whose last weights
// are small has no tail.
func TestBatchTail(t *testing.T) {
	defer graph.SetBatchTail(true)()
	for _, tc := range []struct {
		cfg      modelgen.Config
		fromEnd  int // nodes in the tail, 0 for none
		wantTail bool
	}{
		{modelgen.Config{Arch: "v1", Width: 0.5, Size: 64, Classes: 1001, Seed: 3}, 3, true},     // conv, reshape, softmax
		{modelgen.Config{Arch: "v2", Width: 0.35, Size: 64, Classes: 1001, Seed: 4}, 3, true},    // conv, reshape, softmax
		{modelgen.Config{Arch: "v3-small", Width: 1, Size: 64, Classes: 1001, Seed: 5}, 4, true}, // head conv, conv, reshape, softmax
		{modelgen.Config{Arch: "v1", Width: 0.25, Size: 64, Classes: 37, Seed: 6}, 0, false},
	} {
		g, err := modelgen.MobileNet(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		m, err := tflite.Load(g.TFLite())
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%s-%g-%d", tc.cfg.Arch, tc.cfg.Width, tc.cfg.Classes)
		if got := m.NumNodes() - m.Tail(); got != tc.fromEnd {
			t.Fatalf("%s: tail of %d nodes (from node %d of %d), want %d", name, got, m.Tail(), m.NumNodes(), tc.fromEnd)
		}
		h, w, c := m.InputShape()
		per, classes := h*w*c, m.NumClasses()
		rng := rand.New(rand.NewPCG(7, 8))
		in := make([]float32, 9*per)
		for i := range in {
			in[i] = rng.Float32()*2 - 1
		}
		for _, threads := range []int{1, 2, 3} {
			for _, batch := range []int{2, 3, 8, 9} {
				t.Run(fmt.Sprintf("%s/threads%d/batch%d", name, threads, batch), func(t *testing.T) {
					m.SetThreads(threads)
					want := make([]float32, batch*classes)
					restore := graph.SetBatchTail(false)
					err := m.Run(in[:batch*per], batch, want)
					restore()
					if err != nil {
						t.Fatal(err)
					}
					for range 2 {
						got := make([]float32, batch*classes)
						for i := range got {
							got[i] = float32(math.NaN()) // every output must be written
						}
						if err := m.Run(in[:batch*per], batch, got); err != nil {
							t.Fatal(err)
						}
						for i := range got {
							if kernels.Path() == "avx512" {
								if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-5*max(1, math.Abs(float64(want[i])))) {
									t.Fatalf("image %d class %d: %g, in the sub-batches %g", i/classes, i%classes, got[i], want[i])
								}
								continue
							}
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("image %d class %d: %g, in the sub-batches %g", i/classes, i%classes, got[i], want[i])
							}
						}
					}
				})
			}
		}
	}
}
