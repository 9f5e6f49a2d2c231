package modelgen

import "github.com/cspipe/cspipe/internal/inference/tflite"

// QuantCases are the small models the int8 oracle tests of both readers
// run (TFLite's and ONNX's, through Quantize and QDQ): MobileNet V1 0.25@64
// and V2 0.35@64 with 32 classes, and MixedQuantOps under "mixed_ops".
func QuantCases() (map[string]*Graph, error) {
	out := map[string]*Graph{}
	for name, cfg := range map[string]Config{
		"v1_0.25_64": {Arch: "v1", Width: 0.25, Size: 64, Classes: 32, Seed: 31},
		"v2_0.35_64": {Arch: "v2", Width: 0.35, Size: 64, Classes: 32, Seed: 32},
	} {
		g, err := MobileNet(cfg)
		if err != nil {
			return nil, err
		}
		out[name] = g
	}
	out["mixed_ops"] = MixedQuantOps()
	return out, nil
}

// MixedQuantOps is a graph of what the MobileNets do not have: a 5x5
// stride-2 convolution, depth multiplier 2, max and average pooling with
// SAME padding, ADD with a fused ReLU, PAD, CONCATENATION of differently
// scaled inputs, MUL, MEAN keeping dims, RESHAPE and FULLY_CONNECTED. It
// ends in logits, so that one quantum is a real tolerance.
func MixedQuantOps() *Graph {
	g := NewGraph(11, 13, 4, 7)
	x := g.Conv(g.Input, 12, 5, 2, tflite.PaddingSame, tflite.ActRelu, 1.4)
	x = g.Depthwise(x, 3, 2, 2, tflite.PaddingSame, tflite.ActRelu6, 1.4)
	a := g.Pool(x, true, 3, 1, tflite.PaddingSame)
	b := g.Pool(x, false, 3, 1, tflite.PaddingSame)
	x = g.Add(a, b)
	g.Ops[len(g.Ops)-1].Act = tflite.ActRelu
	x = g.Pad(x, 1, 0, 2, 1)
	y := g.Depthwise(x, 3, 1, 1, tflite.PaddingValid, tflite.ActNone, 1.0)
	z := g.Conv(x, 8, 3, 1, tflite.PaddingValid, tflite.ActNone, 1.0)
	x = g.Concat(3, y, z)
	x = g.Mul(x, g.Conv(x, 32, 1, 1, tflite.PaddingSame, tflite.ActRelu6, 1.4))
	x = g.SpatialMean(x, true)
	x = g.Reshape(x, []int{1, 32})
	g.Output = g.FullyConnected(x, 10, 3)
	return g
}
