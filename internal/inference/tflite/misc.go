package tflite

import (
	"fmt"
	"math"
	"slices"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// fcKernel is FULLY_CONNECTED: rows of K inputs times an N×K weight matrix.
type fcKernel struct {
	rows   int
	lo, hi float32
	pb     *kernels.PackedB
}

func planFC(g *rawGraph, op rawOp) (kernel, []int, error) {
	ts, err := inputs(g, op, 2, 3)
	if err != nil {
		return nil, nil, err
	}
	act, keep := 0, false
	if op.hasOpts {
		o, err := options(g, op, OptFullyConnected)
		if err != nil {
			return nil, nil, err
		}
		act = int(g.r.fieldU8(o, FCActivation, 0))
		if f := g.r.fieldU8(o, FCWeightsFmt, 0); f != 0 {
			return nil, nil, fmt.Errorf("unsupported weights format %d", f)
		}
		keep = g.r.fieldU8(o, FCKeepNumDims, 0) != 0
		if g.r.err != nil {
			return nil, nil, g.r.err
		}
	}
	in := ts[0]
	if err := constFloat(ts[1], "weights", -1, -1); err != nil {
		return nil, nil, err
	}
	n, k := ts[1].shape[0], ts[1].shape[1]
	if len(in.shape) == 0 || in.size()%k != 0 {
		return nil, nil, fmt.Errorf("input shape %v is not rows of %d", in.shape, k)
	}
	var bt *tensor
	if len(ts) > 2 {
		bt = ts[2]
	}
	b, err := biasData(bt, n)
	if err != nil {
		return nil, nil, err
	}
	lo, hi, err := activation(act)
	if err != nil {
		return nil, nil, err
	}
	if err := g.reservePacked(n, k); err != nil {
		return nil, nil, err
	}
	rows := in.size() / k
	shape := []int{rows, n}
	if keep {
		if in.shape[len(in.shape)-1] != k {
			return nil, nil, fmt.Errorf("keep_num_dims with input shape %v and %d inputs per row", in.shape, k)
		}
		shape = append(slices.Clone(in.shape[:len(in.shape)-1]), n)
	}
	return &fcKernel{rows: rows, lo: lo, hi: hi, pb: kernels.PackB(ts[1].data, n, k, b)}, shape, nil
}

func (k *fcKernel) run(e *env, ins [][]float32, out []float32) {
	kernels.Gemm(k.rows*e.batch, ins[0], k.pb.K, k.pb, k.lo, k.hi, out, k.pb.N)
}

// copyKernel is RESHAPE and SQUEEZE: the data does not change.
type copyKernel struct{}

func (copyKernel) run(_ *env, ins [][]float32, out []float32) { copy(out, ins[0]) }

func planReshape(g *rawGraph, op rawOp) (kernel, []int, error) {
	ts, err := inputs(g, op, 1, 2)
	if err != nil {
		return nil, nil, err
	}
	in := ts[0]
	var shape []int
	if op.code == OpSqueeze {
		var dims []int
		if op.hasOpts {
			o, err := options(g, op, OptSqueeze)
			if err != nil {
				return nil, nil, err
			}
			dims = g.r.fieldInts(o, SqueezeDims)
			if g.r.err != nil {
				return nil, nil, g.r.err
			}
		}
		drop := make([]bool, len(in.shape))
		for _, d := range dims {
			if d < 0 {
				d += len(in.shape)
			}
			if d < 0 || d >= len(in.shape) || in.shape[d] != 1 {
				return nil, nil, fmt.Errorf("cannot squeeze axis %d of shape %v", d, in.shape)
			}
			drop[d] = true
		}
		for i, d := range in.shape {
			if (len(dims) == 0 && d == 1) || drop[i] {
				continue
			}
			shape = append(shape, d)
		}
		return copyKernel{}, shape, nil
	}
	switch {
	case len(ts) == 2 && ts[1] != nil:
		if !ts[1].konst || ts[1].typ != TypeInt32 {
			return nil, nil, fmt.Errorf("new shape must be an INT32 constant")
		}
		shape = slices.Clone(ts[1].ints)
	case op.hasOpts:
		o, err := options(g, op, OptReshape)
		if err != nil {
			return nil, nil, err
		}
		shape = g.r.fieldInts(o, ReshapeNewShape)
		if g.r.err != nil {
			return nil, nil, g.r.err
		}
	default:
		return nil, nil, fmt.Errorf("no new shape")
	}
	if len(shape) > maxRank {
		return nil, nil, fmt.Errorf("new shape %v has rank above %d", shape, maxRank)
	}
	known, free := 1, -1
	for i, d := range shape {
		switch {
		case d == -1 && free < 0:
			free = i
		case d > 0 && d <= maxElements:
			known *= d
			if known > maxElements {
				return nil, nil, fmt.Errorf("unsupported new shape %v", shape)
			}
		default:
			return nil, nil, fmt.Errorf("unsupported new shape %v", shape)
		}
	}
	if free >= 0 {
		if in.size()%known != 0 {
			return nil, nil, fmt.Errorf("cannot reshape %v to %v", in.shape, shape)
		}
		shape[free] = in.size() / known
	}
	if numElements(shape) != in.size() {
		return nil, nil, fmt.Errorf("cannot reshape %v to %v", in.shape, shape)
	}
	return copyKernel{}, shape, nil
}

// padKernel is PAD with zeros on a tensor of rank up to 4.
type padKernel struct {
	in, out [4]int
	before  [4]int
}

func planPad(g *rawGraph, op rawOp) (kernel, []int, error) {
	ts, err := inputs(g, op, 2, 2)
	if err != nil {
		return nil, nil, err
	}
	in, pads := ts[0], ts[1]
	rank := len(in.shape)
	if rank == 0 || rank > 4 {
		return nil, nil, fmt.Errorf("input %q has unsupported shape %v", in.name, in.shape)
	}
	if pads == nil || !pads.konst || (pads.typ != TypeInt32 && pads.typ != TypeInt64) ||
		!slices.Equal(pads.shape, []int{rank, 2}) {
		return nil, nil, fmt.Errorf("paddings must be an integer constant of shape [%d 2]", rank)
	}
	k := &padKernel{}
	off := 4 - rank
	for i := range k.in {
		k.in[i], k.out[i] = 1, 1
	}
	shape := make([]int, rank)
	for i, d := range in.shape {
		b, a := pads.ints[2*i], pads.ints[2*i+1]
		if b < 0 || a < 0 || b > 1<<16 || a > 1<<16 {
			return nil, nil, fmt.Errorf("unsupported paddings %d,%d on axis %d", b, a, i)
		}
		shape[i] = d + b + a
		k.in[i+off], k.out[i+off], k.before[i+off] = d, shape[i], b
	}
	if numElements(shape) > maxElements {
		return nil, nil, fmt.Errorf("padded shape %v too large", shape)
	}
	return k, shape, nil
}

func (k *padKernel) run(e *env, ins [][]float32, out []float32) {
	eachImage(e, ins, out, k.runOne)
}

func (k *padKernel) runOne(ins [][]float32, out []float32) {
	clear(out)
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

// addKernel is ADD of two tensors of the same shape.
type addKernel struct{ lo, hi float32 }

func planAdd(g *rawGraph, op rawOp) (kernel, []int, error) {
	ts, err := inputs(g, op, 2, 2)
	if err != nil {
		return nil, nil, err
	}
	act := 0
	if op.hasOpts {
		o, err := options(g, op, OptAdd)
		if err != nil {
			return nil, nil, err
		}
		act = int(g.r.fieldU8(o, AddActivation, 0))
		if g.r.err != nil {
			return nil, nil, g.r.err
		}
	}
	a, b := ts[0], ts[1]
	if b.typ != TypeFloat32 || b.konst || a.konst {
		return nil, nil, fmt.Errorf("inputs must be FLOAT32 activations")
	}
	if !slices.Equal(a.shape, b.shape) {
		return nil, nil, fmt.Errorf("unsupported broadcast of shapes %v and %v", a.shape, b.shape)
	}
	lo, hi, err := activation(act)
	if err != nil {
		return nil, nil, err
	}
	return &addKernel{lo: lo, hi: hi}, slices.Clone(a.shape), nil
}

func (k *addKernel) run(_ *env, ins [][]float32, out []float32) {
	a, b := ins[0], ins[1][:len(ins[0])]
	for i := range a {
		out[i] = a[i] + b[i]
	}
	clampSlice(out, k.lo, k.hi)
}

// softmaxKernel is SOFTMAX over the last axis.
type softmaxKernel struct {
	n    int
	beta float32
}

func planSoftmax(g *rawGraph, op rawOp) (kernel, []int, error) {
	ts, err := inputs(g, op, 1, 1)
	if err != nil {
		return nil, nil, err
	}
	beta := float32(1)
	if op.hasOpts {
		o, err := options(g, op, OptSoftmax)
		if err != nil {
			return nil, nil, err
		}
		beta = g.r.fieldF32(o, SoftmaxBeta, 0)
		if g.r.err != nil {
			return nil, nil, g.r.err
		}
	}
	in := ts[0]
	if len(in.shape) == 0 {
		return nil, nil, fmt.Errorf("input %q is a scalar", in.name)
	}
	if beta != 1 {
		return nil, nil, fmt.Errorf("unsupported softmax beta %g (only 1)", beta)
	}
	return &softmaxKernel{n: in.shape[len(in.shape)-1], beta: beta}, slices.Clone(in.shape), nil
}

func (k *softmaxKernel) run(_ *env, ins [][]float32, out []float32) {
	in := ins[0]
	for r := 0; r+k.n <= len(in); r += k.n {
		x, y := in[r:r+k.n], out[r:r+k.n]
		m := float32(math.Inf(-1))
		for _, v := range x {
			m = max(m, v)
		}
		var sum float64
		for i, v := range x {
			e := float32(math.Exp(float64(v - m)))
			y[i] = e
			sum += float64(e)
		}
		inv := float32(1 / sum)
		for i := range y {
			y[i] *= inv
		}
	}
}
