package tflite_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/oracle"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// runFile loads a TFLite file and runs it on batch random images.
func runFile(t *testing.T, file []byte, seed uint64, batch int) []float32 {
	t.Helper()
	m, err := tflite.Load(file)
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

// formGraphs are the graphs each file form is written from.
func formGraphs(t *testing.T) map[string]*modelgen.Graph {
	t.Helper()
	v2, err := modelgen.MobileNet(modelgen.Config{Arch: "v2", Width: 0.35, Size: 64, Classes: 16, Seed: 41})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*modelgen.Graph{"tiny": tinyGraph(), "mixed_ops": mixedGraph(), "activations": activationGraph(), "v2": v2}
}

// TestFileForms: a model written the way real converters lay files out
// (weights past the flatbuffer by offset and size, a SignatureDef with
// metadata) computes exactly what its plain form computes.
func TestFileForms(t *testing.T) {
	for name, g := range formGraphs(t) {
		want := runFile(t, g.TFLite(), 3, 2)
		for _, o := range []struct {
			form string
			opts modelgen.TFLiteOptions
		}{
			{"external_buffers", modelgen.TFLiteOptions{ExternalBuffers: true}},
			{"signature_def", modelgen.TFLiteOptions{SignatureDef: true}},
			{"both", modelgen.TFLiteOptions{ExternalBuffers: true, SignatureDef: true}},
		} {
			t.Run(name+"/"+o.form, func(t *testing.T) {
				file := g.TFLiteWith(o.opts)
				if got := runFile(t, file, 3, 2); !slices.Equal(got, want) {
					t.Fatalf("outputs differ from the plain file")
				}
				if o.opts.ExternalBuffers {
					// Cut into the appended data: refused, naming the buffer.
					_, err := tflite.Load(file[:len(file)-3])
					if err == nil || !strings.Contains(err.Error(), "outside the") {
						t.Fatalf("truncated external data: %v", err)
					}
				}
			})
		}
	}
}

// TestFloat16Weights: float16-quantized files (FLOAT16 weights behind
// DEQUANTIZE) compute exactly what the float32 graph with the same rounded
// weights computes.
func TestFloat16Weights(t *testing.T) {
	for name, g := range formGraphs(t) {
		t.Run(name, func(t *testing.T) {
			half, rounded := modelgen.Float16Weights(g)
			if got, want := runFile(t, half.TFLite(), 4, 3), runFile(t, rounded.TFLite(), 4, 3); !slices.Equal(got, want) {
				t.Fatalf("float16 form differs from the rounded float32 graph")
			}
		})
	}
	// A FLOAT16 tensor read by anything but DEQUANTIZE is refused, naming
	// the type.
	half, _ := modelgen.Float16Weights(tinyGraph())
	conv := slices.IndexFunc(half.Ops, func(op modelgen.Op) bool { return op.Code == tflite.OpConv2D })
	deq := slices.IndexFunc(half.Ops, func(op modelgen.Op) bool { return op.Outputs[0] == half.Ops[conv].Inputs[1] })
	half.Ops[conv].Inputs[1] = half.Ops[deq].Inputs[0]
	if _, err := tflite.Load(half.TFLite()); err == nil || !strings.Contains(err.Error(), "FLOAT16") {
		t.Fatalf("FLOAT16 weights read directly: %v, want refused naming FLOAT16", err)
	}
}

// TestInt8WeightsDequantized: weight-only int8 files (INT8 per-channel
// weights behind DEQUANTIZE, float activations) compute exactly what the
// float32 graph with the dequantized weights computes.
func TestInt8WeightsDequantized(t *testing.T) {
	for name, g := range formGraphs(t) {
		t.Run(name, func(t *testing.T) {
			q, deq := modelgen.Int8Weights(g)
			if got, want := runFile(t, q.TFLite(), 5, 2), runFile(t, deq.TFLite(), 5, 2); !slices.Equal(got, want) {
				t.Fatalf("int8-weight form differs from the dequantized float32 graph")
			}
		})
	}
}

// TestHybridRefused: dynamic-range quantization (INT8 weights read
// directly by a float convolution) is refused, saying what to do.
func TestHybridRefused(t *testing.T) {
	q, _ := modelgen.Int8Weights(tinyGraph())
	// Drop the DEQUANTIZEs and let the operators read the INT8 weights.
	src := map[int]int{}
	var ops []modelgen.Op
	for _, op := range q.Ops {
		if op.Code == tflite.OpDequantize {
			src[op.Outputs[0]] = op.Inputs[0]
			continue
		}
		for k, ti := range op.Inputs {
			if s, ok := src[ti]; ok {
				op.Inputs[k] = s
			}
		}
		ops = append(ops, op)
	}
	q.Ops = ops
	_, err := tflite.Load(q.TFLite())
	if err == nil || !strings.Contains(err.Error(), "hybrid (dynamic-range) quantization") || !strings.Contains(err.Error(), "full-integer") {
		t.Fatalf("hybrid model: %v, want refused by name", err)
	}
}

// TestKerasFlatten: the SHAPE, STRIDED_SLICE, PACK chain Keras emits for a
// Flatten with a symbolic batch folds to the constant shape [1, -1]: the
// same numbers as a RESHAPE with that constant, and as TFLite's interpreter.
func TestKerasFlatten(t *testing.T) {
	build := func(keras bool) *modelgen.Graph {
		g := modelgen.NewGraph(9, 7, 3, 8)
		x := g.Conv(g.Input, 6, 3, 2, tflite.PaddingSame, tflite.ActRelu, 1.4)
		if keras {
			x = g.KerasFlatten(x)
		} else {
			x = g.Reshape(x, []int{1, -1})
			g.Tensors[x].Shape = []int{1, 5 * 4 * 6}
		}
		x = g.FullyConnected(x, 10, 2)
		g.Softmax(x)
		return g
	}
	keras := build(true).TFLite()
	got := runFile(t, keras, 6, 2)
	if want := runFile(t, build(false).TFLite(), 6, 2); !slices.Equal(got, want) {
		t.Fatalf("Keras flatten differs from RESHAPE [1 -1]")
	}
	oracle.Require(t)
	h, w, c := 9, 7, 3
	oracle.Compare(t, "tflite interpreter", got, oracle.Run(t, oracle.TFLite, keras, oracle.RandomImages(6, 2*h*w*c), 2), 2)
}

// TestInt8InputOutput: a full-integer model whose input and output are
// INT8 themselves (converted with inference_input_type=int8) takes float
// images quantized with the input's parameters and returns real values:
// the same numbers as its float-edged form.
func TestInt8InputOutput(t *testing.T) {
	g := modelgen.MixedQuantOps()
	s := g.Shape(g.Input)
	q, err := modelgen.Quantize(g, oracle.RandomImages(5, 4*s[1]*s[2]*s[3]), 4)
	if err != nil {
		t.Fatal(err)
	}
	want := runFile(t, q.TFLite(), 9, 2)
	first, last := q.Ops[0], q.Ops[len(q.Ops)-1]
	if first.Code != tflite.OpQuantize || last.Code != tflite.OpDequantize {
		t.Fatalf("quantized graph does not start with QUANTIZE and end with DEQUANTIZE")
	}
	q.Ops = q.Ops[1 : len(q.Ops)-1]
	q.Input, q.Output = first.Outputs[0], last.Inputs[0]
	if got := runFile(t, q.TFLite(), 9, 2); !slices.Equal(got, want) {
		t.Fatalf("INT8-edged form differs from the float-edged form")
	}
}

// TestSeveralSubgraphsRefused: a second subgraph (control flow) is refused
// with the reason.
func TestSeveralSubgraphsRefused(t *testing.T) {
	_, err := tflite.Load(tinyGraph().TFLiteWith(modelgen.TFLiteOptions{ExtraSubgraph: true}))
	if err == nil || !strings.Contains(err.Error(), "2 subgraphs") || !strings.Contains(err.Error(), "control flow") {
		t.Fatalf("two subgraphs: %v", err)
	}
}
