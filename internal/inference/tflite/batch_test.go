package tflite_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// TestBatchMatchesSingle checks that images run in a batch (layer by layer
// in sub-batches, on one or several goroutines) give what they give alone.
func TestBatchMatchesSingle(t *testing.T) {
	v2, err := modelgen.MobileNet(modelgen.Config{Arch: "v2", Width: 0.35, Size: 64, Classes: 10, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		g    *modelgen.Graph
	}{{"tiny", tinyGraph()}, {"mixed", mixedGraph()}, {"v2", v2}} {
		m, err := tflite.Load(tc.g.TFLite())
		if err != nil {
			t.Fatal(err)
		}
		h, w, c := m.InputShape()
		per, n := h*w*c, m.NumClasses()
		const batch = 7
		rng := rand.New(rand.NewPCG(9, 9))
		in := make([]float32, batch*per)
		for i := range in {
			in[i] = rng.Float32()
		}
		m.SetThreads(1)
		want := make([]float32, batch*n)
		for i := 0; i < batch; i++ {
			if err := m.Run(in[i*per:(i+1)*per], 1, want[i*n:(i+1)*n]); err != nil {
				t.Fatal(err)
			}
		}
		for _, threads := range []int{1, 2, 3, 8} {
			t.Run(fmt.Sprintf("%s/threads%d", tc.name, threads), func(t *testing.T) {
				m.SetThreads(threads)
				got := make([]float32, batch*n)
				if err := m.Run(in, batch, got); err != nil {
					t.Fatal(err)
				}
				// Batch 1 splits inside the image instead.
				alone := make([]float32, batch*n)
				for i := 0; i < batch; i++ {
					if err := m.Run(in[i*per:(i+1)*per], 1, alone[i*n:(i+1)*n]); err != nil {
						t.Fatal(err)
					}
				}
				for i := range got {
					if d := math.Abs(float64(alone[i] - want[i])); d > 1e-6*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("output %d (image %d): %d threads %g, one thread %g", i, i/n, threads, alone[i], want[i])
					}
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-6*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("output %d (image %d): batch %g, alone %g", i, i/n, got[i], want[i])
					}
				}
			})
		}
	}
}

// TestConcurrentRun runs one model from several goroutines at once.
func TestConcurrentRun(t *testing.T) {
	m, err := tflite.Load(mixedGraph().TFLite())
	if err != nil {
		t.Fatal(err)
	}
	m.SetThreads(2)
	h, w, c := m.InputShape()
	per, n := h*w*c, m.NumClasses()
	const goroutines = 6
	ins := make([][]float32, goroutines)
	wants := make([][]float32, goroutines)
	for g := range ins {
		rng := rand.New(rand.NewPCG(uint64(g), 1))
		ins[g] = make([]float32, 3*per)
		for i := range ins[g] {
			ins[g][i] = rng.Float32()
		}
		wants[g] = make([]float32, 3*n)
		if err := m.Run(ins[g], 3, wants[g]); err != nil {
			t.Fatal(err)
		}
	}
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		go func() {
			got := make([]float32, 3*n)
			for range 20 {
				if err := m.Run(ins[g], 3, got); err != nil {
					errs <- err
					return
				}
				for i := range got {
					if got[i] != wants[g][i] {
						errs <- fmt.Errorf("goroutine %d output %d: %g, want %g", g, i, got[i], wants[g][i])
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range goroutines {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
