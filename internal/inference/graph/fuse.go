package graph

import (
	"slices"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// fuseActivations folds a standalone activation into the operator that
// computes its input, when nothing else reads that value: RELU, RELU6 and
// RELU_N1_TO_1 (OpClamp) become the producer's fused bounds; HARD_SWISH
// after a convolution becomes a pass over its output. The converters emit
// both as separate operators (MobileNet V3, ResNet V2); fused, they cost no
// extra trip through memory. It returns the new node list.
func fuseActivations(g *Graph) []Node {
	uses, producer, _ := dataflow(g.Nodes)
	drop := make([]bool, len(g.Nodes))
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if len(n.Inputs) != 1 || n.Inputs[0] < 0 {
			continue
		}
		in := n.Inputs[0]
		p, ok := producer[in]
		if !ok || drop[p] || uses[in] != 1 || in == g.Output {
			continue
		}
		pn := &g.Nodes[p]
		switch {
		case n.Op == OpClamp && n.Act != nil && pn.Act == nil && !pn.HardSwish && clampable(pn.Op):
			b := *n.Act
			pn.Act = &b
		case n.Op == OpHardSwish && !pn.HardSwish && (pn.Op == OpConv2D || pn.Op == OpDepthwiseConv2D || pn.Op == OpFullyConnected):
			pn.HardSwish = true
		default:
			continue
		}
		pn.Output = n.Output
		producer[n.Output] = p
		drop[i] = true
	}
	out := withoutDropped(g.Nodes, drop)
	return fuseExpandDepthwise(g, fuseResiduals(g, fusePads(g, fuseMeanReshape(g, out))))
}

// fuseMeanReshape folds a RESHAPE that only drops the size-1 axes a MEAN
// kept into the MEAN, which then leaves them out itself: the copy is never
// made. Exporters write global pooling that way (PyTorch's
// GlobalAveragePool and Flatten; Keras' MEAN with keep_dims and RESHAPE).
// Only FLOAT32 activations: an INT8 MEAN keeps the rounding its reader
// asked for.
func fuseMeanReshape(g *Graph, nodes []Node) []Node {
	uses, producer, _ := dataflow(nodes)
	drop := make([]bool, len(nodes))
	for i := range nodes {
		n := &nodes[i]
		if n.Op != OpReshape || len(n.Inputs) != 1 || !floatImage(g, n.Inputs[0]) || n.Output < 0 || n.Output >= len(g.Tensors) {
			continue
		}
		in := n.Inputs[0]
		p, ok := producer[in]
		if !ok || drop[p] || uses[in] != 1 || in == g.Output {
			continue
		}
		pn := &nodes[p]
		if pn.Op != OpMean || !pn.KeepDims || len(pn.Inputs) != 1 || !floatImage(g, pn.Inputs[0]) {
			continue
		}
		src := g.Tensors[pn.Inputs[0]].Shape
		reduced := make([]bool, len(src))
		for _, a := range pn.Axes {
			if a < 0 {
				a += len(src)
			}
			if a >= 0 && a < len(src) {
				reduced[a] = true
			}
		}
		var kept []int
		for a, d := range src {
			if !reduced[a] {
				kept = append(kept, d)
			}
		}
		if len(kept) == 0 || !slices.Equal(kept, g.Tensors[n.Output].Shape) {
			continue
		}
		pn.KeepDims = false
		pn.Output = n.Output
		producer[n.Output] = p
		drop[i] = true
	}
	return withoutDropped(nodes, drop)
}

// padFusion turns fusePads on; tests compare against it off.
var padFusion = true

// fusePads folds a zero PAD of the rows and columns into the convolution,
// depthwise convolution or max pool that alone reads it, as that
// operator's explicit padding: the padded copy of the activation is never
// made. A max pool pads with -inf rather than zero, so it takes the PAD
// only when its input cannot be negative (a RELU-bounded producer), where
// the two agree. ResNet-50 V1 as converters emit it pads before its 7x7
// stem and before its max pool.
func fusePads(g *Graph, nodes []Node) []Node {
	if !padFusion {
		return nodes
	}
	uses, producer, consumer := dataflow(nodes)
	drop := make([]bool, len(nodes))
	for i := range nodes {
		n := &nodes[i]
		if n.Op != OpPad || len(n.Inputs) != 1 || n.PadValue != 0 || len(n.Paddings) != 8 || n.Output == g.Output || uses[n.Output] != 1 {
			continue
		}
		in := n.Inputs[0]
		if in < 0 || in >= len(g.Tensors) || g.Tensors[in].DType != Float32 || g.Tensors[in].Const || len(g.Tensors[in].Shape) != 4 {
			continue
		}
		pd := n.Paddings
		if pd[0] != 0 || pd[1] != 0 || pd[6] != 0 || pd[7] != 0 {
			continue // only rows and columns
		}
		c := &nodes[consumer[n.Output]]
		if len(c.Inputs) == 0 || c.Inputs[0] != n.Output || slices.Contains(c.Inputs[1:], n.Output) {
			continue
		}
		kh, kw := c.FilterH, c.FilterW
		switch c.Op {
		case OpConv2D, OpDepthwiseConv2D:
			if len(c.Inputs) < 2 || c.Inputs[1] < 0 || len(g.Tensors[c.Inputs[1]].Shape) != 4 {
				continue
			}
			kh, kw = g.Tensors[c.Inputs[1]].Shape[1], g.Tensors[c.Inputs[1]].Shape[2]
		case OpMaxPool2D:
			p, ok := producer[in]
			if !ok || nodes[p].Act == nil || nodes[p].Act.Lo < 0 || nodes[p].HardSwish {
				continue
			}
		default:
			continue
		}
		var pads [4]int // top, left, bottom, right
		switch c.Padding {
		case PadValid:
		case PadExplicit:
			pads = c.Pads
		default:
			continue
		}
		pads = [4]int{pads[0] + pd[2], pads[1] + pd[4], pads[2] + pd[3], pads[3] + pd[5]}
		if pads[0] >= kh || pads[2] >= kh || pads[1] >= kw || pads[3] >= kw {
			continue // explicit padding must stay inside a window
		}
		c.Padding, c.Pads = PadExplicit, pads
		c.Inputs = append([]int{in}, c.Inputs[1:]...)
		drop[i] = true
	}
	return withoutDropped(nodes, drop)
}

// expandFuseMin is the smallest activation (floats per image) between a 1x1
// convolution and a depthwise convolution that fuseExpandDepthwise folds
// away: below it the activation stays in the level-2 cache anyway and the
// band-by-band computation costs more than it saves (measured on MobileNet
// V3-Large at 224: its 112×112×64 expansion, 0.8 Mi floats, runs 1.4×
// faster fused; the 56×56×72 blocks run 0.8-0.85× as fast, also after the
// rows shared by two bands became a copy instead of a recomputation).
var expandFuseMin = 1 << 19

// fuseExpandDepthwise folds a 1x1 stride-1 convolution (an inverted
// residual block's expansion) into the depthwise convolution that alone
// reads its output, when that output is large: the depthwise kernel then
// computes the expansion a band of rows at a time into a buffer that stays
// in cache, instead of writing the whole expanded activation to memory and
// reading it back. The fused node keeps the depthwise's operator and
// carries the convolution in Expand; its first input becomes the
// convolution's input.
func fuseExpandDepthwise(g *Graph, nodes []Node) []Node {
	uses, producer, _ := dataflow(nodes)
	float := func(t int) bool { return floatImage(g, t) }
	drop := make([]bool, len(nodes))
	for i := range nodes {
		n := &nodes[i]
		if n.Op != OpDepthwiseConv2D || n.Expand != nil || len(n.Inputs) < 2 || len(n.Inputs) > 3 || n.Multiplier > 1 {
			continue
		}
		mid := n.Inputs[0]
		p, ok := producer[mid]
		if !ok || drop[p] || uses[mid] != 1 || mid == g.Output || !float(mid) || g.Tensors[mid].Size() < expandFuseMin {
			continue
		}
		pn := &nodes[p]
		if pn.Op != OpConv2D || len(pn.Inputs) < 2 || len(pn.Inputs) > 3 || pn.StrideH != 1 || pn.StrideW != 1 || !float(pn.Inputs[0]) {
			continue
		}
		if f := pn.Inputs[1]; f < 0 || len(g.Tensors[f].Shape) != 4 || g.Tensors[f].Shape[1] != 1 || g.Tensors[f].Shape[2] != 1 {
			continue
		}
		if pn.Padding == PadExplicit && pn.Pads != [4]int{} {
			continue
		}
		if df := n.Inputs[1]; df < 0 || len(g.Tensors[df].Shape) != 4 || g.Tensors[df].Shape[3] != g.Tensors[mid].Shape[3] {
			continue // a depth multiplier above 1
		}
		e := *pn
		e.Inputs = slices.Clone(pn.Inputs)
		n.Expand = &e
		n.Inputs = append([]int{pn.Inputs[0]}, n.Inputs[1:]...)
		drop[p] = true
	}
	return withoutDropped(nodes, drop)
}

// minResidualChannels is the narrowest convolution output fuseResiduals
// folds a residual ADD into (a variable for tests).
var minResidualChannels = 256

// fuseResiduals folds an ADD of a 1x1 convolution's output and another
// activation of the same declared shape (a residual connection) into the
// convolution: it adds that activation to each block of rows right after
// computing it, while the block is in cache, then applies the ADD's
// bounds. The other activation must be computed before the convolution
// runs, and nothing else may read the convolution's output.
//
// Only wide outputs (ResNet's 256 to 2048 channels) are fused: there the
// separate ADD streams tensors larger than the cache, while MobileNets'
// narrow projections stay cached and ran about 5% slower fused (batch 1).
func fuseResiduals(g *Graph, nodes []Node) []Node {
	uses, producer, _ := dataflow(nodes)
	producer[g.Input] = -1
	float := func(t int) bool { return floatImage(g, t) }
	drop := make([]bool, len(nodes))
	for i := range nodes {
		n := &nodes[i]
		if n.Op != OpAdd || len(n.Inputs) != 2 || !float(n.Output) {
			continue
		}
		for side := 0; side < 2; side++ {
			c, other := n.Inputs[side], n.Inputs[1-side]
			p, ok := producer[c]
			q, ok2 := producer[other]
			if !ok || !ok2 || p < 0 || q >= p || c == other || uses[c] != 1 || c == g.Output || !float(c) || !float(other) {
				continue
			}
			pn := &nodes[p]
			if pn.Op != OpConv2D || pn.Act != nil || pn.HardSwish || drop[p] || len(pn.Inputs) < 2 || len(pn.Inputs) > 3 ||
				!slices.Equal(g.Tensors[c].Shape, g.Tensors[other].Shape) || !slices.Equal(g.Tensors[c].Shape, g.Tensors[n.Output].Shape) {
				continue
			}
			f := pn.Inputs[1]
			if f < 0 || len(g.Tensors[f].Shape) != 4 || g.Tensors[f].Shape[1] != 1 || g.Tensors[f].Shape[2] != 1 || pn.StrideH != 1 || pn.StrideW != 1 {
				continue // only 1x1 stride-1 convolutions take a residual
			}
			if g.Tensors[f].Shape[0] < minResidualChannels {
				continue
			}
			ins := append([]int(nil), pn.Inputs...)
			if len(ins) == 2 {
				ins = append(ins, -1)
			}
			pn.Inputs = append(ins, other)
			pn.Act = n.Act
			pn.Output = n.Output
			producer[n.Output] = p
			drop[i] = true
			break
		}
	}
	return withoutDropped(nodes, drop)
}

// clampable reports whether op's kernel applies fused bounds.
func clampable(op Op) bool {
	switch op {
	case OpConv2D, OpDepthwiseConv2D, OpFullyConnected, OpAdd, OpMul, OpAveragePool2D, OpMaxPool2D:
		return true
	}
	return false
}

// hardSwishFuser is a kernel that can apply HARD_SWISH as it writes its
// output (the GEMM epilogue); fuseHardSwish reports whether it took it on.
type hardSwishFuser interface{ fuseHardSwish() bool }

// hardSwishAfter runs a kernel, then HARD_SWISH over its output (kernels
// that cannot fuse it).
type hardSwishAfter struct{ k kernel }

func (h hardSwishAfter) run(e *env, ins [][]float32, out []float32) {
	h.k.run(e, ins, out)
	kernels.HardSwish(out)
}

// dataflow maps each tensor of nodes to how many node inputs read it
// (uses), the node that writes it (producer) and the last node that reads
// it (consumer).
func dataflow(nodes []Node) (uses, producer, consumer map[int]int) {
	uses, producer, consumer = map[int]int{}, map[int]int{}, map[int]int{}
	for i, n := range nodes {
		for _, t := range n.Inputs {
			uses[t]++
			consumer[t] = i
		}
		producer[n.Output] = i
	}
	return uses, producer, consumer
}

// floatImage reports whether tensor t is a FLOAT32 activation of rank 4.
func floatImage(g *Graph, t int) bool {
	return t >= 0 && t < len(g.Tensors) && g.Tensors[t].DType == Float32 && !g.Tensors[t].Const && len(g.Tensors[t].Shape) == 4
}

// withoutDropped returns the elements of s whose drop flag is false, in
// their order: what each fusion pass keeps after folding nodes away.
func withoutDropped[T any](s []T, drop []bool) []T {
	var out []T
	for i, v := range s {
		if !drop[i] {
			out = append(out, v)
		}
	}
	return out
}
