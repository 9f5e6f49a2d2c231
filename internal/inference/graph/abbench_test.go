package graph_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// loadTwoPlans plans the random-weight network cfg from its TFLite encoding
// twice: as the planner does by default ("newer") and with one of its
// switches turned for the second load only (off turns it and returns the
// restore), for benchAlternate.
func loadTwoPlans(b *testing.B, cfg modelgen.Config, off func() func()) (newer, older *graph.Model) {
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

// benchAlternate runs two plans of one network on one thread, batch images
// of the same pseudo-random input per run, in turns (the order swapped
// every pair, so both meet the same load), and reports each one's fastest
// and median time per image ("NAME-best-ms/img", "NAME-med-ms/img") and
// the median over the pairs of the old plan's time over the new one's
// ("speedup-med"). before, when not nil, is called ahead of every run with
// the model about to run (for switches the plans read while running).
func benchAlternate(b *testing.B, batch int, newName string, newer *graph.Model, oldName string, older *graph.Model, before func(*graph.Model)) {
	h, w, c := newer.InputShape()
	rng := rand.New(rand.NewPCG(1, 2))
	in := make([]float32, batch*h*w*c)
	for i := range in {
		in[i] = rng.Float32()*2 - 1
	}
	out := make([]float32, batch*newer.NumClasses())
	run := func(m *graph.Model) float64 {
		if before != nil {
			before(m)
		}
		start := time.Now()
		if err := m.Run(in, batch, out); err != nil {
			b.Fatal(err)
		}
		return time.Since(start).Seconds() / float64(batch)
	}
	for _, m := range []*graph.Model{newer, older} {
		m.SetThreads(1)
		run(m) // allocate the workspace
	}
	var tn, to, ratios []float64
	for i := 0; b.Loop(); i++ {
		var n, o float64
		if i%2 == 0 {
			n, o = run(newer), run(older)
		} else {
			o, n = run(older), run(newer)
		}
		tn, to, ratios = append(tn, n), append(to, o), append(ratios, o/n)
	}
	for _, s := range [][]float64{tn, to, ratios} {
		slices.Sort(s)
	}
	b.ReportMetric(tn[0]*1e3, newName+"-best-ms/img")
	b.ReportMetric(to[0]*1e3, oldName+"-best-ms/img")
	b.ReportMetric(tn[len(tn)/2]*1e3, newName+"-med-ms/img")
	b.ReportMetric(to[len(to)/2]*1e3, oldName+"-med-ms/img")
	b.ReportMetric(ratios[len(ratios)/2], "speedup-med")
}
