package graph_test

import (
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// The model-level side of the A/B harness (abbench.Alternate): whole
// models run on the same input, either two plans of one network or one
// plan with a switch flipped before every run.

// loadModel plans the random-weight network cfg from its TFLite encoding.
func loadModel(b *testing.B, cfg modelgen.Config) *graph.Model {
	b.Helper()
	g, err := modelgen.MobileNet(cfg)
	if err != nil {
		b.Fatal(err)
	}
	m, err := tflite.Load(g.TFLite())
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// loadTwoPlans plans the random-weight network cfg from its TFLite encoding
// twice: as the planner does by default ("newer") and with one of its
// switches turned for the second load only (off turns it and returns the
// restore), for benchAlternate.
func loadTwoPlans(b *testing.B, cfg modelgen.Config, off func() func()) (newer, older *graph.Model) {
	b.Helper()
	g, err := modelgen.MobileNet(cfg)
	if err != nil {
		b.Fatal(err)
	}
	model := g.TFLite()
	if newer, err = tflite.Load(model); err != nil {
		b.Fatal(err)
	}
	restore := off()
	older, err = tflite.Load(model)
	restore()
	if err != nil {
		b.Fatal(err)
	}
	return newer, older
}

// abInput is batch images of m's input shape, pseudo-random in [-1, 1):
// the same input for every A/B benchmark.
func abInput(m *graph.Model, batch int) []float32 {
	h, w, c := m.InputShape()
	rng := rand.New(rand.NewPCG(1, 2))
	in := make([]float32, batch*h*w*c)
	for i := range in {
		in[i] = rng.Float32()*2 - 1
	}
	return in
}

// switchSides are the two sides of one model m run at batch with set(true)
// (onName, side 0) and set(false) (offName, side 1) before every run.
func switchSides(b *testing.B, m *graph.Model, batch int, set func(bool), onName, offName string) []abbench.Side {
	in, out := abInput(m, batch), make([]float32, batch*m.NumClasses())
	return []abbench.Side{
		graph.ABModelSide(b, onName, m, batch, in, out, func() { set(true) }),
		graph.ABModelSide(b, offName, m, batch, in, out, func() { set(false) }),
	}
}

// benchAlternate runs two plans of one network on one thread, batch images
// of the same pseudo-random input per run, in turns (the order swapped
// every pair, so both meet the same load) by the wall clock, and reports
// each one's fastest and median time per image ("NAME-best-ms/img",
// "NAME-med-ms/img") and the median over the pairs of the old plan's time
// over the new one's ("speedup-med"). before, when not nil, is called
// ahead of every run with the model about to run (for switches the plans
// read while running).
func benchAlternate(b *testing.B, batch int, newName string, newer *graph.Model, oldName string, older *graph.Model, before func(*graph.Model)) {
	in, out := abInput(newer, batch), make([]float32, batch*newer.NumClasses())
	side := func(name string, m *graph.Model) abbench.Side {
		m.SetThreads(1)
		var setup func()
		if before != nil {
			setup = func() { before(m) }
		}
		return graph.ABModelSide(b, name, m, batch, in, out, setup)
	}
	t := abbench.Alternate(b, abbench.Wall, side(newName, newer), side(oldName, older))
	t.Report(b, 0, abbench.Best, 1e3/float64(batch), "%s-best-ms/img")
	t.Report(b, 0, abbench.Med, 1e3/float64(batch), "%s-med-ms/img")
	b.ReportMetric(abbench.Med(t.Ratios(0, 1, 0)), "speedup-med")
}

// switchAB runs m on one thread at the given batch with set(true) ("new")
// and set(false) ("old") in turns (the order swapped every pair) on the
// thread's CPU clock and reports the median thread CPU time per image of
// each ("new-cpu-ms/img", "old-cpu-ms/img") and the quartiles of the
// per-pair ratios old/new ("speedup-q1", "-med", "-q3"). set(true) is
// restored at the end.
func switchAB(b *testing.B, m *graph.Model, batch int, set func(bool)) {
	defer set(true)
	m.SetThreads(1)
	t := abbench.Alternate(b, abbench.ThreadCPU, switchSides(b, m, batch, set, "new", "old")...)
	t.Report(b, 0, abbench.Med, 1e3/float64(batch), "%s-cpu-ms/img")
	abbench.ReportQuartiles(b, t.Ratios(0, 1, 0), "speedup")
}
