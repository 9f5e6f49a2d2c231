package graph_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// TestBatchSchedules runs small MobileNets (V1, and V2 with residual
// additions that cross the batching split) at batches 1, 3, 8 and 9 on 1,
// 2 and 3 threads, twice (the second run on the first's workspaces), and
// checks every image's outputs against the same image run alone on one
// thread: the images of a sub-batch run the early layers one after
// another in one image's buffers, and only what the late layers read may
// go to the sub-batch's. The classifier's one-row path may round
// differently from the batched one, within 1e-5.
func TestBatchSchedules(t *testing.T) {
	for _, cfg := range []modelgen.Config{
		{Arch: "v1", Width: 0.25, Size: 64, Classes: 37, Seed: 3},
		{Arch: "v2", Width: 0.35, Size: 64, Classes: 37, Seed: 4},
	} {
		g, err := modelgen.MobileNet(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m, err := tflite.Load(g.TFLite())
		if err != nil {
			t.Fatal(err)
		}
		if s := m.Split(); s <= 0 || s >= m.NumNodes() {
			t.Fatalf("%s: split at node %d of %d: both phases must run", cfg.Arch, s, m.NumNodes())
		}
		h, w, c := m.InputShape()
		per, classes := h*w*c, m.NumClasses()
		rng := rand.New(rand.NewPCG(5, 6))
		in := make([]float32, 9*per)
		for i := range in {
			in[i] = rng.Float32()*2 - 1
		}
		alone := make([]float32, 9*classes)
		m.SetThreads(1)
		for i := 0; i < 9; i++ {
			if err := m.Run(in[i*per:(i+1)*per], 1, alone[i*classes:(i+1)*classes]); err != nil {
				t.Fatal(err)
			}
		}
		for _, threads := range []int{1, 2, 3} {
			for _, batch := range []int{1, 3, 8, 9} {
				t.Run(fmt.Sprintf("%s/threads%d/batch%d", cfg.Arch, threads, batch), func(t *testing.T) {
					m.SetThreads(threads)
					out := make([]float32, batch*classes)
					for i := range out {
						out[i] = float32(math.NaN()) // every output must be written
					}
					for range 2 {
						if err := m.Run(in[:batch*per], batch, out); err != nil {
							t.Fatal(err)
						}
					}
					for i, v := range out {
						want := alone[i]
						if d := math.Abs(float64(v - want)); !(d <= 1e-5*(1+math.Abs(float64(want)))) {
							t.Fatalf("image %d output %d = %g, alone %g", i/classes, i%classes, v, want)
						}
					}
				})
			}
		}
	}
}

// TestTeamHelpsBatched runs uneven batches on 2 threads, so that one
// worker runs out of sub-batches while the other still has one: the idle
// worker must take chunks of the other's operators, and every image must
// still come out as it does alone.
func TestTeamHelpsBatched(t *testing.T) {
	g, err := modelgen.MobileNet(modelgen.Config{Arch: "v1", Width: 0.5, Size: 96, Classes: 37, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	m, err := tflite.Load(g.TFLite())
	if err != nil {
		t.Fatal(err)
	}
	h, w, c := m.InputShape()
	per, classes := h*w*c, m.NumClasses()
	const batch = 9 // sub-batches of 4, 4 and 1
	rng := rand.New(rand.NewPCG(7, 8))
	in := make([]float32, batch*per)
	for i := range in {
		in[i] = rng.Float32()*2 - 1
	}
	alone := make([]float32, batch*classes)
	m.SetThreads(1)
	for i := range batch {
		if err := m.Run(in[i*per:(i+1)*per], 1, alone[i*classes:(i+1)*classes]); err != nil {
			t.Fatal(err)
		}
	}
	m.SetThreads(2)
	out := make([]float32, batch*classes)
	helped := graph.HelpedChunks()
	for run := 0; run < 50 && graph.HelpedChunks() == helped; run++ {
		for i := range out {
			out[i] = float32(math.NaN())
		}
		if err := m.Run(in, batch, out); err != nil {
			t.Fatal(err)
		}
		for i, v := range out {
			want := alone[i]
			if d := math.Abs(float64(v - want)); !(d <= 1e-5*(1+math.Abs(float64(want)))) {
				t.Fatalf("run %d: image %d output %d = %g, alone %g", run, i/classes, i%classes, v, want)
			}
		}
	}
	if graph.HelpedChunks() == helped {
		t.Fatal("in 50 runs of 9 images on 2 threads, no worker helped the other")
	}
	defer graph.SetTeamHelp(false)()
	helped = graph.HelpedChunks()
	for range 3 {
		if err := m.Run(in, batch, out); err != nil {
			t.Fatal(err)
		}
	}
	if graph.HelpedChunks() != helped {
		t.Fatal("workers helped each other with CSPIPE_TEAM off")
	}
}
