package modelgen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// Quantize returns the full-integer form of a float graph as TFLite's
// converter emits it with post-training int8 quantization: a QUANTIZE after
// the float input, INT8 activations with per-tensor scale and zero point
// calibrated on the images in calib (batch NHWC images), convolution and
// depthwise filters quantized symmetrically per output channel, fully
// connected weights per tensor, INT32 biases at the input scale times the
// weight scale, SOFTMAX output at scale 1/256 and zero point -128, and a
// DEQUANTIZE before the float output. Pooling, reshape and padding keep
// their input's parameters and CONCATENATION's inputs share its output's,
// as TFLite requires.
func Quantize(g *Graph, calib []float32, batch int) (*Graph, error) {
	ranges, err := calibrate(g, calib, batch)
	if err != nil {
		return nil, err
	}
	q := &Graph{Tensors: slices.Clone(g.Tensors), Input: g.Input}
	params := func(ti int) (float32, int64) {
		lo, hi := min(ranges[ti][0], 0), max(ranges[ti][1], 0)
		scale := (hi - lo) / 255
		if scale <= 0 {
			scale = 1.0 / 256
		}
		zp := math.Round(-128 - lo/scale)
		return float32(scale), int64(max(min(zp, 127), -128))
	}
	setAct := func(ti int, scale float32, zp int64) {
		t := &q.Tensors[ti]
		t.Type, t.Quant = tflite.TypeInt8, &Quant{Scale: []float32{scale}, ZeroPoint: []int64{zp}}
	}
	// The float input feeds a QUANTIZE into a new INT8 input tensor.
	qin := len(q.Tensors)
	q.Tensors = append(q.Tensors, Tensor{Name: "input_int8", Shape: slices.Clone(g.Tensors[g.Input].Shape)})
	s, z := params(g.Input)
	setAct(qin, s, z)
	q.Ops = append(q.Ops, Op{Code: tflite.OpQuantize, Inputs: []int{g.Input}, Outputs: []int{qin}})
	for _, op := range g.Ops {
		op.Inputs = slices.Clone(op.Inputs)
		for i, ti := range op.Inputs {
			if ti == g.Input {
				op.Inputs[i] = qin
			}
		}
		in := q.Tensors[op.Inputs[0]]
		out := op.Outputs[0]
		switch op.Code {
		case tflite.OpConv2D, tflite.OpDepthwiseConv2D, tflite.OpFullyConnected:
			s, z := params(out)
			setAct(out, s, z)
			axis := 0
			perChannel := op.Code != tflite.OpFullyConnected
			if op.Code == tflite.OpDepthwiseConv2D {
				axis = 3
			}
			ws := quantizeWeights(&q.Tensors[op.Inputs[1]], axis, perChannel)
			if len(op.Inputs) > 2 && op.Inputs[2] >= 0 {
				quantizeBias(&q.Tensors[op.Inputs[2]], in.Quant.Scale[0], ws)
			}
		case tflite.OpAveragePool2D, tflite.OpMaxPool2D, tflite.OpReshape, tflite.OpSqueeze, tflite.OpPad:
			setAct(out, in.Quant.Scale[0], in.Quant.ZeroPoint[0])
		case tflite.OpSoftmax:
			setAct(out, 1.0/256, -128)
		case tflite.OpConcatenation:
			// TFLite's int8 CONCATENATION wants one scale and zero point
			// for all inputs and the output: take the union of their ranges.
			for _, ti := range op.Inputs {
				ranges[out][0] = min(ranges[out][0], ranges[ti][0])
				ranges[out][1] = max(ranges[out][1], ranges[ti][1])
			}
			s, z := params(out)
			setAct(out, s, z)
			for _, ti := range op.Inputs {
				setAct(ti, s, z)
			}
		case tflite.OpAdd, tflite.OpMul, tflite.OpMean:
			s, z := params(out)
			setAct(out, s, z)
		default:
			return nil, fmt.Errorf("quantizing: operator %s is not supported", tflite.OpName(op.Code))
		}
		q.Ops = append(q.Ops, op)
	}
	for i, t := range q.Tensors {
		if t.Float != nil {
			return nil, fmt.Errorf("quantizing: float constant %q left", g.Tensors[i].Name)
		}
	}
	q.Output = len(q.Tensors)
	q.Tensors = append(q.Tensors, Tensor{Name: "output_float", Shape: slices.Clone(g.Tensors[g.Output].Shape)})
	q.Ops = append(q.Ops, Op{Code: tflite.OpDequantize, Inputs: []int{g.Output}, Outputs: []int{q.Output}})
	return q, nil
}

// CalibrationImages returns n values uniform in [-1, 1) from seed, for
// Quantize's calibration when no real images are at hand.
func CalibrationImages(seed uint64, n int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(2*rng.Float64() - 1)
	}
	return v
}

// quantizeWeights replaces t's float data by symmetric int8 values, one
// scale per slice along axis (or one for the tensor), and returns the scales
// per output channel.
func quantizeWeights(t *Tensor, axis int, perChannel bool) []float32 {
	channels := t.Shape[axis]
	inner := 1
	for _, d := range t.Shape[axis+1:] {
		inner *= d
	}
	maxAbs := make([]float32, channels)
	for i, v := range t.Float {
		c := (i / inner) % channels
		maxAbs[c] = max(maxAbs[c], float32(math.Abs(float64(v))))
	}
	if !perChannel {
		m := slices.Max(maxAbs)
		for c := range maxAbs {
			maxAbs[c] = m
		}
	}
	scales := make([]float32, channels)
	for c, m := range maxAbs {
		scales[c] = m / 127
		if scales[c] == 0 {
			scales[c] = 1
		}
	}
	t.Int8 = make([]int8, len(t.Float))
	for i, v := range t.Float {
		r := math.Round(float64(v / scales[(i/inner)%channels]))
		t.Int8[i] = int8(max(min(r, 127), -127))
	}
	t.Float, t.Type = nil, tflite.TypeInt8
	if perChannel {
		t.Quant, t.QuantAxis = &Quant{Scale: scales, ZeroPoint: make([]int64, channels)}, axis
	} else {
		t.Quant = &Quant{Scale: scales[:1], ZeroPoint: []int64{0}}
	}
	return scales
}

// quantizeBias replaces t's float data by INT32 values at scale inScale*ws[c].
func quantizeBias(t *Tensor, inScale float32, ws []float32) {
	t.Int = make([]int32, len(t.Float))
	for i, v := range t.Float {
		t.Int[i] = int32(math.Round(float64(v) / (float64(inScale) * float64(ws[i]))))
	}
	t.Float = nil
}

// calibrate returns each activation tensor's [min, max] over the float
// graph run on calib. Each operator runs by itself, as a one-operator model
// in the engine, on the values its inputs took, so the cost is one pass
// over the graph instead of one per tensor. A second activation input (ADD,
// MUL, CONCATENATION of two branches) becomes a constant holding one
// image's values, and that operator runs image by image.
func calibrate(g *Graph, calib []float32, batch int) ([][2]float64, error) {
	ranges := make([][2]float64, len(g.Tensors))
	note := func(ti int, v []float32) {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, x := range v {
			lo, hi = min(lo, float64(x)), max(hi, float64(x))
		}
		ranges[ti] = [2]float64{lo, hi}
	}
	note(g.Input, calib)
	// Values are kept until the last operator that reads them has run.
	last := map[int]int{}
	for i, op := range g.Ops {
		for _, ti := range op.Inputs {
			last[ti] = i
		}
	}
	last[g.Output] = len(g.Ops)
	vals := map[int][]float32{g.Input: calib}
	// One builder writes every operator's file: a fresh megabyte each was
	// most of calibration's cost outside the engine.
	fb := flatbuffers.NewBuilder(1 << 20)
	for i, op := range g.Ops {
		ti := op.Outputs[0]
		out, err := runAlone(g, op, vals, batch, fb)
		if err != nil {
			return nil, fmt.Errorf("calibrating tensor %q: %w", g.Tensors[ti].Name, err)
		}
		note(ti, out)
		vals[ti] = out
		for _, in := range op.Inputs {
			if last[in] == i {
				delete(vals, in)
			}
		}
	}
	return ranges, nil
}

// runAlone runs op of g as a one-operator model on the recorded values of
// its activation inputs (batch images each) and returns its output's values.
func runAlone(g *Graph, op Op, vals map[int][]float32, batch int, fb *flatbuffers.Builder) ([]float32, error) {
	main := -1
	var others []int
	for _, ti := range op.Inputs {
		if ti < 0 || g.Tensors[ti].IsConst() {
			continue
		}
		if _, ok := vals[ti]; !ok {
			return nil, fmt.Errorf("input tensor %q has no recorded values", g.Tensors[ti].Name)
		}
		switch {
		case main < 0:
			main = ti
		case ti != main:
			others = append(others, ti)
		}
	}
	if main < 0 {
		return nil, fmt.Errorf("operator %s has no activation input", tflite.OpName(op.Code))
	}
	run := func(in []float32, n int, image int) ([]float32, error) {
		gr, err := tflite.Read(aloneGraph(g, op, main, others, vals, image).tflite(fb))
		if err != nil {
			return nil, err
		}
		m, err := graph.Plan(gr)
		if err != nil {
			return nil, err
		}
		out := make([]float32, n*m.NumClasses())
		if err := m.Run(in, n, out); err != nil {
			return nil, err
		}
		return out, nil
	}
	in := vals[main]
	if len(others) == 0 {
		return run(in, batch, -1)
	}
	per := len(in) / batch
	var out []float32
	for b := range batch {
		o, err := run(in[b*per:(b+1)*per], 1, b)
		if err != nil {
			return nil, err
		}
		out = append(out, o...)
	}
	return out, nil
}

// aloneGraph is op as a one-operator graph whose input is the tensor main
// (through a RESHAPE from [1 1 1 N] when main is not NHWC, the only input
// shape the engine takes) and whose other activation inputs are constants
// holding image's values.
func aloneGraph(g *Graph, op Op, main int, others []int, vals map[int][]float32, image int) *Graph {
	a := &Graph{}
	shape := g.Tensors[main].Shape
	src := a.add(Tensor{Name: "calibration_input", Shape: slices.Clone(shape)})
	if len(shape) != 4 {
		a.Tensors[src].Shape = []int{1, 1, 1, numElements(shape)}
		s := make([]int32, len(shape))
		for i, d := range shape {
			s[i] = int32(d)
		}
		si := a.add(Tensor{Name: "calibration_shape", Shape: []int{len(shape)}, Int: s})
		x := a.add(Tensor{Name: g.Tensors[main].Name, Shape: slices.Clone(shape)})
		a.Ops = append(a.Ops, Op{Code: tflite.OpReshape, Inputs: []int{src, si}, Outputs: []int{x}, NewShape: slices.Clone(shape)})
		src = x
	}
	op.Inputs = slices.Clone(op.Inputs)
	for i, ti := range op.Inputs {
		switch {
		case ti < 0:
		case ti == main:
			op.Inputs[i] = src
		case slices.Contains(others, ti):
			per := numElements(g.Tensors[ti].Shape)
			t := g.Tensors[ti]
			t.Float = vals[ti][image*per : (image+1)*per]
			op.Inputs[i] = a.add(t)
		default:
			op.Inputs[i] = a.add(g.Tensors[ti])
		}
	}
	out := a.add(Tensor{Name: g.Tensors[op.Outputs[0]].Name, Shape: slices.Clone(g.Tensors[op.Outputs[0]].Shape)})
	op.Outputs = []int{out}
	a.Ops = append(a.Ops, op)
	a.Output = out
	return a
}
