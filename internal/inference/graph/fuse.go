package graph

import "github.com/cspipe/cspipe/internal/inference/kernels"

// fuseActivations folds a standalone activation into the operator that
// computes its input, when nothing else reads that value: RELU, RELU6 and
// RELU_N1_TO_1 (OpClamp) become the producer's fused bounds; HARD_SWISH
// after a convolution becomes a pass over its output. The converters emit
// both as separate operators (MobileNet V3, ResNet V2); fused, they cost no
// extra trip through memory. It returns the new node list.
func fuseActivations(g *Graph) []Node {
	uses := make(map[int]int)
	producer := make(map[int]int)
	for i, n := range g.Nodes {
		for _, t := range n.Inputs {
			uses[t]++
		}
		producer[n.Output] = i
	}
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
		case n.Op == OpHardSwish && !pn.HardSwish && (pn.Op == OpConv2D || pn.Op == OpDepthwiseConv2D):
			pn.HardSwish = true
		default:
			continue
		}
		pn.Output = n.Output
		producer[n.Output] = p
		drop[i] = true
	}
	var out []Node
	for i, n := range g.Nodes {
		if !drop[i] {
			out = append(out, n)
		}
	}
	return out
}

// clampable reports whether op's kernel applies fused bounds.
func clampable(op Op) bool {
	switch op {
	case OpConv2D, OpDepthwiseConv2D, OpFullyConnected, OpAdd, OpMul, OpAveragePool2D, OpMaxPool2D:
		return true
	}
	return false
}

// hardSwishAfter runs a kernel, then HARD_SWISH over its output.
type hardSwishAfter struct{ k kernel }

func (h hardSwishAfter) run(e *env, ins [][]float32, out []float32) {
	h.k.run(e, ins, out)
	kernels.HardSwish(out)
}
