package graph

import (
	"fmt"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// planNode checks one operator and returns its kernel and output shape.
func planNode(g *Graph, n *Node) (kernel, []int, error) {
	if isQuantNode(g, n) {
		if n.ORTRounding {
			if k, shape, ok, err := planORTQuant(g, n); ok {
				return k, shape, err
			}
		}
		return planQuant(g, n)
	}
	switch n.Op {
	case OpConv2D:
		return planConv(g, n)
	case OpDepthwiseConv2D:
		return planDepthwise(g, n)
	case OpAveragePool2D, OpMaxPool2D:
		return planPool(g, n)
	case OpMean:
		return planMean(g, n)
	case OpFullyConnected:
		return planFC(g, n)
	case OpReshape:
		return planReshape(g, n)
	case OpPad:
		return planPad(g, n)
	case OpAdd, OpMul:
		return planBinary(g, n)
	case OpSoftmax:
		return planSoftmax(g, n)
	case OpConcat:
		return planConcat(g, n)
	case OpClamp, OpLeakyRelu, OpLogistic, OpHardSwish, OpHardSigmoid:
		return planUnary(g, n)
	}
	return nil, nil, fmt.Errorf("unsupported operator %s", n.Op)
}

// inputs checks the input count and returns the tensors (nil for -1). The
// first input must be a FLOAT32 activation.
func inputs(g *Graph, n *Node, minN, maxN int) ([]*Tensor, error) {
	if len(n.Inputs) < minN || len(n.Inputs) > maxN {
		return nil, fmt.Errorf("%d inputs, want %d to %d", len(n.Inputs), minN, maxN)
	}
	ts := make([]*Tensor, len(n.Inputs))
	for i, ti := range n.Inputs {
		if ti < 0 {
			if i < minN {
				return nil, fmt.Errorf("required input %d is absent", i)
			}
			continue
		}
		t := g.Tensors[ti]
		if i == 0 && (t.DType != Float32 || t.Const) {
			return nil, fmt.Errorf("input %q: want a FLOAT32 activation, got %s", t.Name, describe(t))
		}
		ts[i] = t
	}
	return ts, nil
}

func describe(t *Tensor) string {
	if t.Const {
		return "a " + t.DType.String() + " constant"
	}
	return t.DType.String()
}

// bounds returns the fused activation's clamp bounds.
func bounds(n *Node) (lo, hi float32) {
	if n.Act == nil {
		return NoBounds.Lo, NoBounds.Hi
	}
	return n.Act.Lo, n.Act.Hi
}

// window2D is window along both axes of an NHWC image: output height and
// width, and the padding before the first row and column.
func window2D(n *Node, h, w, kh, kw int) (oh, ow, padT, padL int, err error) {
	if oh, padT, err = window(n.Padding, n.Pads[0], n.Pads[2], h, kh, n.StrideH); err != nil {
		return 0, 0, 0, 0, err
	}
	if ow, padL, err = window(n.Padding, n.Pads[1], n.Pads[3], w, kw, n.StrideW); err != nil {
		return 0, 0, 0, 0, err
	}
	return oh, ow, padT, padL, nil
}

// window computes output size and leading padding along one axis.
func window(padding Padding, before, after, in, k, stride int) (out, padBefore int, err error) {
	if stride <= 0 || k <= 0 || stride > 1<<16 || k > 1<<16 {
		return 0, 0, fmt.Errorf("unsupported stride %d or window %d", stride, k)
	}
	switch padding {
	case PadSame:
		out = (in + stride - 1) / stride
		total := max((out-1)*stride+k-in, 0)
		return out, total / 2, nil
	case PadValid:
		if in < k {
			return 0, 0, fmt.Errorf("window %d larger than input %d with VALID padding", k, in)
		}
		return (in - k + stride) / stride, 0, nil
	case PadExplicit:
		if before < 0 || after < 0 || before >= k || after >= k {
			return 0, 0, fmt.Errorf("unsupported padding %d,%d for window %d", before, after, k)
		}
		if in+before+after < k {
			return 0, 0, fmt.Errorf("window %d larger than padded input %d", k, in+before+after)
		}
		return (in+before+after-k)/stride + 1, before, nil
	}
	return 0, 0, fmt.Errorf("unsupported padding %d", padding)
}

// constFloat checks that t is a FLOAT32 constant with the given shape.
func constFloat(t *Tensor, what string, shape ...int) error {
	if t == nil || !t.Const || t.DType != Float32 {
		return fmt.Errorf("%s must be a FLOAT32 constant", what)
	}
	if len(t.Shape) != len(shape) {
		return fmt.Errorf("%s has shape %v, want %v", what, t.Shape, shape)
	}
	for i, d := range shape {
		if d >= 0 && t.Shape[i] != d {
			return fmt.Errorf("%s has shape %v, want %v", what, t.Shape, shape)
		}
	}
	return nil
}

// image4 checks an NHWC activation with batch 1.
func image4(t *Tensor) (h, w, c int, err error) {
	if len(t.Shape) != 4 || t.Shape[0] != 1 {
		return 0, 0, 0, fmt.Errorf("input %q has unsupported shape %v, want [1 H W C]", t.Name, t.Shape)
	}
	return t.Shape[1], t.Shape[2], t.Shape[3], nil
}

// bias returns the bias data, zeros when the optional input is absent.
func biasData(t *Tensor, n int) ([]float32, error) {
	if t == nil {
		return make([]float32, n), nil
	}
	if err := constFloat(t, "bias", n); err != nil {
		return nil, err
	}
	return t.Float, nil
}

// parallelFor splits [0, n) into at most e.threads chunks, each a multiple
// of grain, and runs fn on them concurrently: on goroutines of their own,
// or, when e belongs to a worker of a batched Run, with the team's idle
// workers.
func (e *env) parallelFor(n, grain int, fn func(lo, hi int)) {
	chunks := min(e.threads, (n+grain-1)/grain)
	if chunks <= 1 {
		fn(0, n)
		return
	}
	per := (n + chunks - 1) / chunks
	per = (per + grain - 1) / grain * grain
	if e.team != nil {
		e.team.split(n, per, fn)
		return
	}
	done := make(chan struct{}, chunks)
	started := 0
	for lo := per; lo < n; lo += per {
		started++
		go func(lo int) {
			fn(lo, min(lo+per, n))
			done <- struct{}{}
		}(lo)
	}
	fn(0, min(per, n))
	for ; started > 0; started-- {
		<-done
	}
}

// clampSlice applies fused-activation bounds in place.
func clampSlice(v []float32, lo, hi float32) { kernels.Clamp(v, lo, hi) }

// eachImage runs fn once per image of the batch on the matching parts of
// the activation input (ins[0]) and the output; other inputs are constants
// shared by all images.
func eachImage(e *env, ins [][]float32, out []float32, fn func(ins [][]float32, out []float32)) {
	if e.batch == 1 {
		fn(ins, out)
		return
	}
	inPer, outPer := len(ins[0])/e.batch, len(out)/e.batch
	one := append([][]float32(nil), ins...)
	for i := 0; i < e.batch; i++ {
		one[0] = ins[0][i*inPer : (i+1)*inPer]
		fn(one, out[i*outPer:(i+1)*outPer])
	}
}
