package tflite_test

import (
	"fmt"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/oracle"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// TestOracles runs generated MobileNets in the engine, in ONNX Runtime and
// in TFLite's own interpreter (wasm) on the same random images, and checks
// max relative error and the top-5 classes.
func TestOracles(t *testing.T) {
	oracle.Require(t)
	type oracleCase struct {
		name  string
		seed  uint64
		build func() (*modelgen.Graph, error)
	}
	var cases []oracleCase
	for _, cfg := range []modelgen.Config{
		{Arch: "v1", Width: 0.25, Size: 128, Classes: 32, Seed: 11},
		{Arch: "v1", Width: 0.25, Size: 160, Classes: 32, Seed: 12},
		{Arch: "v1", Width: 0.5, Size: 128, Classes: 32, Seed: 13},
		{Arch: "v1", Width: 0.5, Size: 160, Classes: 32, Seed: 14},
		{Arch: "v2", Width: 0.35, Size: 128, Classes: 32, Seed: 15},
		{Arch: "v3-small", Width: 0.5, Size: 96, Classes: 32, Seed: 17},
		{Arch: "v3-large", Width: 0.5, Size: 112, Classes: 32, Seed: 18},
		{Arch: "efficientnet-lite0", Width: 0.5, Size: 112, Classes: 32, Seed: 19},
		{Arch: "resnet50-v1", Width: 0.25, Size: 96, Classes: 32, Seed: 20},
		{Arch: "resnet50-v2", Width: 0.25, Size: 96, Classes: 32, Seed: 21},
	} {
		cases = append(cases, oracleCase{fmt.Sprintf("%s_%g_%d", cfg.Arch, cfg.Width, cfg.Size), cfg.Seed,
			func() (*modelgen.Graph, error) { return modelgen.MobileNet(cfg) }})
	}
	cases = append(cases, oracleCase{"mixed_ops", 16, func() (*modelgen.Graph, error) { return mixedGraph(), nil }},
		oracleCase{"activations_concat_broadcast", 22, func() (*modelgen.Graph, error) { return activationGraph(), nil }})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g, err := tc.build()
			if err != nil {
				t.Fatal(err)
			}
			checkOracles(t, g, tc.seed)
		})
	}
}

// checkOracles runs g in the engine (from its TFLite encoding), in TFLite's
// interpreter and in ONNX Runtime (from its ONNX encoding) on two random
// images and compares.
func checkOracles(t *testing.T, g *modelgen.Graph, seed uint64) {
	tfl := g.TFLite()
	onnx, err := g.ONNX()
	if err != nil {
		t.Fatal(err)
	}
	m, err := tflite.Load(tfl)
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
	oracle.Compare(t, "tflite interpreter", got, oracle.Run(t, oracle.TFLite, tfl, in, batch), batch)
	oracle.Compare(t, "onnx runtime", got, oracle.Run(t, oracle.ORT, onnx, in, batch), batch)
}

// mixedGraph exercises what MobileNets do not: odd and non-square sizes,
// 5x5 stride-2 convolution, depth multiplier 2, max and SAME-padded average
// pooling, ADD with fused ReLU, MEAN keeping dims, RESHAPE and FULLY_CONNECTED.
func mixedGraph() *modelgen.Graph {
	g := modelgen.NewGraph(11, 13, 4, 5)
	x := g.Conv(g.Input, 12, 5, 2, tflite.PaddingSame, tflite.ActRelu, 1.4)
	x = g.Depthwise(x, 3, 2, 2, tflite.PaddingSame, tflite.ActRelu6, 1.4)
	a := g.Pool(x, true, 3, 1, tflite.PaddingSame)
	b := g.Pool(x, false, 3, 1, tflite.PaddingSame)
	x = g.Add(a, b)
	g.Ops[len(g.Ops)-1].Act = tflite.ActRelu
	x = g.Pad(x, 1, 0, 2, 1)
	x = g.Depthwise(x, 3, 1, 1, tflite.PaddingValid, tflite.ActNone, 1.0)
	x = g.Conv(x, 16, 1, 1, tflite.PaddingValid, tflite.ActRelu6, 1.4)
	x = g.SpatialMean(x, true)
	x = g.Reshape(x, []int{1, 16})
	x = g.FullyConnected(x, 10, 3)
	g.Softmax(x)
	return g
}

// activationGraph exercises the elementwise operators: every standalone
// activation, fused RELU_N1_TO_1, CONCATENATION of activations along the
// channels, MUL and ADD broadcasting a scalar, a per-channel constant and a
// [1,1,1,C] activation, MEAN over the channels and over height only.
func activationGraph() *modelgen.Graph {
	g := modelgen.NewGraph(10, 12, 3, 6)
	x := g.Conv(g.Input, 8, 3, 1, tflite.PaddingSame, tflite.ActNone, 2)
	a := g.Unary(x, tflite.OpHardSwish)
	b := g.Unary(x, tflite.OpLogistic)
	c := g.LeakyRelu(x, 0.2)
	d := g.Unary(x, tflite.OpRelu6)
	e := g.Unary(x, tflite.OpReluN1To1)
	f := g.Unary(x, tflite.OpRelu)
	x = g.Concat(3, a, b, c, d, e, f) // 48 channels
	x = g.Mul(x, g.RandomConst([]int{48}, 1, 0.3))
	x = g.Add(x, g.RandomConst(nil, 0.2, 0))
	gate := g.HardSigmoid(g.SpatialMean(x, true))
	x = g.Mul(x, gate)
	x = g.Depthwise(x, 5, 2, 1, tflite.PaddingSame, tflite.ActReluN1To1, 1.4)
	m := g.Mean(x, []int{3}, true) // [1 5 6 1]
	x = g.Add(x, m)
	x = g.Mean(x, []int{1}, true) // [1 1 6 48]
	x = g.Conv(x, 16, 1, 1, tflite.PaddingValid, tflite.ActRelu, 1.4)
	x = g.SpatialMean(x, false)
	x = g.FullyConnected(x, 10, 4)
	g.Softmax(x)
	return g
}
