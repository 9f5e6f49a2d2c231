package tflite_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/errclass"
	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// tinyGraph is a small valid model: conv, depthwise, pool, mean, FC, softmax.
func tinyGraph() *modelgen.Graph {
	g := modelgen.NewGraph(9, 9, 3, 1)
	x := g.Conv(g.Input, 8, 3, 2, tflite.PaddingSame, tflite.ActRelu6, 1.4)
	x = g.Depthwise(x, 3, 1, 1, tflite.PaddingSame, tflite.ActRelu, 1.4)
	x = g.Pool(x, true, 2, 1, tflite.PaddingSame)
	x = g.SpatialMean(x, false)
	x = g.FullyConnected(x, 4, 1)
	g.Softmax(x)
	return g
}

func TestLoadRejects(t *testing.T) {
	valid := tinyGraph().TFLite()
	mutate := func(f func(g *modelgen.Graph)) []byte {
		g := tinyGraph()
		f(g)
		return g.TFLite()
	}
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"identifier", append([]byte("\x10\x00\x00\x00XXXX"), valid[8:]...), "not a TFLite file"},
		{"truncated", valid[:len(valid)/2], "outside"},
		{"unsupported op", mutate(func(g *modelgen.Graph) { g.Ops[2].Code = 28 }), "unsupported operator TANH"},
		{"unsupported activation", mutate(func(g *modelgen.Graph) { g.Ops[0].Act = 4 }), "unsupported fused activation TANH"},
		{"unsupported padding", mutate(func(g *modelgen.Graph) { g.Ops[0].Padding = 7 }), "unsupported padding 7"},
		{"shape mismatch", mutate(func(g *modelgen.Graph) { g.Tensors[g.Ops[0].Outputs[0]].Shape[3] = 9 }), "declared with shape [1 5 5 9], computed [1 5 5 8]"},
		{"bad input index", mutate(func(g *modelgen.Graph) { g.Ops[1].Inputs[0] = 999 }), "tensor index 999"},
		{"use before compute", mutate(func(g *modelgen.Graph) { g.Ops[0].Inputs[0] = g.Ops[1].Outputs[0] }), "used before it is computed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tflite.Load(tc.b)
			if err == nil {
				t.Fatalf("Load accepted the model, want error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if !errclass.IsPermanent(err) {
				t.Errorf("error %v is not permanent", err)
			}
		})
	}
}

func TestLoadEveryTruncation(t *testing.T) {
	valid := tinyGraph().TFLite()
	for n := 0; n < len(valid); n += 7 {
		if _, err := tflite.Load(valid[:n]); err == nil {
			// A prefix can only load if it still holds the whole model.
			t.Logf("prefix of %d/%d bytes loaded", n, len(valid))
		}
	}
}

func TestRunChecksLengths(t *testing.T) {
	m, err := tflite.Load(tinyGraph().TFLite())
	if err != nil {
		t.Fatal(err)
	}
	h, w, c := m.InputShape()
	if h != 9 || w != 9 || c != 3 || m.NumClasses() != 4 {
		t.Fatalf("shape %d %d %d classes %d", h, w, c, m.NumClasses())
	}
	err = m.Run(make([]float32, 10), 1, make([]float32, 4))
	if !errors.Is(err, graph.ErrShape) {
		t.Errorf("Run with short input: %v, want ErrShape", err)
	}
	err = m.Run(make([]float32, 2*9*9*3), 2, make([]float32, 4))
	if !errors.Is(err, graph.ErrShape) {
		t.Errorf("Run with short output: %v, want ErrShape", err)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(tinyGraph().TFLite())
	// The converter forms (forms_test.go): float16 and int8 weights behind
	// DEQUANTIZE, Keras's shape chain, weights past the flatbuffer.
	half, _ := modelgen.Float16Weights(tinyGraph())
	f.Add(half.TFLite())
	q, _ := modelgen.Int8Weights(tinyGraph())
	f.Add(q.TFLiteWith(modelgen.TFLiteOptions{ExternalBuffers: true, SignatureDef: true}))
	k := modelgen.NewGraph(5, 4, 2, 3)
	k.Softmax(k.FullyConnected(k.KerasFlatten(k.Conv(k.Input, 3, 3, 2, tflite.PaddingSame, tflite.ActRelu, 1)), 4, 1))
	f.Add(k.TFLite())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := tflite.Load(b)
		if err != nil {
			return
		}
		h, w, c := m.InputShape()
		if tflite.Work(m) > 1<<22 {
			return // valid but too slow to run on every fuzz input
		}
		if err := m.Run(make([]float32, h*w*c), 1, make([]float32, m.NumClasses())); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFixtureLoads(t *testing.T) {
	b, err := os.ReadFile("../../../testdata/models/mobilenet_v1_0.25_128_c10.tflite")
	if err != nil {
		t.Fatal(err)
	}
	m, err := tflite.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	h, w, c := m.InputShape()
	if h != 128 || w != 128 || c != 3 || m.NumClasses() != 10 {
		t.Fatalf("fixture shape %dx%dx%d classes %d, want 128x128x3 and 10", h, w, c, m.NumClasses())
	}
}

// TestLoadRefusesWeightReuseBlowup: many operators sharing one weight tensor
// must not make Load allocate a packed copy for each beyond a budget.
func TestLoadRefusesWeightReuseBlowup(t *testing.T) {
	g := modelgen.NewGraph(1, 1, 512, 1)
	x := g.Conv(g.Input, 512, 1, 1, tflite.PaddingValid, tflite.ActNone, 1)
	first := g.Ops[0]
	for i := 0; i < 200; i++ {
		g.Tensors = append(g.Tensors, modelgen.Tensor{Name: fmt.Sprintf("shared%d", i), Shape: []int{1, 1, 1, 512}})
		y := len(g.Tensors) - 1
		op := first
		op.Inputs = []int{x, first.Inputs[1], first.Inputs[2]}
		op.Outputs = []int{y}
		g.Ops = append(g.Ops, op)
		x = y
	}
	g.Softmax(x)
	b := g.TFLite()
	_, err := tflite.Load(b)
	if err == nil || !strings.Contains(err.Error(), "packed floats") {
		t.Fatalf("Load of %d bytes with 200 operators on one 512x512 weight: err %v, want packed-floats budget error", len(b), err)
	}
}
