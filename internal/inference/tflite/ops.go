package tflite

import (
	"fmt"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// planOp checks one operator and returns its kernel and output shape.
func planOp(g *rawGraph, op rawOp) (kernel, []int, error) {
	switch op.code {
	case OpConv2D:
		return planConv(g, op)
	case OpDepthwiseConv2D:
		return planDepthwise(g, op)
	case OpAveragePool2D, OpMaxPool2D:
		return planPool(g, op)
	case OpMean:
		return planMean(g, op)
	case OpFullyConnected:
		return planFC(g, op)
	case OpReshape, OpSqueeze:
		return planReshape(g, op)
	case OpPad:
		return planPad(g, op)
	case OpAdd:
		return planAdd(g, op)
	case OpSoftmax:
		return planSoftmax(g, op)
	}
	return nil, nil, fmt.Errorf("unsupported operator %s", opName(op.code))
}

// options returns the builtin options table after checking its union tag.
func options(g *rawGraph, op rawOp, want int) (fbTable, error) {
	if !op.hasOpts {
		return fbTable{}, fmt.Errorf("missing builtin options")
	}
	if op.optType != want {
		return fbTable{}, fmt.Errorf("builtin options of type %d, want %d", op.optType, want)
	}
	return op.opts, nil
}

// inputs checks the input count and returns the tensors (nil for -1).
func inputs(g *rawGraph, op rawOp, minN, maxN int) ([]*tensor, error) {
	if len(op.inputs) < minN || len(op.inputs) > maxN {
		return nil, fmt.Errorf("%d inputs, want %d to %d", len(op.inputs), minN, maxN)
	}
	ts := make([]*tensor, len(op.inputs))
	for i, ti := range op.inputs {
		if ti < 0 {
			if i < minN {
				return nil, fmt.Errorf("required input %d is absent", i)
			}
			continue
		}
		t := g.tensors[ti]
		if i == 0 && t.typ != TypeFloat32 {
			return nil, fmt.Errorf("input %q has unsupported tensor type %s", t.name, typeName(t.typ))
		}
		ts[i] = t
	}
	return ts, nil
}

// activation maps a fused activation code to clamp bounds.
func activation(code int) (lo, hi float32, err error) {
	switch code {
	case ActNone:
		return kernels.NoClampLo, kernels.NoClampHi, nil
	case ActRelu:
		return 0, kernels.NoClampHi, nil
	case ActRelu6:
		return 0, 6, nil
	}
	names := map[int]string{2: "RELU_N1_TO_1", 4: "TANH", 5: "SIGN_BIT"}
	if n, ok := names[code]; ok {
		return 0, 0, fmt.Errorf("unsupported fused activation %s", n)
	}
	return 0, 0, fmt.Errorf("unsupported fused activation %d", code)
}

// window2D is window along both axes of an NHWC image: output height and width, and the padding
// before the first row and column.
func window2D(padding, h, w, kh, kw, sh, sw int) (oh, ow, padT, padL int, err error) {
	if oh, padT, err = window(padding, h, kh, sh); err != nil {
		return 0, 0, 0, 0, err
	}
	if ow, padL, err = window(padding, w, kw, sw); err != nil {
		return 0, 0, 0, 0, err
	}
	return oh, ow, padT, padL, nil
}

// window computes output size and leading padding along one axis.
func window(padding, in, k, stride int) (out, padBefore int, err error) {
	if stride <= 0 || k <= 0 || stride > 1<<16 || k > 1<<16 {
		return 0, 0, fmt.Errorf("unsupported stride %d or window %d", stride, k)
	}
	switch padding {
	case PaddingSame:
		out = (in + stride - 1) / stride
		total := max((out-1)*stride+k-in, 0)
		return out, total / 2, nil
	case PaddingValid:
		out = (in - k + stride) / stride
		if in < k {
			return 0, 0, fmt.Errorf("window %d larger than input %d with VALID padding", k, in)
		}
		return out, 0, nil
	}
	return 0, 0, fmt.Errorf("unsupported padding %d", padding)
}

// constFloat checks that t is a FLOAT32 constant with the given shape.
func constFloat(t *tensor, what string, shape ...int) error {
	if t == nil || !t.konst || t.typ != TypeFloat32 {
		return fmt.Errorf("%s must be a FLOAT32 constant", what)
	}
	if len(t.shape) != len(shape) {
		return fmt.Errorf("%s has shape %v, want %v", what, t.shape, shape)
	}
	for i, d := range shape {
		if d >= 0 && t.shape[i] != d {
			return fmt.Errorf("%s has shape %v, want %v", what, t.shape, shape)
		}
	}
	return nil
}

// image4 checks an NHWC activation with batch 1.
func image4(t *tensor) (h, w, c int, err error) {
	if len(t.shape) != 4 || t.shape[0] != 1 {
		return 0, 0, 0, fmt.Errorf("input %q has unsupported shape %v, want [1 H W C]", t.name, t.shape)
	}
	return t.shape[1], t.shape[2], t.shape[3], nil
}

// bias returns the bias data, zeros when the optional input is absent.
func biasData(t *tensor, n int) ([]float32, error) {
	if t == nil {
		return make([]float32, n), nil
	}
	if err := constFloat(t, "bias", n); err != nil {
		return nil, err
	}
	return t.data, nil
}

// parallelFor splits [0, n) into at most threads chunks, each a multiple of
// grain, and runs fn on them concurrently.
func parallelFor(threads, n, grain int, fn func(lo, hi int)) {
	chunks := min(threads, (n+grain-1)/grain)
	if chunks <= 1 {
		fn(0, n)
		return
	}
	per := (n + chunks - 1) / chunks
	per = (per + grain - 1) / grain * grain
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
func clampSlice(v []float32, lo, hi float32) {
	for i, x := range v {
		if x < lo {
			x = lo
		}
		if x > hi {
			x = hi
		}
		v[i] = x
	}
}

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
