package graph

import (
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// Quantized operators. INT8 activations live in the same float32 workspace
// slots as float activations, viewed as bytes (a slot of n floats holds n
// int8 elements with room to spare), so the planner, the slot allocator and
// the executor are shared. Readers map UINT8 tensors onto INT8 by
// subtracting 128 from the data and the zero point, which leaves every real
// value and every integer kernel's result unchanged.
//
// The arithmetic follows what TFLite's interpreter computes (checked tensor
// by tensor against it): per-channel Q31 multipliers for convolutions,
// rounded once for CONV_2D, FULLY_CONNECTED and MUL and twice for
// DEPTHWISE_CONV_2D; ADD with two ~20-bit integer operand multipliers and
// one rounding shift (the XNNPACK form the interpreter runs); rounding
// averages in pooling; MEAN and SOFTMAX in float64, rounded once.

// Quantization operators.
const (
	OpQuantize   Op = 64 // float or int8 -> int8 with the output's parameters
	OpDequantize Op = 65 // int8 -> float
)

func init() {
	opNames[OpQuantize] = "QUANTIZE"
	opNames[OpDequantize] = "DEQUANTIZE"
}

// int8s views a workspace slot (or the part of it for the images in flight)
// as int8 elements.
func int8s(f []float32) []int8 {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(f))), 4*len(f))
}

// qparam is one per-tensor scale and zero point.
type qparam struct {
	scale float64
	zp    int32
}

// perTensor returns t's single scale and zero point.
func perTensor(t *Tensor) (qparam, error) {
	if t.Quant == nil || len(t.Quant.Scale) != 1 || len(t.Quant.ZeroPoint) != 1 {
		return qparam{}, fmt.Errorf("tensor %q: want per-tensor quantization parameters", t.Name)
	}
	s, z := float64(t.Quant.Scale[0]), t.Quant.ZeroPoint[0]
	if !(s > 0) || math.IsInf(s, 0) || z < -128 || z > 127 {
		return qparam{}, fmt.Errorf("tensor %q: invalid quantization scale %g or zero point %d", t.Name, s, z)
	}
	return qparam{s, z}, nil
}

// isQuantNode reports whether n runs on quantized data.
func isQuantNode(g *Graph, n *Node) bool {
	if n.Op == OpQuantize || n.Op == OpDequantize {
		return true
	}
	return len(n.Inputs) > 0 && n.Inputs[0] >= 0 && g.Tensors[n.Inputs[0]].DType == Int8
}

// quantEnds gives a graph with an INT8 input or output float ends: a
// QUANTIZE from a new FLOAT32 input, a DEQUANTIZE to a new FLOAT32 output.
// The caller's float image is quantized with the input tensor's own scale
// and zero point, so a UINT8 model whose input is 0..255 with scale 1 takes
// images in the 0,255 input range and one with scale 1/128, zero point 128
// takes -1,1.
func quantEnds(g *Graph) {
	if in := g.Tensors[g.Input]; in.DType == Int8 && !in.Const {
		g.Tensors = append(g.Tensors, &Tensor{Name: in.Name + "_float", Shape: slices.Clone(in.Shape), DType: Float32})
		q := Node{Op: OpQuantize, Name: "input QUANTIZE", Inputs: []int{len(g.Tensors) - 1}, Output: g.Input}
		g.Nodes = append([]Node{q}, g.Nodes...)
		g.Input = len(g.Tensors) - 1
	}
	if out := g.Tensors[g.Output]; out.DType == Int8 && !out.Const {
		g.Tensors = append(g.Tensors, &Tensor{Name: out.Name + "_float", DType: Float32})
		g.Nodes = append(g.Nodes, Node{Op: OpDequantize, Name: "output DEQUANTIZE", Inputs: []int{g.Output}, Output: len(g.Tensors) - 1})
		g.Output = len(g.Tensors) - 1
	}
}

// actRange is the fused activation's clamp in the output's quantized
// domain, as TFLite computes it.
func actRange(n *Node, out qparam) (lo, hi int32) {
	lo, hi = -128, 127
	flo, fhi := bounds(n)
	if flo > NoBounds.Lo {
		lo = max(lo, out.zp+int32(roundHalfAway(float64(flo)/out.scale)))
	}
	if fhi < NoBounds.Hi {
		hi = min(hi, out.zp+int32(roundHalfAway(float64(fhi)/out.scale)))
	}
	return lo, hi
}

// asFloat runs a float planner for its shape checks and geometry on int8
// activations by presenting them as FLOAT32 for the call.
func asFloat(g *Graph, n *Node, plan func(*Graph, *Node) (kernel, []int, error)) (kernel, []int, error) {
	var swapped []*Tensor
	for _, ti := range n.Inputs {
		if ti >= 0 && g.Tensors[ti].DType == Int8 && !g.Tensors[ti].Const {
			g.Tensors[ti].DType = Float32
			swapped = append(swapped, g.Tensors[ti])
		}
	}
	defer func() {
		for _, t := range swapped {
			t.DType = Int8
		}
	}()
	return plan(g, n)
}

// planQuant plans an operator on quantized data.
func planQuant(g *Graph, n *Node) (kernel, []int, error) {
	if len(n.Inputs) == 0 || n.Inputs[0] < 0 {
		return nil, nil, fmt.Errorf("missing input")
	}
	in := g.Tensors[n.Inputs[0]]
	ot := g.Tensors[n.Output]
	if in.Const {
		return nil, nil, fmt.Errorf("input %q: want an activation, got a constant", in.Name)
	}
	if n.HardSwish {
		return nil, nil, fmt.Errorf("HARD_SWISH on quantized data is not supported")
	}
	if n.Op == OpDequantize {
		if ot.DType != Float32 {
			return nil, nil, fmt.Errorf("output %q: DEQUANTIZE must produce FLOAT32, got %s", ot.Name, ot.DType)
		}
		ip, err := perTensor(in)
		if err != nil {
			return nil, nil, err
		}
		if in.DType != Int8 {
			return nil, nil, fmt.Errorf("input %q: DEQUANTIZE of %s is not supported", in.Name, in.DType)
		}
		return &dequantizeKernel{n: in.Size(), in: ip}, slices.Clone(in.Shape), nil
	}
	if ot.DType != Int8 {
		return nil, nil, fmt.Errorf("output %q: a quantized %s must produce INT8 or UINT8, got %s", ot.Name, n.Op, ot.DType)
	}
	op, err := perTensor(ot)
	if err != nil {
		return nil, nil, err
	}
	var ip qparam
	if n.Op != OpQuantize || in.DType == Int8 {
		if ip, err = perTensor(in); err != nil {
			return nil, nil, err
		}
	}
	switch n.Op {
	case OpQuantize:
		switch in.DType {
		case Float32:
			return &quantizeKernel{n: in.Size(), out: op}, slices.Clone(in.Shape), nil
		case Int8:
			return &requantizeKernel{n: in.Size(), in: ip, out: op}, slices.Clone(in.Shape), nil
		}
		return nil, nil, fmt.Errorf("input %q: QUANTIZE of %s is not supported", in.Name, in.DType)
	case OpConv2D, OpDepthwiseConv2D:
		return planQConv(g, n, ip, op)
	case OpFullyConnected:
		return planQFC(g, n, ip, op)
	case OpAveragePool2D, OpMaxPool2D:
		k, shape, err := asFloat(g, n, planPool)
		if err != nil {
			return nil, nil, err
		}
		pk := k.(*poolKernel)
		if pk.full {
			return nil, nil, fmt.Errorf("quantized average pooling that counts padding is not supported")
		}
		if ip != op {
			return nil, nil, fmt.Errorf("quantized pooling needs equal input and output parameters, got %v and %v", ip, op)
		}
		lo, hi := actRange(n, op)
		return &qpoolKernel{p: *pk, lo: lo, hi: hi}, shape, nil
	case OpMean:
		k, shape, err := asFloat(g, n, planMean)
		if err != nil {
			return nil, nil, err
		}
		mk := k.(*meanKernel)
		return newQMean(mk.dims, mk.reduced, mk.count, ip, op), shape, nil
	case OpReshape:
		k, shape, err := asFloat(g, n, planReshape)
		if err != nil {
			return nil, nil, err
		}
		_ = k
		return &requantizeKernel{n: in.Size(), in: ip, out: op}, shape, nil
	case OpPad:
		k, shape, err := asFloat(g, n, planPad)
		if err != nil {
			return nil, nil, err
		}
		if ip != op {
			return nil, nil, fmt.Errorf("quantized PAD needs equal input and output parameters")
		}
		pk := k.(*padKernel)
		return &qpadKernel{p: *pk, value: int8(op.zp)}, shape, nil
	case OpConcat:
		k, shape, err := asFloat(g, n, planConcat)
		if err != nil {
			return nil, nil, err
		}
		ck := k.(*concatKernel)
		qk := &qconcatKernel{c: *ck, out: op}
		for _, ti := range n.Inputs {
			t := g.Tensors[ti]
			if t.Const {
				return nil, nil, fmt.Errorf("quantized CONCATENATION of constant %q is not supported", t.Name)
			}
			p, err := perTensor(t)
			if err != nil {
				return nil, nil, err
			}
			qk.ins = append(qk.ins, p)
		}
		return qk, shape, nil
	case OpAdd, OpMul:
		return planQBinary(g, n, ip, op)
	case OpSoftmax:
		if len(in.Shape) == 0 {
			return nil, nil, fmt.Errorf("input %q is a scalar", in.Name)
		}
		beta := float64(n.Beta)
		if beta == 0 {
			beta = 1
		}
		return newQSoftmax(in.Shape[len(in.Shape)-1], in.Size(), ip, op, beta), slices.Clone(in.Shape), nil
	}
	return nil, nil, fmt.Errorf("unsupported operator %s on quantized data", n.Op)
}

// quantizeKernel is QUANTIZE from float: round(x/scale) + zero point,
// saturated to int8.
type quantizeKernel struct {
	n   int
	out qparam
}

func (k *quantizeKernel) run(e *env, ins [][]float32, out []float32) {
	in := ins[0][:k.n*e.batch]
	kernels.QuantizeF32(int8s(out)[:len(in)], in, float32(k.out.scale), k.out.zp)
}

type dequantizeKernel struct {
	n  int
	in qparam
}

func (k *dequantizeKernel) run(e *env, ins [][]float32, out []float32) {
	s := float32(k.in.scale)
	for i, q := range int8s(ins[0])[:k.n*e.batch] {
		out[i] = s * float32(int32(q)-k.in.zp)
	}
}

// requantizeKernel copies int8 data, rescaling when the parameters differ
// (RESHAPE, QUANTIZE int8 -> int8).
type requantizeKernel struct {
	n       int
	in, out qparam
}

func (k *requantizeKernel) run(e *env, ins [][]float32, out []float32) {
	requantize(int8s(out)[:k.n*e.batch], int8s(ins[0])[:k.n*e.batch], k.in, k.out)
}

func requantize(dst, src []int8, in, out qparam) {
	if in == out {
		copy(dst, src)
		return
	}
	q, shift := QuantizeMultiplier(in.scale / out.scale)
	for i, v := range src {
		r := MultiplyByQuantizedMultiplier(int32(v)-in.zp, q, shift) + out.zp
		dst[i] = int8(clamp32(r, -128, 127))
	}
}
