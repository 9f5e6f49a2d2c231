package modelgen

import (
	"encoding/binary"
	"math"
	"slices"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// Forms of a TFLite file that real converters write and the builders above
// do not: FLOAT16 or INT8 weights behind DEQUANTIZE operators, Keras's
// SHAPE/STRIDED_SLICE/PACK chain computing a RESHAPE's shape, weights
// stored past the flatbuffer by offset and size, a SignatureDef and
// metadata, and a second subgraph. The tflite reader's tests write each
// form and check that it loads to the numbers of the plain graph, or is
// refused by name.

// Model table fields the reader does not need but converters write.
const (
	modelMetadata      = 6
	modelSignatureDefs = 7
)

// TFLiteOptions selects optional parts of the written file.
type TFLiteOptions struct {
	// ExternalBuffers stores every constant's data after the flatbuffer,
	// found by the Buffer's offset (from the file's start) and size, as
	// converters do for files above 2 GB.
	ExternalBuffers bool
	// SignatureDef adds a "serving_default" signature naming the input
	// and output, and a min_runtime_version metadata entry, as the TF2
	// converter writes them.
	SignatureDef bool
	// ExtraSubgraph appends an empty second subgraph (control flow and
	// initializer subgraphs look like this to a reader).
	ExtraSubgraph bool
}

// TFLiteWith encodes the graph like TFLite with the given options.
func (g *Graph) TFLiteWith(o TFLiteOptions) []byte {
	b := flatbuffers.NewBuilder(1 << 20)
	if !o.ExternalBuffers {
		return slices.Clone(g.tfliteWith(b, o, nil))
	}
	// Two passes: placeholders of the same width fix the flatbuffer's
	// size, then the data goes after it at 16-byte aligned offsets.
	size := len(g.tfliteWith(b, o, nil))
	ext := []uint64{0} // buffer 0 is the empty sentinel
	var blobs [][]byte
	end := uint64(size)
	for i := range g.Tensors {
		if t := &g.Tensors[i]; t.IsConst() {
			end = (end + 15) &^ 15
			data := tensorBytes(t)
			ext = append(ext, end)
			blobs = append(blobs, data)
			end += uint64(len(data))
		}
	}
	out := slices.Clone(g.tfliteWith(b, o, ext))
	if len(out) != size {
		panic("modelgen: external buffer layout changed between passes")
	}
	for i, data := range blobs {
		out = append(out, make([]byte, int(ext[i+1])-len(out))...)
		out = append(out, data...)
	}
	return out
}

// modelExtras writes the metadata and signature vectors (0 when off).
func (g *Graph) modelExtras(b *flatbuffers.Builder, o TFLiteOptions) (meta, sigs flatbuffers.UOffsetT) {
	if !o.SignatureDef {
		return 0, 0
	}
	tensorMap := func(name string, t int) flatbuffers.UOffsetT {
		n := b.CreateString(name)
		b.StartObject(2)
		b.PrependUOffsetTSlot(0, n, 0)
		b.PrependUint32Slot(1, uint32(t), 1<<31)
		return b.EndObject()
	}
	ins := offsetVector(b, []flatbuffers.UOffsetT{tensorMap("input_1", g.Input)})
	outs := offsetVector(b, []flatbuffers.UOffsetT{tensorMap("predictions", g.Output)})
	key := b.CreateString("serving_default")
	b.StartObject(5)
	b.PrependUOffsetTSlot(0, ins, 0)
	b.PrependUOffsetTSlot(1, outs, 0)
	b.PrependUOffsetTSlot(2, key, 0)
	b.PrependUint32Slot(4, 0, 1)
	sig := b.EndObject()
	sigs = offsetVector(b, []flatbuffers.UOffsetT{sig})
	// The metadata entry names a buffer; buffer 0 (empty) keeps the
	// buffer list unchanged, which is all a reader that skips it needs.
	name := b.CreateString("min_runtime_version")
	b.StartObject(2)
	b.PrependUOffsetTSlot(0, name, 0)
	b.PrependUint32Slot(1, 0, 1)
	meta = offsetVector(b, []flatbuffers.UOffsetT{b.EndObject()})
	return meta, sigs
}

// emptySubgraph writes a subgraph without tensors or operators.
func emptySubgraph(b *flatbuffers.Builder) flatbuffers.UOffsetT {
	empty := intVector(b, nil)
	name := b.CreateString("init")
	b.StartObject(5)
	b.PrependUOffsetTSlot(tflite.SubGraphInputs, empty, 0)
	b.PrependUOffsetTSlot(tflite.SubGraphOutputs, empty, 0)
	b.PrependUOffsetTSlot(tflite.SubGraphName, name, 0)
	return b.EndObject()
}

// clone copies g deeply enough for the form rewriters.
func (g *Graph) clone() *Graph {
	c := *g
	c.Tensors = slices.Clone(g.Tensors)
	c.Ops = slices.Clone(g.Ops)
	return &c
}

// weightInputs lists the float weight and bias tensors of g's
// convolutions and fully connected layers.
func (g *Graph) weightInputs() []int {
	var ws []int
	for _, op := range g.Ops {
		switch op.Code {
		case tflite.OpConv2D, tflite.OpDepthwiseConv2D, tflite.OpFullyConnected:
			for _, ti := range op.Inputs[1:] {
				if t := g.Tensors[ti]; t.Float != nil && !slices.Contains(ws, ti) {
					ws = append(ws, ti)
				}
			}
		}
	}
	return ws
}

// Float16Weights returns g's float16-quantized form as TFLite's converter
// writes it (FLOAT16 weights, each read through a DEQUANTIZE placed before
// the first operator) and the float32 graph with the same rounded weights,
// which must compute the same numbers.
func Float16Weights(g *Graph) (half, rounded *Graph) {
	half, rounded = g.clone(), g.clone()
	var deq []Op
	for _, ti := range g.weightInputs() {
		t := g.Tensors[ti]
		raw := make([]byte, 2*len(t.Float))
		r := make([]float32, len(t.Float))
		for j, v := range t.Float {
			h := floatToHalf(v)
			binary.LittleEndian.PutUint16(raw[2*j:], h)
			r[j] = halfToFloat32(h)
		}
		rounded.Tensors[ti].Float = r
		src := half.add(Tensor{Name: t.Name + "_fp16", Shape: slices.Clone(t.Shape), Type: tflite.TypeFloat16, Raw: raw})
		half.Tensors[ti] = Tensor{Name: t.Name, Shape: slices.Clone(t.Shape)}
		deq = append(deq, Op{Code: tflite.OpDequantize, Inputs: []int{src}, Outputs: []int{ti}})
	}
	half.Ops = append(deq, half.Ops...)
	return half, rounded
}

// Int8Weights returns g with its convolution and fully connected weights
// (not biases) stored as per-channel symmetric INT8 behind DEQUANTIZE
// operators (weight-only quantization), and the float32 graph with the
// dequantized weights.
func Int8Weights(g *Graph) (q, deq *Graph) {
	q, deq = g.clone(), g.clone()
	var ops []Op
	for _, op := range g.Ops {
		if op.Code != tflite.OpConv2D && op.Code != tflite.OpDepthwiseConv2D && op.Code != tflite.OpFullyConnected {
			continue
		}
		ti := op.Inputs[1]
		t := g.Tensors[ti]
		if t.Float == nil {
			continue
		}
		axis := 0
		if op.Code == tflite.OpDepthwiseConv2D {
			axis = 3
		}
		wt := Tensor{Name: t.Name + "_int8", Shape: slices.Clone(t.Shape), Type: tflite.TypeInt8}
		wt.Int8 = make([]int8, len(t.Float))
		channels := t.Shape[axis]
		inner := 1
		for _, d := range t.Shape[axis+1:] {
			inner *= d
		}
		scale := make([]float32, channels)
		for j, v := range t.Float {
			c := (j / inner) % channels
			scale[c] = max(scale[c], float32(math.Abs(float64(v)))/127)
		}
		real := make([]float32, len(t.Float))
		for j, v := range t.Float {
			c := (j / inner) % channels
			qv := int8(math.Round(float64(v / scale[c])))
			wt.Int8[j] = qv
			real[j] = scale[c] * float32(int32(qv))
		}
		wt.Quant = &Quant{Scale: scale, ZeroPoint: make([]int64, channels)}
		wt.QuantAxis = axis
		deq.Tensors[ti].Float = real
		src := q.add(wt)
		q.Tensors[ti] = Tensor{Name: t.Name, Shape: slices.Clone(t.Shape)}
		ops = append(ops, Op{Code: tflite.OpDequantize, Inputs: []int{src}, Outputs: []int{ti}})
	}
	q.Ops = append(ops, q.Ops...)
	return q, deq
}

// KerasFlatten adds the RESHAPE that Keras's Flatten becomes in TFLite
// when the converter keeps the batch dimension symbolic: the new shape
// [batch, -1] is computed as PACK(STRIDED_SLICE(SHAPE(x), 0, 1, shrink), -1).
func (g *Graph) KerasFlatten(x int) int {
	s := g.Shape(x)
	shape := g.activation([]int{len(s)})
	g.Ops = append(g.Ops, Op{Code: tflite.OpShape, Inputs: []int{x}, Outputs: []int{shape}, ShapeType: tflite.TypeInt32})
	begin := g.ints("begin", []int{1}, []int32{0})
	end := g.ints("end", []int{1}, []int32{1})
	stride := g.ints("stride", []int{1}, []int32{1})
	batch := g.activation(nil)
	g.Ops = append(g.Ops, Op{Code: tflite.OpStridedSlice, Inputs: []int{shape, begin, end, stride}, Outputs: []int{batch}, ShrinkMask: 1})
	minus1 := g.ints("minus_one", nil, []int32{-1})
	newShape := g.activation([]int{2})
	g.Ops = append(g.Ops, Op{Code: tflite.OpPack, Inputs: []int{batch, minus1}, Outputs: []int{newShape}})
	for _, t := range []int{shape, batch, newShape} {
		g.Tensors[t].Type = tflite.TypeInt32
	}
	n := 1
	for _, d := range s[1:] {
		n *= d
	}
	y := g.activation([]int{s[0], n})
	g.Ops = append(g.Ops, Op{Code: tflite.OpReshape, Inputs: []int{x, newShape}, Outputs: []int{y}})
	return y
}

// floatToHalf rounds a float32 to the nearest IEEE 754 binary16, ties to
// even; values beyond the half range become infinities.
func floatToHalf(f float32) uint16 {
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int(bits>>23) & 0xff
	mant := bits & 0x7fffff
	switch {
	case exp == 0xff: // infinity or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp-127 > 15:
		return sign | 0x7c00
	case exp-127 >= -14: // normal half
		h := uint32(exp-127+15)<<10 | mant>>13
		rest := mant & 0x1fff
		if rest > 0x1000 || (rest == 0x1000 && h&1 == 1) {
			h++ // may carry into the exponent, which is still right
		}
		return sign | uint16(h)
	case exp-127 >= -25: // subnormal half: mant with its implicit bit, shifted
		m := mant | 0x800000
		shift := uint(-14-(exp-127)) + 13
		h := m >> shift
		rest := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rest > half || (rest == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	return sign
}

// halfToFloat32 widens a binary16 value exactly.
func halfToFloat32(h uint16) float32 {
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	var v float64
	switch exp {
	case 0x1f:
		if mant != 0 {
			return float32(math.NaN())
		}
		v = math.Inf(1)
	case 0:
		v = mant * math.Pow(2, -24)
	default:
		v = (1 + mant/1024) * math.Pow(2, float64(exp-15))
	}
	if h&0x8000 != 0 {
		v = -v
	}
	return float32(v)
}
