package graph

import (
	"fmt"
	"math"
	"slices"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// seRows lets binaryKernel and meanKernel pass a whole image to the
// kernels' row functions (MulRows, AddRows, SumRows) rather than one call
// per pixel; benchmarks switch it off to compare (read at run time).
var seRows = true

// binaryKernel is ADD and MUL with NumPy-style broadcasting over up to four
// axes. Each operand is either an activation, with its own data per image,
// or a constant shared by all images.
type binaryKernel struct {
	mul        bool
	out        [4]int
	sa, sb     [4]int // element strides per output axis, 0 where broadcast
	aPer, bPer int    // elements per image; 0 for a constant
	lo, hi     float32
	clamp      bool
	flat       bool // neither operand broadcasts: one pass over the whole image
	// One operand is the whole image and the other one row of channels
	// broadcast over height and width (a squeeze-excite scale): one
	// kernels.MulRows or AddRows call for the image. rowB: b is the row.
	rows, rowB bool
}

func planBinary(g *Graph, n *Node) (kernel, []int, error) {
	if len(n.Inputs) != 2 || n.Inputs[0] < 0 || n.Inputs[1] < 0 {
		return nil, nil, fmt.Errorf("%d inputs, want 2", len(n.Inputs))
	}
	a, b := g.Tensors[n.Inputs[0]], g.Tensors[n.Inputs[1]]
	for _, t := range []*Tensor{a, b} {
		if t.DType != Float32 {
			return nil, nil, fmt.Errorf("input %q: want FLOAT32, got %s", t.Name, describe(t))
		}
	}
	if a.Const && b.Const {
		return nil, nil, fmt.Errorf("both inputs are constants")
	}
	shape, err := broadcastShape(a.Shape, b.Shape)
	if err != nil {
		return nil, nil, err
	}
	if len(shape) == 0 || shape[0] != 1 {
		return nil, nil, fmt.Errorf("unsupported output shape %v, want [1 ...]", shape)
	}
	k := &binaryKernel{mul: n.Op == OpMul, clamp: n.Act != nil}
	k.lo, k.hi = bounds(n)
	off := 4 - len(shape)
	for i := range k.out {
		k.out[i] = 1
	}
	copy(k.out[off:], shape)
	k.sa, k.sb = strides4(a.Shape, k.out), strides4(b.Shape, k.out)
	dense := [4]int{k.out[1] * k.out[2] * k.out[3], k.out[2] * k.out[3], k.out[3], 1}
	k.flat = k.sa == dense && k.sb == dense
	channelRow := func(st [4]int) bool {
		return st[3] == 1 && (st[1] == 0 || k.out[1] == 1) && (st[2] == 0 || k.out[2] == 1)
	}
	switch {
	case k.flat:
	case k.sa == dense && channelRow(k.sb):
		k.rows, k.rowB = true, true
	case k.sb == dense && channelRow(k.sa):
		k.rows = true
	}
	if !a.Const {
		k.aPer = a.Size()
	}
	if !b.Const {
		k.bPer = b.Size()
	}
	return k, shape, nil
}

// broadcastShape is the NumPy broadcast of two shapes of rank up to 4.
func broadcastShape(a, b []int) ([]int, error) {
	if len(a) > 4 || len(b) > 4 {
		return nil, fmt.Errorf("unsupported broadcast of shapes %v and %v (rank above 4)", a, b)
	}
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := i - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// strides4 gives the element stride of a tensor of shape s along each axis
// of the four-axis output shape out, 0 on broadcast axes.
func strides4(s []int, out [4]int) [4]int {
	var st [4]int
	var dims [4]int
	off := 4 - len(s)
	for i := range dims {
		dims[i] = 1
	}
	copy(dims[off:], s)
	step := 1
	for i := 3; i >= 0; i-- {
		if dims[i] != 1 || out[i] == 1 {
			st[i] = step
		}
		if dims[i] == 1 && out[i] != 1 {
			st[i] = 0
		}
		step *= dims[i]
	}
	return st
}

func (k *binaryKernel) run(e *env, ins [][]float32, out []float32) {
	per := len(out) / e.batch
	for img := 0; img < e.batch; img++ {
		a, b := ins[0], ins[1]
		if k.aPer > 0 {
			a = a[img*k.aPer : (img+1)*k.aPer]
		}
		if k.bPer > 0 {
			b = b[img*k.bPer : (img+1)*k.bPer]
		}
		k.runOne(a, b, out[img*per:(img+1)*per])
	}
}

func (k *binaryKernel) runOne(a, b, out []float32) {
	if k.flat {
		if k.mul {
			kernels.Mul(out, a, b)
		} else {
			kernels.Add(out, a, b)
		}
		if k.clamp {
			clampSlice(out, k.lo, k.hi)
		}
		return
	}
	if k.rows && seRows {
		// The image times (or plus) one row of channels: the same
		// products and sums as the loop below (with the operands of
		// each product or sum swapped where a is the row, which
		// changes no result).
		img, row := a, b
		if !k.rowB {
			img, row = b, a
		}
		c, n := k.out[3], k.out[1]*k.out[2]
		if k.mul {
			kernels.MulRows(out, img, row, n, c)
		} else {
			kernels.AddRows(out, img, row, n, c)
		}
		if k.clamp {
			clampSlice(out[:n*c], k.lo, k.hi)
		}
		return
	}
	inner := k.out[3]
	o := 0
	for i0 := 0; i0 < k.out[0]; i0++ {
		for i1 := 0; i1 < k.out[1]; i1++ {
			for i2 := 0; i2 < k.out[2]; i2++ {
				pa := i0*k.sa[0] + i1*k.sa[1] + i2*k.sa[2]
				pb := i0*k.sb[0] + i1*k.sb[1] + i2*k.sb[2]
				dst := out[o : o+inner]
				o += inner
				switch {
				case k.sa[3] == 1 && k.sb[3] == 1:
					x, y := a[pa:pa+inner], b[pb:pb+inner]
					if k.mul {
						kernels.Mul(dst, x, y)
					} else {
						kernels.Add(dst, x, y)
					}
				case k.sa[3] == 1:
					x, y := a[pa:pa+inner], b[pb]
					if k.mul {
						for i := range dst {
							dst[i] = x[i] * y
						}
					} else {
						for i := range dst {
							dst[i] = x[i] + y
						}
					}
				case k.sb[3] == 1:
					x, y := a[pa], b[pb:pb+inner]
					if k.mul {
						for i := range dst {
							dst[i] = x * y[i]
						}
					} else {
						for i := range dst {
							dst[i] = x + y[i]
						}
					}
				default:
					v := a[pa] + b[pb]
					if k.mul {
						v = a[pa] * b[pb]
					}
					for i := range dst {
						dst[i] = v
					}
				}
				if k.clamp {
					clampSlice(dst, k.lo, k.hi)
				}
			}
		}
	}
}

// unaryKernel is an elementwise activation.
type unaryKernel struct {
	op          Op
	lo, hi      float32
	alpha, beta float32
}

func planUnary(g *Graph, n *Node) (kernel, []int, error) {
	ts, err := inputs(g, n, 1, 1)
	if err != nil {
		return nil, nil, err
	}
	k := &unaryKernel{op: n.Op, alpha: n.Alpha, beta: n.Beta}
	if n.Op == OpClamp {
		if n.Act == nil || !(n.Act.Lo <= n.Act.Hi) {
			return nil, nil, fmt.Errorf("clamp needs bounds with min <= max")
		}
		k.lo, k.hi = n.Act.Lo, n.Act.Hi
	}
	return k, slices.Clone(ts[0].Shape), nil
}

func (k *unaryKernel) run(_ *env, ins [][]float32, out []float32) {
	in := ins[0][:len(out)]
	switch k.op {
	case OpClamp:
		copy(out, in)
		clampSlice(out, k.lo, k.hi)
	case OpLeakyRelu:
		for i, x := range in {
			if x < 0 {
				x *= k.alpha
			}
			out[i] = x
		}
	case OpLogistic:
		for i, x := range in {
			out[i] = float32(1 / (1 + math.Exp(-float64(x))))
		}
	case OpHardSwish:
		copy(out, in)
		kernels.HardSwish(out)
	case OpHardSigmoid:
		for i, x := range in {
			out[i] = min(max(k.alpha*x+k.beta, 0), 1)
		}
	}
}

// concatKernel is CONCATENATION along one axis (not the batch axis).
type concatKernel struct {
	outer int   // product of the dimensions before the axis
	inner []int // per input: elements per outer index
	per   []int // per input: elements per image, 0 for a constant
}

func planConcat(g *Graph, n *Node) (kernel, []int, error) {
	if len(n.Inputs) < 1 || len(n.Inputs) > 64 {
		return nil, nil, fmt.Errorf("%d inputs, want 1 to 64", len(n.Inputs))
	}
	var first *Tensor
	k := &concatKernel{}
	var shape []int
	for i, ti := range n.Inputs {
		if ti < 0 {
			return nil, nil, fmt.Errorf("input %d is absent", i)
		}
		t := g.Tensors[ti]
		if t.DType != Float32 {
			return nil, nil, fmt.Errorf("input %q: want FLOAT32, got %s", t.Name, describe(t))
		}
		if first == nil {
			first = t
			shape = slices.Clone(t.Shape)
		}
		rank := len(first.Shape)
		axis := n.Axis
		if axis < 0 {
			axis += rank
		}
		if axis <= 0 || axis >= rank {
			return nil, nil, fmt.Errorf("unsupported axis %d for shape %v", n.Axis, first.Shape)
		}
		if len(t.Shape) != rank {
			return nil, nil, fmt.Errorf("input %q has shape %v, not the rank of %v", t.Name, t.Shape, first.Shape)
		}
		for d := range t.Shape {
			if d != axis && t.Shape[d] != first.Shape[d] {
				return nil, nil, fmt.Errorf("input %q has shape %v, does not match %v off axis %d", t.Name, t.Shape, first.Shape, axis)
			}
		}
		if i > 0 {
			shape[axis] += t.Shape[axis]
		}
		k.outer = NumElements(first.Shape[:axis])
		k.inner = append(k.inner, NumElements(t.Shape[axis:]))
		p := 0
		if !t.Const {
			p = t.Size()
		}
		k.per = append(k.per, p)
	}
	if NumElements(shape) > MaxElements {
		return nil, nil, fmt.Errorf("output shape %v too large", shape)
	}
	return k, shape, nil
}

func (k *concatKernel) run(e *env, ins [][]float32, out []float32) {
	per := len(out) / e.batch
	for img := 0; img < e.batch; img++ {
		o := out[img*per : (img+1)*per]
		pos := 0
		for j := 0; j < k.outer; j++ {
			for i, in := range ins {
				if k.per[i] > 0 {
					in = in[img*k.per[i] : (img+1)*k.per[i]]
				}
				n := k.inner[i]
				pos += copy(o[pos:pos+n], in[j*n:(j+1)*n])
			}
		}
	}
}
