package onnx_test

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cspipe/cspipe/internal/inference/onnx"
	"github.com/cspipe/cspipe/internal/inference/oracle"
)

// A hand-written ONNX model for the spec's variants that exporters emit
// and modelgen does not: one image input [N 3 5 5] (N symbolic), a 3x3
// convolution, a variant-specific middle, global pooling and a classifier.
type specModel struct {
	opset int64
	nodes [][]byte
	inits [][]byte
	batch int // fixed batch dimension, or 0 for "N"
	rng   *rand.Rand
	n     int
}

func newSpecModel(opset int64) *specModel {
	return &specModel{opset: opset, rng: rand.New(rand.NewPCG(uint64(opset), 5))}
}

func pbBytes(b []byte, f protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, f, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func pbVarint(b []byte, f protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, f, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// Attributes (AttributeProto: name 1, f 2, i 3, s 4, t 5, ints 8, type 20).
func aInt(name string, v int64) []byte {
	return pbVarint(pbVarint(pbBytes(nil, 1, []byte(name)), 3, uint64(v)), 20, 2)
}

func aFloat(name string, v float32) []byte {
	b := pbBytes(nil, 1, []byte(name))
	b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, math.Float32bits(v))
	return pbVarint(b, 20, 1)
}

func aInts(name string, v ...int64) []byte {
	b := pbBytes(nil, 1, []byte(name))
	for _, x := range v {
		b = pbVarint(b, 8, uint64(x))
	}
	return pbVarint(b, 20, 7)
}

func aString(name, s string) []byte {
	return pbVarint(pbBytes(pbBytes(nil, 1, []byte(name)), 4, []byte(s)), 20, 3)
}

func (m *specModel) node(op string, ins, outs []string, attrs ...[]byte) {
	var b []byte
	for _, s := range ins {
		b = pbBytes(b, 1, []byte(s))
	}
	for _, s := range outs {
		b = pbBytes(b, 2, []byte(s))
	}
	m.n++
	b = pbBytes(b, 3, []byte(op+string(rune('a'+m.n%26))))
	b = pbBytes(b, 4, []byte(op))
	for _, a := range attrs {
		b = pbBytes(b, 5, a)
	}
	m.nodes = append(m.nodes, b)
}

// tensor encodes a TensorProto with raw data.
func tensor(name string, dims []int, dt uint64, raw []byte) []byte {
	var b []byte
	for _, d := range dims {
		b = pbVarint(b, 1, uint64(d))
	}
	b = pbVarint(b, 2, dt)
	b = pbBytes(b, 8, []byte(name))
	return pbBytes(b, 9, raw)
}

func (m *specModel) floats(name string, dims []int, v []float32) string {
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	m.inits = append(m.inits, tensor(name, dims, 1, raw))
	return name
}

func (m *specModel) random(name string, dims []int, mean, std float64) string {
	n := 1
	for _, d := range dims {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(mean + std*m.rng.NormFloat64())
	}
	return m.floats(name, dims, v)
}

func (m *specModel) ints(name string, v ...int64) string {
	raw := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(x))
	}
	m.inits = append(m.inits, tensor(name, []int{len(v)}, 7, raw))
	return name
}

// stem adds the convolution [N 3 5 5] -> [N 4 5 5] and returns its output.
func (m *specModel) stem() string {
	m.node("Conv", []string{"input", m.random("w0", []int{4, 3, 3, 3}, 0, 0.5), m.random("b0", []int{4}, 0, 0.1)}, []string{"stem"},
		aInts("kernel_shape", 3, 3), aInts("pads", 1, 1, 1, 1))
	return "stem"
}

// head pools x ([N 4 H W]) and classifies it into 6 classes, ending in a
// Softmax as classifiers do: raw logits of a 4-input Gemm can cancel to
// near zero, where float32 summation order alone (the portable kernels
// against ONNX Runtime's) once left 1.4e-5 of relative error.
func (m *specModel) head(x string) {
	m.node("GlobalAveragePool", []string{x}, []string{"pooled"})
	m.node("Flatten", []string{"pooled"}, []string{"flat"}, aInt("axis", 1))
	m.node("Gemm", []string{"flat", m.random("fc_w", []int{6, 4}, 0, 0.5), m.random("fc_b", []int{6}, 0, 0.1)}, []string{"logits"}, aInt("transB", 1))
	m.node("Softmax", []string{"logits"}, []string{"output"}, aInt("axis", 1))
}

func valueInfo(name string, dims []int, dimParam bool) []byte {
	var shape []byte
	for i, d := range dims {
		if i == 0 && dimParam {
			shape = pbBytes(shape, 1, pbBytes(nil, 2, []byte("N")))
			continue
		}
		shape = pbBytes(shape, 1, pbVarint(nil, 1, uint64(d)))
	}
	tt := pbBytes(pbVarint(nil, 1, 1), 2, shape)
	return pbBytes(pbBytes(nil, 1, []byte(name)), 2, pbBytes(nil, 1, tt))
}

func (m *specModel) bytes() []byte {
	var g []byte
	for _, n := range m.nodes {
		g = pbBytes(g, 1, n)
	}
	g = pbBytes(g, 2, []byte("spec"))
	for _, t := range m.inits {
		g = pbBytes(g, 5, t)
	}
	batch := max(m.batch, 1)
	g = pbBytes(g, 11, valueInfo("input", []int{batch, 3, 5, 5}, m.batch == 0))
	g = pbBytes(g, 12, valueInfo("output", []int{batch, 6}, m.batch == 0))
	var b []byte
	b = pbVarint(b, 1, 8)
	b = pbBytes(b, 7, g)
	return pbBytes(b, 8, pbVarint(nil, 2, uint64(m.opset)))
}

// TestSpecFormsMatchORT: variants of the ONNX spec that real exports use,
// each loaded by the engine and compared with ONNX Runtime.
func TestSpecFormsMatchORT(t *testing.T) {
	cases := []struct {
		name  string
		opset int64
		mid   func(m *specModel, x string) string
	}{
		{"gemm_transB0_alpha_beta", 13, func(m *specModel, x string) string {
			m.node("GlobalAveragePool", []string{x}, []string{"p"})
			m.node("Flatten", []string{"p"}, []string{"f"})
			m.node("Gemm", []string{"f", m.random("g_w", []int{4, 4}, 0, 0.5), m.random("g_b", []int{4}, 0, 0.2)}, []string{"g"},
				aFloat("alpha", 0.5), aFloat("beta", 2))
			m.node("Reshape", []string{"g", m.ints("g_shape", -1, 4, 1, 1)}, []string{"r"})
			return "r"
		}},
		{"batchnorm_after_add", 13, func(m *specModel, x string) string {
			m.node("Add", []string{x, m.random("shift", []int{4, 1, 1}, 0, 0.3)}, []string{"a"})
			m.node("BatchNormalization", []string{"a", m.random("s", []int{4}, 1, 0.1), m.random("bb", []int{4}, 0, 0.1),
				m.random("mu", []int{4}, 0, 0.1), m.floats("var", []int{4}, []float32{1.1, 0.9, 1.3, 0.7})}, []string{"bn"}, aFloat("epsilon", 1e-5))
			return "bn"
		}},
		{"clip_attributes_opset10", 10, func(m *specModel, x string) string {
			m.node("Add", []string{x, m.random("shift", []int{4, 1, 1}, 0, 0.3)}, []string{"a"})
			m.node("Clip", []string{"a"}, []string{"c"}, aFloat("min", -0.5), aFloat("max", 0.7))
			return "c"
		}},
		{"clip_min_input_only_opset13", 13, func(m *specModel, x string) string {
			m.node("Clip", []string{x, m.floats("lo", nil, []float32{-0.25}), ""}, []string{"c"})
			return "c"
		}},
		{"pad_constant_value_opset11", 11, func(m *specModel, x string) string {
			m.node("Pad", []string{x, m.ints("pads", 0, 0, 1, 2, 0, 0, 2, 1), m.floats("pv", nil, []float32{0.5})}, []string{"p"})
			m.node("Conv", []string{"p", m.random("w1", []int{4, 1, 3, 3}, 0, 0.5)}, []string{"c"},
				aInts("kernel_shape", 3, 3), aInt("group", 4))
			return "c"
		}},
		{"pad_attributes_opset2_style_opset10", 10, func(m *specModel, x string) string {
			m.node("Pad", []string{x}, []string{"p"}, aInts("pads", 0, 0, 1, 1, 0, 0, 1, 1), aString("mode", "constant"), aFloat("value", 0))
			m.node("MaxPool", []string{"p"}, []string{"c"}, aInts("kernel_shape", 3, 3), aInts("strides", 2, 2))
			return "c"
		}},
		{"dropout_identity", 13, func(m *specModel, x string) string {
			m.node("Dropout", []string{x}, []string{"d"})
			m.node("Identity", []string{"d"}, []string{"i"})
			return "i"
		}},
		{"squeeze_axes_attribute_opset11", 11, func(m *specModel, x string) string {
			m.node("GlobalAveragePool", []string{x}, []string{"p"})
			m.node("Squeeze", []string{"p"}, []string{"s"}, aInts("axes", 2, 3))
			m.node("Unsqueeze", []string{"s"}, []string{"u"}, aInts("axes", 2, 3))
			return "u"
		}},
		{"squeeze_axes_input_opset13", 13, func(m *specModel, x string) string {
			m.node("GlobalAveragePool", []string{x}, []string{"p"})
			m.node("Squeeze", []string{"p", m.ints("sq_axes", 2, 3)}, []string{"s"})
			m.node("Unsqueeze", []string{"s", m.ints("usq_axes", -1, -2)}, []string{"u"})
			return "u"
		}},
		{"reducemean_axes_input_opset18", 18, func(m *specModel, x string) string {
			m.node("ReduceMean", []string{x, m.ints("rm_axes", 2, 3)}, []string{"r"}, aInt("keepdims", 1))
			return "r"
		}},
		{"shape_arithmetic_tf2onnx_style_opset13", 13, func(m *specModel, x string) string {
			// new shape = [Slice(Shape(p), 0, 1), C*H*W] computed with Gather,
			// Mul, Cast, Unsqueeze and Concat, then a reverse-step Slice
			// check: Slice(shape, -1, -5, -1) reversed twice is the same.
			m.node("GlobalAveragePool", []string{x}, []string{"p"})
			m.node("Shape", []string{"p"}, []string{"s"})
			m.node("Slice", []string{"s", m.ints("st", 0), m.ints("en", 1)}, []string{"n"})
			m.node("Gather", []string{"s", m.ints("i1", 1)}, []string{"c"}, aInt("axis", 0))
			m.node("Gather", []string{"s", m.ints("i2", 2)}, []string{"h"}, aInt("axis", 0))
			m.node("Gather", []string{"s", m.ints("i3", -1)}, []string{"w"}, aInt("axis", 0))
			m.node("Mul", []string{"c", "h"}, []string{"ch"})
			m.node("Mul", []string{"ch", "w"}, []string{"chw"})
			m.node("Cast", []string{"chw"}, []string{"chw64"}, aInt("to", 7))
			m.node("Concat", []string{"n", "chw64"}, []string{"ns"}, aInt("axis", 0))
			m.node("Slice", []string{"ns", m.ints("rs", -1), m.ints("re", -5), m.ints("ra", 0), m.ints("rstep", -1)}, []string{"rev"})
			m.node("Slice", []string{"rev", m.ints("rs2", 1), m.ints("re2", -3), m.ints("ra2", 0), m.ints("rstep2", -1)}, []string{"ns2"})
			m.node("Reshape", []string{"p", "ns2"}, []string{"fl"})
			m.node("Reshape", []string{"fl", m.ints("back", -1, 4, 1, 1)}, []string{"b"})
			return "b"
		}},
		{"constant_node_reshape_opset14", 14, func(m *specModel, x string) string {
			m.node("GlobalAveragePool", []string{x}, []string{"p"})
			var shape []byte
			shape = tensor("k", []int{2}, 7, binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 0), 4))
			cv := pbVarint(pbBytes(pbBytes(nil, 1, []byte("value")), 5, shape), 20, 4)
			m.node("Constant", nil, []string{"shape_c"}, cv)
			m.node("Reshape", []string{"p", "shape_c"}, []string{"r"}) // [0 4]: copy the batch
			m.node("Reshape", []string{"r", m.ints("back", -1, 4, 1, 1)}, []string{"b"})
			return "b"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newSpecModel(tc.opset)
			m.head(tc.mid(m, m.stem()))
			b := m.bytes()
			e, err := onnx.Load(b)
			if err != nil {
				t.Fatal(err)
			}
			const batch = 2
			in := oracle.RandomImages(uint64(len(tc.name)), batch*5*5*3)
			got := make([]float32, batch*e.NumClasses())
			if err := e.Run(in, batch, got); err != nil {
				t.Fatal(err)
			}
			oracle.Require(t)
			oracle.Compare(t, "onnx runtime", got, oracle.Run(t, oracle.ORTNCHW, b, in, batch), batch)
		})
	}
}

// TestSpecFormsRefused: what the engine cannot run is refused at load,
// naming the operator or feature and what to do.
func TestSpecFormsRefused(t *testing.T) {
	cases := []struct {
		name  string
		opset int64
		edit  func(m *specModel, x string) string
		want  string
	}{
		{"external_data", 13, func(m *specModel, x string) string {
			ext := tensor("shift", []int{4, 1, 1}, 1, nil)
			ext = pbBytes(ext, 13, pbBytes(pbBytes(nil, 1, []byte("location")), 2, []byte("weights.bin")))
			ext = pbVarint(ext, 14, 1)
			m.inits = append(m.inits, ext)
			m.node("Add", []string{x, "shift"}, []string{"a"})
			return "a"
		}, "external data is not supported (save the model with its weights inside)"},
		{"float16_initializer", 13, func(m *specModel, x string) string {
			m.inits = append(m.inits, tensor("shift", []int{4, 1, 1}, 10, make([]byte, 8)))
			m.node("Add", []string{x, "shift"}, []string{"a"})
			return "a"
		}, "unsupported data type FLOAT16"},
		{"fixed_batch", 13, func(m *specModel, x string) string { m.batch = 4; return x },
			"fixed batch size 4; export with a symbolic or unit batch dimension"},
		{"reflect_pad", 13, func(m *specModel, x string) string {
			m.node("Pad", []string{x, m.ints("pads", 0, 0, 1, 1, 0, 0, 1, 1)}, []string{"p"}, aString("mode", "reflect"))
			return "p"
		}, `unsupported pad mode "reflect"`},
		{"resize", 13, func(m *specModel, x string) string {
			m.node("Resize", []string{x, "", m.floats("scales", []int{4}, []float32{1, 1, 2, 2})}, []string{"r"})
			return "r"
		}, "unsupported operator Resize"},
		{"opset_22", 22, func(m *specModel, x string) string { return x }, "unsupported opset version 22"},
		{"qlinearconv_per_channel_zero_points", 13, func(m *specModel, x string) string {
			m.inits = append(m.inits,
				tensor("xzp", nil, 2, []byte{128}),
				tensor("wq", []int{4, 4, 1, 1}, 3, make([]byte, 16)),
				tensor("wzp", []int{4}, 3, []byte{0, 1, 0, 2}),
				tensor("yzp", nil, 2, []byte{128}))
			m.floats("xs", nil, []float32{0.02})
			m.floats("ws", []int{4}, []float32{0.01, 0.02, 0.01, 0.03})
			m.floats("ys", nil, []float32{0.05})
			m.node("QuantizeLinear", []string{x, "xs", "xzp"}, []string{"xq"})
			m.node("QLinearConv", []string{"xq", "xs", "xzp", "wq", "ws", "wzp", "ys", "yzp"}, []string{"yq"})
			m.node("DequantizeLinear", []string{"yq", "ys", "yzp"}, []string{"y"})
			return "y"
		}, "per-channel weight zero points other than 0 are not supported"},
		{"dropout_mask", 13, func(m *specModel, x string) string {
			m.node("Dropout", []string{x}, []string{"d", "mask"})
			return "d"
		}, "dropout mask output is not supported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newSpecModel(tc.opset)
			m.head(tc.edit(m, m.stem()))
			_, err := onnx.Load(m.bytes())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
