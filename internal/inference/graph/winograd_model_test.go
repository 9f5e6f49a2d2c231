package graph_test

import (
	"fmt"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/oracle"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// resnetModel plans ResNet-50 (arch resnet50-v1 or -v2, 224 pixels) of
// the width given with the Winograd setting given.
func resnetModel(tb testing.TB, arch string, width float64, on bool, variant int) *graph.Model {
	tb.Helper()
	g, err := modelgen.MobileNet(modelgen.Config{Arch: arch, Width: width, Size: 224, Classes: 1001, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	defer graph.SetWinograd(on, variant)()
	m, err := tflite.Load(g.TFLite())
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// TestResNetWinogradError runs ResNet-50 V1 and V2 at half width and 224
// pixels (the layers' sizes, and so their variants, of the full model) on the
// direct path and with every stride-1 3x3 layer on Winograd F(2×2, 3×3),
// on F(4×4, 3×3), and as planned, and requires each output within the
// oracles' tolerance of the direct path's and the same top-5; it logs the
// error each variant gives.
func TestResNetWinogradError(t *testing.T) {
	for _, arch := range []string{"resnet50-v1", "resnet50-v2"} {
		t.Run(arch, func(t *testing.T) {
			direct := resnetModel(t, arch, 0.5, false, 0)
			const batch = 2
			h, w, c := direct.InputShape()
			in := oracle.RandomImages(7, batch*h*w*c)
			run := func(m *graph.Model) []float32 {
				out := make([]float32, batch*m.NumClasses())
				if err := m.Run(in, batch, out); err != nil {
					t.Fatal(err)
				}
				return out
			}
			want := run(direct)
			for _, variant := range []int{2, 4, 0} {
				name := map[int]string{2: "F(2x2,3x3)", 4: "F(4x4,3x3)", 0: "as planned"}[variant]
				oracle.Compare(t, fmt.Sprintf("%s, direct path", name), run(resnetModel(t, arch, 0.5, true, variant)), want, batch)
			}
		})
	}
}

// BenchmarkResNetWinogradModel runs ResNet-50 V1 1.0@224 on one thread at
// batch 1 and 4 (a batch-8 worker's share on two threads) with the 3x3
// stride-1 layers on Winograd as planned ("wino") and on the direct paths
// ("direct"), alternating run by run (benchAlternate): each one's median
// time per image and the median of the per-pair ratios (direct over wino).
func BenchmarkResNetWinogradModel(b *testing.B) {
	wino := resnetModel(b, "resnet50-v1", 1, true, 0)
	direct := resnetModel(b, "resnet50-v1", 1, false, 0)
	for _, batch := range []int{1, 4} {
		b.Run(fmt.Sprintf("b%d", batch), func(b *testing.B) {
			benchAlternate(b, batch, "wino", wino, "direct", direct, nil)
		})
	}
}
