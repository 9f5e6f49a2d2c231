package onnx_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/onnx"
	"github.com/cspipe/cspipe/internal/inference/oracle"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// runONNX loads an ONNX model and runs it on batch random images.
func runONNX(t *testing.T, b []byte, seed uint64, batch int) []float32 {
	t.Helper()
	m, err := onnx.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	h, w, c := m.InputShape()
	out := make([]float32, batch*m.NumClasses())
	if err := m.Run(oracle.RandomImages(seed, batch*h*w*c), batch, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// flattenGraph reshapes a pooled [1 1 1 C] map to [1 C] before the
// classifier, the place exporters compute shapes, and also feeds a 4-D
// map straight to FULLY_CONNECTED (a Reshape to [-1 K] in ONNX).
func flattenGraph() *modelgen.Graph {
	g := modelgen.NewGraph(11, 9, 3, 7)
	x := g.Conv(g.Input, 12, 3, 2, tflite.PaddingSame, tflite.ActRelu6, 1.4)
	x = g.Depthwise(x, 3, 1, 1, tflite.PaddingSame, tflite.ActRelu, 1.4)
	x = g.SpatialMean(x, true)
	x = g.Reshape(x, []int{1, 12})
	x = g.FullyConnected(x, 10, 2)
	g.Softmax(x)
	return g
}

// TestExportForms: the spellings exporters write — the shape of a Reshape
// computed from Shape/Gather/Unsqueeze/Concat (PyTorch's
// x.view(x.size(0), -1) with a symbolic batch), small constants as
// Constant nodes, initializers repeated as graph inputs (before IR 4),
// float_data/int64_data instead of raw_data — load to exactly the numbers
// of the plain encoding, and the PyTorch flatten matches ONNX Runtime,
// which computes the shapes at run time with the real batch.
func TestExportForms(t *testing.T) {
	v2, err := modelgen.MobileNet(modelgen.Config{Arch: "v2", Width: 0.35, Size: 64, Classes: 16, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	graphs := map[string]*modelgen.Graph{"flatten": flattenGraph(), "activations": activationGraph(), "v2": v2}
	forms := map[string]modelgen.ONNXOptions{
		"torch_flatten":          {TorchFlatten: true},
		"constant_nodes":         {ConstantNodes: true},
		"initializers_as_inputs": {InitializersAsInputs: true},
		"typed_data":             {TypedData: true},
		"all":                    {TorchFlatten: true, ConstantNodes: true, InitializersAsInputs: true, TypedData: true},
	}
	for gname, g := range graphs {
		for _, base := range []modelgen.ONNXOptions{{}, {NCHWInput: true, GlobalPool: true}} {
			plain, err := g.ONNXWith(base)
			if err != nil {
				t.Fatal(err)
			}
			want := runONNX(t, plain, 8, 2)
			for fname, f := range forms {
				f.NCHWInput, f.GlobalPool = base.NCHWInput, base.GlobalPool
				t.Run(fmt.Sprintf("%s/%s/nchw=%v", gname, fname, base.NCHWInput), func(t *testing.T) {
					b, err := g.ONNXWith(f)
					if err != nil {
						t.Fatal(err)
					}
					if slices.Equal(b, plain) && !(fname == "torch_flatten" && gname == "activations") { // no Reshape there
						t.Fatalf("the form wrote the plain encoding")
					}
					if got := runONNX(t, b, 8, 2); !slices.Equal(got, want) {
						t.Fatalf("outputs differ from the plain encoding")
					}
				})
			}
		}
	}
	t.Run("oracle", func(t *testing.T) {
		oracle.Require(t)
		all := forms["all"]
		all.NCHWInput = true
		b, err := flattenGraph().ONNXWith(all)
		if err != nil {
			t.Fatal(err)
		}
		const batch = 3
		in := oracle.RandomImages(9, batch*11*9*3)
		m, err := onnx.Load(b)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, batch*m.NumClasses())
		if err := m.Run(in, batch, got); err != nil {
			t.Fatal(err)
		}
		oracle.Compare(t, "onnx runtime", got, oracle.Run(t, oracle.ORTNCHW, b, in, batch), batch)
	})
}
