package graph

import (
	"fmt"
	"slices"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// fcKernel is FULLY_CONNECTED: rows of K inputs times an N×K weight matrix.
type fcKernel struct {
	rows   int
	lo, hi float32
	hs     bool // HARD_SWISH in the GEMM's epilogue
	pb     *kernels.PackedB
}

func planFC(g *Graph, n *Node) (kernel, []int, error) {
	ts, err := inputs(g, n, 2, 3)
	if err != nil {
		return nil, nil, err
	}
	in := ts[0]
	if err := constFloat(ts[1], "weights", -1, -1); err != nil {
		return nil, nil, err
	}
	nOut, k := ts[1].Shape[0], ts[1].Shape[1]
	if len(in.Shape) == 0 || in.Size()%k != 0 {
		return nil, nil, fmt.Errorf("input shape %v is not rows of %d", in.Shape, k)
	}
	var bt *Tensor
	if len(ts) > 2 {
		bt = ts[2]
	}
	b, err := biasData(bt, nOut)
	if err != nil {
		return nil, nil, err
	}
	lo, hi := bounds(n)
	if err := g.reservePacked(nOut, k); err != nil {
		return nil, nil, err
	}
	rows := in.Size() / k
	shape := []int{rows, nOut}
	if n.KeepDims {
		if in.Shape[len(in.Shape)-1] != k {
			return nil, nil, fmt.Errorf("keep_num_dims with input shape %v and %d inputs per row", in.Shape, k)
		}
		shape = append(slices.Clone(in.Shape[:len(in.Shape)-1]), nOut)
	}
	return &fcKernel{rows: rows, lo: lo, hi: hi, pb: kernels.PackB(ts[1].Float, nOut, k, b)}, shape, nil
}

// fuseHardSwish moves a following HARD_SWISH into the GEMM's epilogue.
func (k *fcKernel) fuseHardSwish() bool { k.hs = true; return true }

func (k *fcKernel) run(e *env, ins [][]float32, out []float32) {
	kernels.GemmAct(k.rows*e.batch, ins[0], k.pb.K, k.pb, kernels.Act{Lo: k.lo, Hi: k.hi, HardSwish: k.hs}, out, k.pb.N)
}

// copyKernel is RESHAPE: the data does not change.
type copyKernel struct{}

func (copyKernel) run(_ *env, ins [][]float32, out []float32) { copy(out, ins[0]) }

func planReshape(g *Graph, n *Node) (kernel, []int, error) {
	ts, err := inputs(g, n, 1, 1)
	if err != nil {
		return nil, nil, err
	}
	in := ts[0]
	shape := slices.Clone(n.Shape)
	if len(shape) > MaxRank {
		return nil, nil, fmt.Errorf("new shape %v has rank above %d", shape, MaxRank)
	}
	known, free := 1, -1
	for i, d := range shape {
		switch {
		case d == -1 && free < 0:
			free = i
		case d > 0 && d <= MaxElements:
			known *= d
			if known > MaxElements {
				return nil, nil, fmt.Errorf("unsupported new shape %v", shape)
			}
		default:
			return nil, nil, fmt.Errorf("unsupported new shape %v", shape)
		}
	}
	if free >= 0 {
		if in.Size()%known != 0 {
			return nil, nil, fmt.Errorf("cannot reshape %v to %v", in.Shape, shape)
		}
		shape[free] = in.Size() / known
	}
	if NumElements(shape) != in.Size() {
		return nil, nil, fmt.Errorf("cannot reshape %v to %v", in.Shape, shape)
	}
	return copyKernel{}, shape, nil
}

// padKernel is PAD with a constant on a tensor of rank up to 4.
type padKernel struct {
	in, out [4]int
	before  [4]int
	value   float32
}

func planPad(g *Graph, n *Node) (kernel, []int, error) {
	ts, err := inputs(g, n, 1, 1)
	if err != nil {
		return nil, nil, err
	}
	in := ts[0]
	rank := len(in.Shape)
	if rank == 0 || rank > 4 {
		return nil, nil, fmt.Errorf("input %q has unsupported shape %v", in.Name, in.Shape)
	}
	if len(n.Paddings) != 2*rank {
		return nil, nil, fmt.Errorf("%d paddings for rank %d, want %d", len(n.Paddings), rank, 2*rank)
	}
	k := &padKernel{value: n.PadValue}
	off := 4 - rank
	for i := range k.in {
		k.in[i], k.out[i] = 1, 1
	}
	shape := make([]int, rank)
	for i, d := range in.Shape {
		b, a := n.Paddings[2*i], n.Paddings[2*i+1]
		if b < 0 || a < 0 || b > 1<<16 || a > 1<<16 || (i == 0 && b+a != 0) {
			return nil, nil, fmt.Errorf("unsupported paddings %d,%d on axis %d", b, a, i)
		}
		shape[i] = d + b + a
		k.in[i+off], k.out[i+off], k.before[i+off] = d, shape[i], b
	}
	if NumElements(shape) > MaxElements {
		return nil, nil, fmt.Errorf("padded shape %v too large", shape)
	}
	return k, shape, nil
}

func (k *padKernel) run(e *env, ins [][]float32, out []float32) {
	eachImage(e, ins, out, k.runOne)
}

func (k *padKernel) runOne(ins [][]float32, out []float32) {
	if k.value == 0 {
		clear(out)
	} else {
		for i := range out {
			out[i] = k.value
		}
	}
	in := ins[0]
	row := k.in[3]
	src := 0
	for a := 0; a < k.in[0]; a++ {
		for b := 0; b < k.in[1]; b++ {
			for c := 0; c < k.in[2]; c++ {
				dst := (((a+k.before[0])*k.out[1]+b+k.before[1])*k.out[2]+c+k.before[2])*k.out[3] + k.before[3]
				copy(out[dst:dst+row], in[src:src+row])
				src += row
			}
		}
	}
}

// softmaxKernel is SOFTMAX over the last axis.
type softmaxKernel struct {
	n int
}

func planSoftmax(g *Graph, n *Node) (kernel, []int, error) {
	ts, err := inputs(g, n, 1, 1)
	if err != nil {
		return nil, nil, err
	}
	in := ts[0]
	if len(in.Shape) == 0 {
		return nil, nil, fmt.Errorf("input %q is a scalar", in.Name)
	}
	if a := n.Axis; a != -1 && a != len(in.Shape)-1 {
		return nil, nil, fmt.Errorf("unsupported softmax axis %d of shape %v (only the last)", a, in.Shape)
	}
	if n.Beta != 0 && n.Beta != 1 {
		return nil, nil, fmt.Errorf("unsupported softmax beta %g (only 1)", n.Beta)
	}
	return &softmaxKernel{n: in.Shape[len(in.Shape)-1]}, slices.Clone(in.Shape), nil
}

func (k *softmaxKernel) run(_ *env, ins [][]float32, out []float32) {
	in := ins[0]
	for r := 0; r+k.n <= len(in); r += k.n {
		kernels.Softmax(out[r:r+k.n], in[r:r+k.n])
	}
}
