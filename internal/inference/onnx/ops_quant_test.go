package onnx_test

import (
	"math"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/onnx"
	"github.com/cspipe/cspipe/internal/inference/oracle"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// TestQDQOperatorsMatchORT runs one quantized operator at a time (after a
// convolution that makes its input) against ONNX Runtime running the QDQ
// graph as written: every output equal, except the average pool with SAME
// padding, whose float reference lands either side of a tie (within one
// quantum). The depthwise convolution fails this without ORT's single
// rounding (Node.ORTRounding).
func TestQDQOperatorsMatchORT(t *testing.T) {
	oracle.Require(t)
	mk := map[string]func() *modelgen.Graph{
		"conv": func() *modelgen.Graph {
			g := modelgen.NewGraph(16, 16, 8, 7)
			g.Output = g.Conv(g.Input, 16, 3, 1, tflite.PaddingSame, tflite.ActNone, 1.4)
			return g
		},
		"dw": func() *modelgen.Graph {
			g := modelgen.NewGraph(16, 16, 8, 7)
			x := g.Conv(g.Input, 16, 1, 1, tflite.PaddingSame, tflite.ActNone, 1.4)
			g.Output = g.Depthwise(x, 3, 1, 1, tflite.PaddingSame, tflite.ActNone, 1.4)
			return g
		},
		"add": func() *modelgen.Graph {
			g := modelgen.NewGraph(16, 16, 8, 7)
			a := g.Conv(g.Input, 16, 1, 1, tflite.PaddingSame, tflite.ActNone, 1.4)
			b := g.Conv(g.Input, 16, 1, 1, tflite.PaddingSame, tflite.ActNone, 1.0)
			g.Output = g.Add(a, b)
			return g
		},
		"mul": func() *modelgen.Graph {
			g := modelgen.NewGraph(16, 16, 8, 7)
			a := g.Conv(g.Input, 16, 1, 1, tflite.PaddingSame, tflite.ActNone, 1.4)
			b := g.Conv(g.Input, 16, 1, 1, tflite.PaddingSame, tflite.ActNone, 1.0)
			g.Output = g.Mul(a, b)
			return g
		},
		"mean": func() *modelgen.Graph {
			g := modelgen.NewGraph(16, 16, 8, 7)
			a := g.Conv(g.Input, 16, 1, 1, tflite.PaddingSame, tflite.ActNone, 1.4)
			g.Output = g.SpatialMean(a, true)
			return g
		},
		"avg": func() *modelgen.Graph {
			g := modelgen.NewGraph(16, 16, 8, 7)
			a := g.Conv(g.Input, 16, 1, 1, tflite.PaddingSame, tflite.ActNone, 1.4)
			g.Output = g.Pool(a, false, 3, 1, tflite.PaddingSame)
			return g
		},
		"fc": func() *modelgen.Graph {
			g := modelgen.NewGraph(4, 4, 8, 7)
			a := g.Conv(g.Input, 64, 4, 1, tflite.PaddingValid, tflite.ActNone, 1.4)
			a = g.Reshape(a, []int{1, 64})
			g.Output = g.FullyConnected(a, 64, 1)
			return g
		},
	}
	for name, f := range mk {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			g := f()
			q, quantum := quantized(t, g, 2)
			b, err := q.QDQ(modelgen.QDQOptions{})
			if err != nil {
				t.Fatal(err)
			}
			m, err := onnx.Load(b)
			if err != nil {
				t.Fatal(err)
			}
			const batch = 3
			h, w, c := m.InputShape()
			in := oracle.RandomImages(9, batch*h*w*c)
			got := make([]float32, batch*m.NumClasses())
			if err := m.Run(in, batch, got); err != nil {
				t.Fatal(err)
			}
			want := oracle.RunORTLevel(t, oracle.ORT, b, in, batch, "disabled")
			off, worst := 0, 0.0
			for i := range got {
				d := math.Abs(float64(got[i]-want[i])) / quantum
				if d > 0.01 {
					off++
				}
				worst = max(worst, d)
			}
			t.Logf("%d of %d outputs off ORT, worst %.2f quanta", off, len(got), worst)
			if worst > 1.001 || (name != "avg" && off > 0) {
				t.Errorf("%d of %d outputs off ORT, worst %.2f quanta", off, len(got), worst)
			}
		})
	}
}
