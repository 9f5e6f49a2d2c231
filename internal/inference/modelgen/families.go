package modelgen

import (
	"math"

	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// mobileNetV3 follows the published V3 layouts (small and large) as the
// TFLite converter emits Keras' model: HARD_SWISH activations, squeeze and
// excite as MEAN, two 1x1 convolutions, a hard sigmoid spelled ADD, RELU6,
// MUL and a broadcasting MUL; 1x1 convolutions for the head, RESHAPE and
// SOFTMAX.
func mobileNetV3(cfg Config) *Graph {
	type block struct {
		k, exp, out int
		se, hs      bool
		s           int
	}
	large := []block{
		{3, 16, 16, false, false, 1}, {3, 64, 24, false, false, 2}, {3, 72, 24, false, false, 1},
		{5, 72, 40, true, false, 2}, {5, 120, 40, true, false, 1}, {5, 120, 40, true, false, 1},
		{3, 240, 80, false, true, 2}, {3, 200, 80, false, true, 1}, {3, 184, 80, false, true, 1},
		{3, 184, 80, false, true, 1}, {3, 480, 112, true, true, 1}, {3, 672, 112, true, true, 1},
		{5, 672, 160, true, true, 2}, {5, 960, 160, true, true, 1}, {5, 960, 160, true, true, 1},
	}
	small := []block{
		{3, 16, 16, true, false, 2}, {3, 72, 24, false, false, 2}, {3, 88, 24, false, false, 1},
		{5, 96, 40, true, true, 2}, {5, 240, 40, true, true, 1}, {5, 240, 40, true, true, 1},
		{5, 120, 48, true, true, 1}, {5, 144, 48, true, true, 1}, {5, 288, 96, true, true, 2},
		{5, 576, 96, true, true, 1}, {5, 576, 96, true, true, 1},
	}
	blocks, lastConv, head := large, 960, 1280
	if cfg.Arch == "v3-small" {
		blocks, lastConv, head = small, 576, 1024
	}
	depth := func(c int) int { return makeDivisible(float64(c) * cfg.Width) }
	g := NewGraph(cfg.Size, cfg.Size, 3, cfg.Seed)
	x := g.Conv(g.Input, 16, 3, 2, tflite.PaddingSame, tflite.ActNone, reluGain)
	x = g.Unary(x, tflite.OpHardSwish)
	act := func(x int, hs bool) int {
		if hs {
			return g.Unary(x, tflite.OpHardSwish)
		}
		return g.Unary(x, tflite.OpRelu)
	}
	for _, b := range blocks {
		in := x
		cin := g.Shape(x)[3]
		h := x
		exp := depth(b.exp)
		if exp != cin {
			h = act(g.Conv(h, exp, 1, 1, tflite.PaddingSame, tflite.ActNone, reluGain), b.hs)
		}
		h = act(g.Depthwise(h, b.k, b.s, 1, tflite.PaddingSame, tflite.ActNone, reluGain), b.hs)
		if b.se {
			s := g.SpatialMean(h, true)
			s = g.Conv(s, makeDivisible(float64(exp)/4), 1, 1, tflite.PaddingSame, tflite.ActRelu, reluGain)
			s = g.Conv(s, exp, 1, 1, tflite.PaddingSame, tflite.ActNone, linearGain)
			h = g.Mul(h, g.HardSigmoid(s))
		}
		h = g.Conv(h, depth(b.out), 1, 1, tflite.PaddingSame, tflite.ActNone, linearGain)
		if b.s == 1 && cin == depth(b.out) {
			h = g.Add(in, h)
		}
		x = h
	}
	x = g.Unary(g.Conv(x, depth(lastConv), 1, 1, tflite.PaddingSame, tflite.ActNone, reluGain), tflite.OpHardSwish)
	x = g.SpatialMean(x, true)
	x = g.Unary(g.Conv(x, head, 1, 1, tflite.PaddingSame, tflite.ActNone, reluGain), tflite.OpHardSwish)
	x = g.Conv(x, cfg.Classes, 1, 1, tflite.PaddingSame, tflite.ActNone, 3*logitGainV1)
	x = g.Reshape(x, []int{1, cfg.Classes})
	g.Softmax(x)
	return g
}

// efficientNetLite follows EfficientNet-Lite0 to Lite4 (level 0..4): MBConv
// blocks with RELU6, 3x3 and 5x5 depthwise layers (stride 2 with SAME
// padding), no squeeze and excite, residual ADDs, a 1280-channel head, MEAN
// and FULLY_CONNECTED. Higher levels widen channels and repeat blocks more
// (the published width and depth coefficients; the stem and head stay
// fixed, as in the Lite variants); cfg.Width scales channels on top.
func efficientNetLite(cfg Config, level int) *Graph {
	coef := [][2]float64{{1.0, 1.0}, {1.0, 1.1}, {1.1, 1.2}, {1.2, 1.4}, {1.4, 1.8}}[level]
	blocks := []struct{ k, s, e, c, n int }{
		{3, 1, 1, 16, 1}, {3, 2, 6, 24, 2}, {5, 2, 6, 40, 2}, {3, 2, 6, 80, 3},
		{5, 1, 6, 112, 3}, {5, 2, 6, 192, 4}, {3, 1, 6, 320, 1},
	}
	depth := func(c int) int { return makeDivisible(float64(c) * cfg.Width * coef[0]) }
	g := NewGraph(cfg.Size, cfg.Size, 3, cfg.Seed)
	x := g.Conv(g.Input, 32, 3, 2, tflite.PaddingSame, tflite.ActRelu6, reluGain)
	for _, b := range blocks {
		n := int(math.Ceil(float64(b.n) * coef[1]))
		for i := 0; i < n; i++ {
			stride := 1
			if i == 0 {
				stride = b.s
			}
			in, cin, h := x, g.Shape(x)[3], x
			if b.e != 1 {
				h = g.Conv(h, cin*b.e, 1, 1, tflite.PaddingSame, tflite.ActRelu6, reluGain)
			}
			h = g.Depthwise(h, b.k, stride, 1, tflite.PaddingSame, tflite.ActRelu6, reluGain)
			h = g.Conv(h, depth(b.c), 1, 1, tflite.PaddingSame, tflite.ActNone, linearGain)
			if stride == 1 && cin == depth(b.c) {
				h = g.Add(in, h)
			}
			x = h
		}
	}
	x = g.Conv(x, 1280, 1, 1, tflite.PaddingSame, tflite.ActRelu6, reluGain)
	x = g.SpatialMean(x, false)
	x = g.FullyConnected(x, cfg.Classes, logitGain)
	g.Softmax(x)
	return g
}

// resNet50V1 follows Keras' ResNet50 as converted: PAD and a 7x7 stride-2
// VALID convolution, PAD and 3x3 stride-2 MAX_POOL_2D, bottleneck blocks
// [3 4 6 3] with the stride on the first 1x1 convolution, projection
// shortcuts, ADD with a fused RELU, MEAN and FULLY_CONNECTED.
func resNet50V1(cfg Config) *Graph {
	depth := func(c int) int { return max(8, int(float64(c)*cfg.Width)) }
	g := NewGraph(cfg.Size, cfg.Size, 3, cfg.Seed)
	x := g.Pad(g.Input, 3, 3, 3, 3)
	x = g.Conv(x, depth(64), 7, 2, tflite.PaddingValid, tflite.ActRelu, reluGain)
	x = g.Pad(x, 1, 1, 1, 1)
	x = g.Pool(x, true, 3, 2, tflite.PaddingValid)
	for stage, n := range []int{3, 4, 6, 3} {
		f := depth(64 << stage)
		for i := 0; i < n; i++ {
			stride := 1
			if i == 0 && stage > 0 {
				stride = 2
			}
			short := x
			if i == 0 {
				short = g.Conv(x, 4*f, 1, stride, tflite.PaddingValid, tflite.ActNone, linearGain)
			}
			h := g.Conv(x, f, 1, stride, tflite.PaddingValid, tflite.ActRelu, reluGain)
			h = g.Conv(h, f, 3, 1, tflite.PaddingSame, tflite.ActRelu, reluGain)
			h = g.Conv(h, 4*f, 1, 1, tflite.PaddingValid, tflite.ActNone, 0.5)
			x = g.Add(short, h)
			g.Ops[len(g.Ops)-1].Act = tflite.ActRelu
		}
	}
	x = g.SpatialMean(x, false)
	x = g.FullyConnected(x, cfg.Classes, logitGain)
	g.Softmax(x)
	return g
}

// resNet50V2 follows Keras' ResNet50V2 (pre-activation) as converted: batch
// norm before each convolution becomes a per-channel MUL and ADD of
// constants followed by RELU; stride-2 3x3 convolutions are PAD then VALID;
// strided identity shortcuts are 1x1 stride-2 MAX_POOL_2D.
func resNet50V2(cfg Config) *Graph {
	depth := func(c int) int { return max(8, int(float64(c)*cfg.Width)) }
	g := NewGraph(cfg.Size, cfg.Size, 3, cfg.Seed)
	// Without batch statistics the residual stream's variance grows by about
	// one branch's worth per block; the folded batch norm (MUL) scales it
	// back to about one, as trained statistics would, so the random model
	// stays well conditioned.
	variance := 1.0
	preact := func(x int) int {
		c := g.Shape(x)[3]
		s := 1 / sqrt(variance)
		x = g.Mul(x, g.RandomConst([]int{c}, s, 0.1*s))
		x = g.Add(x, g.RandomConst([]int{c}, 0.1, 0.1))
		return g.Unary(x, tflite.OpRelu)
	}
	x := g.Pad(g.Input, 3, 3, 3, 3)
	x = g.Conv(x, depth(64), 7, 2, tflite.PaddingValid, tflite.ActNone, reluGain)
	x = g.Pad(x, 1, 1, 1, 1)
	x = g.Pool(x, true, 3, 2, tflite.PaddingValid)
	for stage, n := range []int{3, 4, 6, 3} {
		f := depth(64 << stage)
		for i := 0; i < n; i++ {
			stride := 1
			if i == n-1 && stage < 3 {
				stride = 2
			}
			pre := preact(x)
			var short int
			switch {
			case i == 0:
				short = g.Conv(pre, 4*f, 1, 1, tflite.PaddingValid, tflite.ActNone, linearGain)
			case stride == 2:
				short = g.Pool(x, true, 1, 2, tflite.PaddingValid)
			default:
				short = x
			}
			h := g.Conv(pre, f, 1, 1, tflite.PaddingValid, tflite.ActRelu, reluGain)
			if stride == 2 {
				h = g.Pad(h, 1, 1, 1, 1)
				h = g.Conv(h, f, 3, 2, tflite.PaddingValid, tflite.ActRelu, reluGain)
			} else {
				h = g.Conv(h, f, 3, 1, tflite.PaddingSame, tflite.ActRelu, reluGain)
			}
			h = g.Conv(h, 4*f, 1, 1, tflite.PaddingValid, tflite.ActNone, 0.5)
			x = g.Add(short, h)
			if i == 0 {
				variance = 1
			}
			variance += 0.5
		}
	}
	x = preact(x)
	x = g.SpatialMean(x, false)
	x = g.FullyConnected(x, cfg.Classes, logitGain)
	g.Softmax(x)
	return g
}
