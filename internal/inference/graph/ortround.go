package graph

import "math"

// INT8 operators with ONNX Runtime's rounding, for quantized ONNX models
// (Node.ORTRounding). ORT requantizes every operator once (a float scale,
// ties to even) where TFLite's interpreter rounds the depthwise
// convolution's rescale twice and the average pool's mean half away from
// zero; those two differ by one quantum on about 0.5 % and 2 % of their
// outputs, and the differences grow through a network. The other INT8
// operators already agree with ORT on their outputs.

// planORTQuant plans the operators whose rounding differs, reporting
// false for the others (planQuant's kernels serve both).
func planORTQuant(g *Graph, n *Node) (kernel, []int, bool, error) {
	switch n.Op {
	case OpDepthwiseConv2D:
		k, shape, err := planQuant(g, n)
		if err != nil {
			return nil, nil, true, err
		}
		// planQuant rounds the rescale once for a node from ONNX
		// (qconvKernel.singleRound), on the vector path and the scalar one.
		return k, shape, true, nil
	case OpAveragePool2D:
		k, shape, err := planQuant(g, n)
		if err != nil {
			return nil, nil, true, err
		}
		qk := k.(*qpoolKernel)
		in, err := perTensor(g.Tensors[n.Inputs[0]])
		if err != nil {
			return nil, nil, true, err
		}
		qk.roundEven, qk.zp = true, in.zp
		return qk, shape, true, nil
	case OpMean:
		if !n.QLinearMean {
			return nil, nil, false, nil
		}
		k, shape, err := planQuant(g, n)
		if err != nil {
			return nil, nil, true, err
		}
		return &qlinearMeanKernel{qmeanKernel: k.(*qmeanKernel)}, shape, true, nil
	}
	return nil, nil, false, nil
}

// qlinearMeanKernel is MEAN as onnxruntime's QLinearGlobalAveragePool
// computes it: the integer sum less count times the input zero point,
// times the float32 scale in/count/out, rounded to nearest even.
type qlinearMeanKernel struct{ *qmeanKernel }

func (k qlinearMeanKernel) run(e *env, ins [][]float32, out []float32) {
	d := k.dims
	inN := d[0] * d[1] * d[2] * d[3]
	outN := inN / k.count
	src, dst := int8s(ins[0]), int8s(out)
	sums := make([]int32, outN)
	scale := float32(k.in.scale) / float32(k.count) / float32(k.out.scale)
	for img := 0; img < e.batch; img++ {
		in := src[img*inN : (img+1)*inN]
		clear(sums)
		i := 0
		for a := 0; a < d[0]; a++ {
			for b := 0; b < d[1]; b++ {
				for c := 0; c < d[2]; c++ {
					for x := 0; x < d[3]; x++ {
						sums[k.outIndex(a, b, c, x)] += int32(in[i])
						i++
					}
				}
			}
		}
		o := dst[img*outN : (img+1)*outN]
		for j, s := range sums {
			v := float32(s-int32(k.count)*k.in.zp) * scale
			q := int32(math.RoundToEven(float64(v))) + k.out.zp
			o[j] = int8(clamp32(q, -128, 127))
		}
	}
}

// divRoundEven is a/b (b > 0) rounded to the nearest integer, ties to even.
func divRoundEven(a, b int32) int32 {
	q, r := a/b, a%b
	if r < 0 {
		q, r = q-1, r+b
	}
	// a/b = q + r/b with 0 <= r < b.
	switch {
	case 2*r > b, 2*r == b && q%2 != 0:
		q++
	}
	return q
}
