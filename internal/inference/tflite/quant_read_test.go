package tflite_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// TestReadQuantization: a tensor's quantization parameters reach the graph
// (per tensor and per channel), so quantized operators can use them.
func TestReadQuantization(t *testing.T) {
	g := tinyGraph()
	g.Tensors[g.Input].Quant = &modelgen.Quant{Scale: []float32{0.5}, ZeroPoint: []int64{-3}}
	w := g.Ops[0].Inputs[1]
	g.Tensors[w].Quant = &modelgen.Quant{Scale: []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}, ZeroPoint: make([]int64, 8)}
	gr, err := tflite.Read(g.TFLite())
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]*graph.Quant{
		g.Input: {Scale: []float32{0.5}, ZeroPoint: []int32{-3}},
		w:       {Scale: []float32{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}, ZeroPoint: make([]int32, 8)},
	}
	for i, tt := range gr.Tensors {
		if diff := cmp.Diff(want[i], tt.Quant); diff != "" {
			t.Errorf("tensor %d %q quantization (-want +got):\n%s", i, tt.Name, diff)
		}
	}
}
