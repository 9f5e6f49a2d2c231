package onnx_test

import (
	"fmt"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/onnx"
	"github.com/cspipe/cspipe/internal/inference/oracle"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// TestOracles runs generated models from their ONNX encoding in the engine
// and in ONNX Runtime on the same random images, in the spellings exporters
// use: NHWC input with a Transpose (tf2onnx) or NCHW input (PyTorch), batch
// normalization left unfolded, GlobalAveragePool and Flatten, HardSigmoid.
func TestOracles(t *testing.T) {
	oracle.Require(t)
	pytorch := modelgen.ONNXOptions{GlobalPool: true, BatchNorm: true, NCHWInput: true, HardSigmoid: true}
	cases := []struct {
		cfg  modelgen.Config
		opts modelgen.ONNXOptions
	}{
		{modelgen.Config{Arch: "v1", Width: 0.25, Size: 128, Classes: 32, Seed: 31}, modelgen.ONNXOptions{}},
		{modelgen.Config{Arch: "v2", Width: 0.35, Size: 96, Classes: 32, Seed: 32}, pytorch},
		// At 224 the first expansions run inside their depthwise convolutions.
		{modelgen.Config{Arch: "v2", Width: 0.5, Size: 224, Classes: 32, Seed: 38}, pytorch},
		{modelgen.Config{Arch: "v3-small", Width: 0.5, Size: 96, Classes: 32, Seed: 33}, pytorch},
		{modelgen.Config{Arch: "v3-large", Width: 0.5, Size: 96, Classes: 32, Seed: 34}, modelgen.ONNXOptions{}},
		{modelgen.Config{Arch: "efficientnet-lite0", Width: 0.5, Size: 96, Classes: 32, Seed: 35}, pytorch},
		{modelgen.Config{Arch: "resnet50-v1", Width: 0.25, Size: 96, Classes: 32, Seed: 36}, pytorch},
		{modelgen.Config{Arch: "resnet50-v2", Width: 0.25, Size: 96, Classes: 32, Seed: 37}, modelgen.ONNXOptions{GlobalPool: true}},
	}
	for _, tc := range cases {
		name := fmt.Sprintf("%s_%g_%d_%+v", tc.cfg.Arch, tc.cfg.Width, tc.cfg.Size, tc.opts)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			g, err := modelgen.MobileNet(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			check(t, g, tc.opts, tc.cfg.Seed)
		})
	}
	t.Run("activations", func(t *testing.T) {
		t.Parallel()
		check(t, activationGraph(), modelgen.ONNXOptions{NCHWInput: true, HardSigmoid: true}, 40)
	})
}

func check(t *testing.T, g *modelgen.Graph, opts modelgen.ONNXOptions, seed uint64) {
	b, err := g.ONNXWith(opts)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	const batch = 2
	h, w, c := m.InputShape()
	in := oracle.RandomImages(seed, batch*h*w*c)
	got := make([]float32, batch*m.NumClasses())
	if err := m.Run(in, batch, got); err != nil {
		t.Fatal(err)
	}
	rt := oracle.ORT
	if opts.NCHWInput {
		rt = oracle.ORTNCHW
	}
	if opts.BatchNorm {
		oracle.Compare(t, "onnx runtime (batch norm folded)", got, oracle.RunORTFolded(t, rt, b, in, batch), batch)
		return
	}
	oracle.Compare(t, "onnx runtime", got, oracle.Run(t, rt, b, in, batch), batch)
}

// activationGraph covers the elementwise operators and CONCATENATION.
func activationGraph() *modelgen.Graph {
	g := modelgen.NewGraph(10, 12, 3, 6)
	x := g.Conv(g.Input, 8, 3, 1, tflite.PaddingSame, tflite.ActNone, 2)
	a := g.Unary(x, tflite.OpHardSwish)
	b := g.Unary(x, tflite.OpLogistic)
	c := g.LeakyRelu(x, 0.2)
	d := g.Unary(x, tflite.OpRelu6)
	e := g.Unary(x, tflite.OpReluN1To1)
	x = g.Concat(3, a, b, c, d, e)
	x = g.Mul(x, g.RandomConst([]int{40}, 1, 0.3))
	x = g.Add(x, g.RandomConst(nil, 0.2, 0))
	x = g.Mul(x, g.HardSigmoid(g.SpatialMean(x, true)))
	x = g.Depthwise(x, 5, 2, 1, tflite.PaddingSame, tflite.ActReluN1To1, 1.4)
	x = g.Add(x, g.Mean(x, []int{3}, true))
	x = g.Pool(x, false, 3, 2, tflite.PaddingSame)
	x = g.Conv(x, 16, 1, 1, tflite.PaddingValid, tflite.ActRelu, 1.4)
	x = g.SpatialMean(x, false)
	x = g.FullyConnected(x, 10, 4)
	g.Softmax(x)
	return g
}
