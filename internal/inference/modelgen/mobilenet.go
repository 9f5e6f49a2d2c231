package modelgen

import (
	"fmt"
	"math"

	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// Config selects a random-weight model.
type Config struct {
	Arch    string  // one of Archs
	Width   float64 // depth multiplier α, 0.25 to 1.0
	Size    int     // input height and width, 32 to 224
	Classes int
	Seed    uint64
}

func sqrt(v float64) float64 { return math.Sqrt(v) }

// Archs are the architectures MobileNet builds.
var Archs = []string{"v1", "v2", "v3-small", "v3-large", "efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2",
	"efficientnet-lite3", "efficientnet-lite4", "resnet50-v1", "resnet50-v2"}

// MobileNet builds the graph for cfg (any of Archs, despite the name).
func MobileNet(cfg Config) (*Graph, error) {
	if cfg.Width < 0.25 || cfg.Width > 1.0 {
		return nil, fmt.Errorf("width %g outside 0.25..1.0", cfg.Width)
	}
	if cfg.Size < 32 || cfg.Size > 320 {
		return nil, fmt.Errorf("size %d outside 32..320", cfg.Size)
	}
	if cfg.Classes < 1 || cfg.Classes > 100000 {
		return nil, fmt.Errorf("classes %d outside 1..100000", cfg.Classes)
	}
	switch cfg.Arch {
	case "v1":
		return mobileNetV1(cfg), nil
	case "v2":
		return mobileNetV2(cfg), nil
	case "v3-small", "v3-large":
		return mobileNetV3(cfg), nil
	case "efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2", "efficientnet-lite3", "efficientnet-lite4":
		return efficientNetLite(cfg, int(cfg.Arch[len(cfg.Arch)-1]-'0')), nil
	case "resnet50-v1":
		return resNet50V1(cfg), nil
	case "resnet50-v2":
		return resNet50V2(cfg), nil
	}
	return nil, fmt.Errorf("unknown arch %q (want one of %v)", cfg.Arch, Archs)
}

// Gains keep activations O(1) through ReLU6 layers (He) and linear layers.
const (
	reluGain   = math.Sqrt2
	linearGain = 1.0
	// logitGain spreads the logits enough that softmax is not flat; after
	// average pooling V1's features vary less, hence its larger gain.
	logitGain   = 2.0
	logitGainV1 = 10.0
)

// mobileNetV1 follows the published V1 layout: a stride-2 3x3 convolution,
// 13 depthwise-separable blocks, average pooling, a 1x1 convolution to the
// classes, squeeze and softmax.
func mobileNetV1(cfg Config) *Graph {
	depth := func(c int) int { return max(int(float64(c)*cfg.Width), 8) }
	g := NewGraph(cfg.Size, cfg.Size, 3, cfg.Seed)
	x := g.Conv(g.Input, depth(32), 3, 2, tflite.PaddingSame, tflite.ActRelu6, reluGain)
	blocks := []struct{ c, s int }{
		{64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},
		{512, 1}, {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1},
	}
	for _, b := range blocks {
		x = g.Depthwise(x, 3, b.s, 1, tflite.PaddingSame, tflite.ActRelu6, reluGain)
		x = g.Conv(x, depth(b.c), 1, 1, tflite.PaddingSame, tflite.ActRelu6, reluGain)
	}
	s := g.Shape(x)
	x = g.Pool(x, false, s[1], 1, tflite.PaddingValid)
	x = g.Conv(x, cfg.Classes, 1, 1, tflite.PaddingSame, tflite.ActNone, logitGainV1)
	x = g.Squeeze(x, []int{1, 2})
	g.Softmax(x)
	return g
}

// makeDivisible rounds channels as the V2 reference does: to a multiple of
// 8, never below 90% of the request.
func makeDivisible(v float64) int {
	n := max(8, int(v+4)/8*8)
	if float64(n) < 0.9*v {
		n += 8
	}
	return n
}

// mobileNetV2 follows the published V2 layout: inverted residual blocks with
// linear bottlenecks, explicit padding before stride-2 depthwise layers (as
// Keras exports them), a 1280-channel 1x1 convolution, spatial mean, a fully
// connected layer, reshape and softmax.
func mobileNetV2(cfg Config) *Graph {
	g := NewGraph(cfg.Size, cfg.Size, 3, cfg.Seed)
	x := g.Conv(g.Input, makeDivisible(32*cfg.Width), 3, 2, tflite.PaddingSame, tflite.ActRelu6, reluGain)
	blocks := []struct{ t, c, n, s int }{
		{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
	}
	for _, b := range blocks {
		out := makeDivisible(float64(b.c) * cfg.Width)
		for i := 0; i < b.n; i++ {
			stride := 1
			if i == 0 {
				stride = b.s
			}
			in := x
			cin := g.Shape(x)[3]
			h := x
			if b.t != 1 {
				h = g.Conv(h, cin*b.t, 1, 1, tflite.PaddingSame, tflite.ActRelu6, reluGain)
			}
			if stride == 2 {
				s := g.Shape(h)
				h = g.Pad(h, s[1]%2, 1, s[2]%2, 1)
				h = g.Depthwise(h, 3, 2, 1, tflite.PaddingValid, tflite.ActRelu6, reluGain)
			} else {
				h = g.Depthwise(h, 3, 1, 1, tflite.PaddingSame, tflite.ActRelu6, reluGain)
			}
			h = g.Conv(h, out, 1, 1, tflite.PaddingSame, tflite.ActNone, linearGain)
			if stride == 1 && cin == out {
				h = g.Add(in, h)
			}
			x = h
		}
	}
	x = g.Conv(x, 1280, 1, 1, tflite.PaddingSame, tflite.ActRelu6, reluGain)
	x = g.SpatialMean(x, false)
	x = g.FullyConnected(x, cfg.Classes, logitGain)
	x = g.Reshape(x, []int{1, cfg.Classes})
	g.Softmax(x)
	return g
}
