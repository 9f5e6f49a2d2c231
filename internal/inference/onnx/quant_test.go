package onnx_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/cpu"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cspipe/cspipe/internal/errclass"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/onnx"
	"github.com/cspipe/cspipe/internal/inference/oracle"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// qdqCases are modelgen's int8 test models (modelgen.QuantCases).
func qdqCases(t *testing.T) map[string]*modelgen.Graph {
	t.Helper()
	cases, err := modelgen.QuantCases()
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// quantized returns g's full-integer form calibrated on random images, and
// the output's quantum. Each (model, seed) is quantized once per test
// binary and the result shared read-only.
func quantized(t *testing.T, g *modelgen.Graph, seed uint64) (*modelgen.Graph, float64) {
	t.Helper()
	sum := sha256.Sum256(g.TFLite())
	v, _ := quantMemo.LoadOrStore(fmt.Sprintf("%x/%d", sum, seed), &quantEntry{})
	e := v.(*quantEntry)
	e.once.Do(func() {
		s := g.Shape(g.Input)
		e.q, e.err = modelgen.Quantize(g, oracle.RandomImages(seed+100, 4*s[1]*s[2]*s[3]), 4)
	})
	if e.err != nil {
		t.Fatal(e.err)
	}
	return e.q, float64(e.q.Tensors[e.q.Ops[len(e.q.Ops)-1].Inputs[0]].Quant.Scale[0])
}

var quantMemo sync.Map // model hash and seed → *quantEntry

type quantEntry struct {
	once sync.Once
	q    *modelgen.Graph
	err  error
}

// TestQDQSpellings: the QDQ encodings of a quantized graph (INT8 or UINT8
// activations and weights, activations written out or left to the ranges) run every
// group on INT8 operators (one DEQUANTIZE, before the output) and give the
// same numbers. (They differ from the TFLite form's by a few quanta: the
// same weights, but ONNX Runtime's rounding; see ortround.go in the graph
// package.)
func TestQDQSpellings(t *testing.T) {
	for name, g := range qdqCases(t) {
		q, _ := quantized(t, g, 3)
		tm, err := tflite.Load(q.TFLite())
		if err != nil {
			t.Fatal(err)
		}
		const batch = 2
		h, w, c := tm.InputShape()
		in := oracle.RandomImages(11, batch*h*w*c)
		tfl := make([]float32, batch*tm.NumClasses())
		if err := tm.Run(in, batch, tfl); err != nil {
			t.Fatal(err)
		}
		var first []float32
		for _, o := range []modelgen.QDQOptions{{}, {Uint8: true}, {Activations: true}, {Uint8: true, Uint8Weights: true}} {
			t.Run(fmt.Sprintf("%s_%+v", name, o), func(t *testing.T) {
				b, err := q.QDQ(o)
				if err != nil {
					t.Fatal(err)
				}
				m, err := onnx.Load(b)
				if err != nil {
					t.Fatal(err)
				}
				if n := m.NumDequantize(); n != 1 {
					t.Errorf("%d DEQUANTIZE operators, want 1 (every QDQ group on INT8)", n)
				}
				got := make([]float32, len(tfl))
				if err := m.Run(in, batch, got); err != nil {
					t.Fatal(err)
				}
				if first == nil {
					first = got
				}
				for i := range got {
					if got[i] != first[i] {
						t.Fatalf("output %d: %g, INT8 spelling %g", i, got[i], first[i])
					}
				}
			})
		}
	}
}

// TestQDQOracle runs the QDQ models in ONNX Runtime, both as the graph
// says (graph rewrites off: dequantize, float operator, quantize) and, for
// the MobileNets, with its INT8 kernels (rewrites on, QDQ groups fused into
// QLinear operators): every output within one quantum (all but 0-8 of 96
// are equal today), and our top five within one quantum of ORT's fifth
// score. ORT's
// fused QLinearAveragePool with SAME padding rounds differently from its
// own float reference (one quantum on about 4 % of its outputs), which
// moves the mixed graph's logits by up to three quanta, so that graph is
// compared with the reference only.
//
// The QOperator spelling (QLinearConv, QLinearAdd, ...) of the same models
// runs too. ORT's QLinearConv rescales with a float32 multiplier where the
// engine uses TFLite's 31-bit fixed point; a few accumulators in ten
// thousand land on the other side of a rounding boundary, and through V2's
// 17 blocks that grows to two quanta on its outputs (one on V1 and the
// mixed graph), the tolerance for that case.
func TestQDQOracle(t *testing.T) {
	oracle.Require(t)
	for name, g := range qdqCases(t) {
		type variant struct {
			level string
			opts  modelgen.QDQOptions
		}
		variants := []variant{
			{"disabled", modelgen.QDQOptions{}},
			{"disabled", modelgen.QDQOptions{QOperator: true, Uint8: true}},
			{"all", modelgen.QDQOptions{Uint8: true, Uint8Weights: true}},
			{"all", modelgen.QDQOptions{QOperator: true, Uint8: true}},
		}
		if name == "mixed_ops" {
			variants = variants[:2]
		}
		for _, v := range variants {
			level := v.level
			t.Run(fmt.Sprintf("%s_%s_%+v", name, level, v.opts), func(t *testing.T) {
				t.Parallel()
				q, quantum := quantized(t, g, 2)
				b, err := q.QDQ(v.opts)
				if err != nil {
					t.Fatal(err)
				}
				m, err := onnx.Load(b)
				if err != nil {
					t.Fatal(err)
				}
				const batch = 3
				h, w, c := m.InputShape()
				in := oracle.RandomImages(9, batch*h*w*c)
				// Every QDQ group runs on INT8; in the QOperator models the
				// fully connected layer's bias, added in float after a
				// DequantizeLinear, falls back to float (a second DEQUANTIZE).
				wantDQ := 1
				if v.opts.QOperator && name != "v1_0.25_64" {
					wantDQ = 2
				}
				if n := m.NumDequantize(); n != wantDQ {
					t.Errorf("%d DEQUANTIZE operators, want %d", n, wantDQ)
				}
				got := make([]float32, batch*m.NumClasses())
				if err := m.Run(in, batch, got); err != nil {
					t.Fatal(err)
				}
				want := oracle.RunORTLevel(t, oracle.ORT, b, in, batch, level)
				if v.opts.QOperator && !v.opts.Uint8Weights && ortSaturatesU8S8 {
					// ORT's QLinear kernels on UINT8 x INT8 saturate here
					// (see ortSaturatesU8S8): the oracle is then the same
					// weights as DQ -> float operator -> Q groups, which
					// ORT runs unfused with graph optimizations disabled.
					ref, err := q.QDQ(modelgen.QDQOptions{Uint8: true})
					if err != nil {
						t.Fatal(err)
					}
					want = oracle.RunORTLevel(t, oracle.ORT, ref, in, batch, "disabled")
				}
				tol := 1.0
				if v.opts.QOperator && name == "v2_0.35_64" {
					tol = 2
					if ortSaturatesU8S8 && !v.opts.Uint8Weights {
						// Against the DQ -> float -> Q reference, whose
						// rounding differs from the QLinear operators'
						// integer rescales at every one of V2's layers:
						// 8 of 96 outputs 3-4 quanta apart, the rest
						// within 2.
						tol = 4
					}
				}
				compareQuanta(t, got, want, tol*quantum, m.NumClasses(), batch)
			})
		}
	}
}

// ortSaturatesU8S8 reports whether ONNX Runtime's integer kernels for UINT8
// activations times INT8 weights saturate on this CPU: on x86-64 without
// VNNI (AVX-512 VNNI or AVX-VNNI) its GEMM adds neighbouring products with
// VPMADDUBSW, whose 16-bit pair sums clamp at 32767 (255*127*2 does not
// fit), so ORT's own QLinearConv/QLinearMatMul results are off the exact
// integer arithmetic this engine (and TFLite) computes. ORT documents the
// limitation for quantized models on such CPUs (its reduce_range option).
var ortSaturatesU8S8 = runtime.GOARCH == "amd64" && !cpu.X86.HasAVX512VNNI && !cpu.X86.HasAVXVNNI

// compareQuanta checks got against want within tol per output and our top
// five against the oracle's fifth score less tol.
func compareQuanta(t *testing.T, got, want []float32, tol float64, n, batch int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d outputs, oracle %d", len(got), len(want))
	}
	off := 0
	for i := range got {
		d := math.Abs(float64(got[i] - want[i]))
		if d > tol*1.001 {
			t.Errorf("output %d: %g, ORT %g: more than %g apart", i, got[i], want[i], tol)
		}
		if d > 0 {
			off++
		}
	}
	for b := 0; b < batch; b++ {
		g5, w := oracle.Top5(got[b*n:(b+1)*n]), want[b*n:(b+1)*n]
		fifth := w[oracle.Top5(w)[4]]
		for _, i := range g5 {
			if float64(w[i]) < float64(fifth)-tol*1.001 {
				t.Errorf("image %d: our top-5 class %d scores %g in ORT, below its fifth %g", b, i, w[i], fifth)
			}
		}
	}
	t.Logf("%s: %d of %d outputs off ORT", t.Name(), off, len(got))
}

// qdqModels returns the mixed graph's QDQ and QOperator encodings.
func qdqModels(t testing.TB) (qdq, qop []byte) {
	g := modelgen.MixedQuantOps()
	s := g.Shape(g.Input)
	q, err := modelgen.Quantize(g, oracle.RandomImages(102, 4*s[1]*s[2]*s[3]), 4)
	if err != nil {
		t.Fatal(err)
	}
	if qdq, err = q.QDQ(modelgen.QDQOptions{}); err != nil {
		t.Fatal(err)
	}
	if qop, err = q.QDQ(modelgen.QDQOptions{QOperator: true, Uint8: true}); err != nil {
		t.Fatal(err)
	}
	return qdq, qop
}

// TestQuantRejects: quantized forms the engine does not run are refused at
// load with an error naming them.
func TestQuantRejects(t *testing.T) {
	qdq, qop := qdqModels(t)
	replace := func(b []byte, old, new string) []byte {
		if !bytes.Contains(b, []byte(old)) {
			t.Fatalf("model has no %q", old)
		}
		return bytes.ReplaceAll(b, []byte(old), []byte(new))
	}
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"contrib operator", replace(qop, "QLinearConcat", "QLinearConcaX"), `unsupported operator QLinearConcaX of domain "com.microsoft"`},
		{"default-domain QLinear operator", replace(qop, "QLinearMatMul", "QLinearMatMuX"), "unsupported operator QLinearMatMuX"},
		{"quantized input to a float operator", replace(qop, "QLinearConv", "ConvInteger"), "unsupported operator ConvInteger"},
		{"dequantize of a float", replace(qdq, "DequantizeLinear", "DequantizeLinea_"), "unsupported operator DequantizeLinea_"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := onnx.Load(tc.b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if !errclass.IsPermanent(err) {
				t.Errorf("error %v is not permanent", err)
			}
		})
	}
}

// TestQuantFloatFallback: a QDQ group whose operator has no INT8 form here
// runs as the graph says, DEQUANTIZE, float operator, QUANTIZE, and still
// matches ONNX Runtime. The mixed graph's first MaxPool becomes a Sigmoid
// (a name of the same length, its pooling attributes dropped).
func TestQuantFloatFallback(t *testing.T) {
	oracle.Require(t)
	qdq, _ := qdqModels(t)
	b := stripAttrs(t, bytes.Replace(qdq, []byte("MaxPool"), []byte("Sigmoid"), 2), "Sigmoid") // the node's name and operator
	m, err := onnx.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	if n := m.NumDequantize(); n != 2 {
		t.Errorf("%d DEQUANTIZE operators, want 2 (the Sigmoid group in float)", n)
	}
	const batch = 2
	h, w, c := m.InputShape()
	in := oracle.RandomImages(1, batch*h*w*c)
	got := make([]float32, batch*m.NumClasses())
	if err := m.Run(in, batch, got); err != nil {
		t.Fatal(err)
	}
	want := oracle.RunORTLevel(t, oracle.ORT, b, in, batch, "disabled")
	g := modelgen.MixedQuantOps()
	s := g.Shape(g.Input)
	q, err := modelgen.Quantize(g, oracle.RandomImages(102, 4*s[1]*s[2]*s[3]), 4)
	if err != nil {
		t.Fatal(err)
	}
	quantum := float64(q.Tensors[q.Ops[len(q.Ops)-1].Inputs[0]].Quant.Scale[0])
	compareQuanta(t, got, want, quantum, m.NumClasses(), batch)
}

// stripAttrs removes the attributes of the nodes of type op.
func stripAttrs(t *testing.T, model []byte, op string) []byte {
	t.Helper()
	// each rewrites the length-delimited fields of b numbered num with fn.
	each := func(b []byte, num protowire.Number, fn func([]byte) []byte) []byte {
		var out []byte
		for len(b) > 0 {
			n, typ, l := protowire.ConsumeTag(b)
			if l < 0 {
				t.Fatal("bad protobuf")
			}
			m := protowire.ConsumeFieldValue(n, typ, b[l:])
			field := b[:l+m]
			if n == num && typ == protowire.BytesType {
				v, _ := protowire.ConsumeBytes(b[l:])
				field = protowire.AppendBytes(protowire.AppendTag(nil, n, typ), fn(v))
			}
			out = append(out, field...)
			b = b[l+m:]
		}
		return out
	}
	return each(model, 7, func(g []byte) []byte {
		return each(g, 1, func(node []byte) []byte {
			if !bytes.Contains(node, []byte(op)) {
				return node
			}
			var out []byte
			for len(node) > 0 {
				n, typ, l := protowire.ConsumeTag(node)
				m := protowire.ConsumeFieldValue(n, typ, node[l:])
				if n != 5 { // attribute
					out = append(out, node[:l+m]...)
				}
				node = node[l+m:]
			}
			return out
		})
	})
}

// dropZeroPoints removes the zero-point input of every QuantizeLinear and
// DequantizeLinear whose zero point is a UINT8 0, which ONNX then implies.
func dropZeroPoints(t *testing.T, model []byte) ([]byte, int) {
	t.Helper()
	type field struct {
		num protowire.Number
		typ protowire.Type
		raw []byte // whole field
		val []byte // bytes value
	}
	fieldsOf := func(b []byte) []field {
		var out []field
		for len(b) > 0 {
			n, typ, l := protowire.ConsumeTag(b)
			if l < 0 {
				t.Fatal("bad protobuf")
			}
			m := protowire.ConsumeFieldValue(n, typ, b[l:])
			f := field{num: n, typ: typ, raw: b[:l+m]}
			if typ == protowire.BytesType {
				f.val, _ = protowire.ConsumeBytes(b[l:])
			}
			out = append(out, f)
			b = b[l+m:]
		}
		return out
	}
	bytesField := func(num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
	}
	dropped := 0
	var out []byte
	for _, mf := range fieldsOf(model) {
		if mf.num != 7 {
			out = append(out, mf.raw...)
			continue
		}
		zero := map[string]bool{}
		for _, gf := range fieldsOf(mf.val) {
			if gf.num != 5 {
				continue
			}
			var name string
			var dt uint64
			var raw []byte
			for _, tf := range fieldsOf(gf.val) {
				switch tf.num {
				case 8:
					name = string(tf.val)
				case 2:
					dt, _ = protowire.ConsumeVarint(tf.raw[1:])
				case 9:
					raw = tf.val
				}
			}
			zero[name] = dt == 2 && bytes.Equal(raw, []byte{0})
		}
		var g []byte
		for _, gf := range fieldsOf(mf.val) {
			if gf.num != 1 {
				g = append(g, gf.raw...)
				continue
			}
			nf := fieldsOf(gf.val)
			var op string
			var ins []string
			for _, f := range nf {
				if f.num == 4 {
					op = string(f.val)
				}
				if f.num == 1 {
					ins = append(ins, string(f.val))
				}
			}
			if (op != "QuantizeLinear" && op != "DequantizeLinear") || len(ins) != 3 || !zero[ins[2]] {
				g = append(g, gf.raw...)
				continue
			}
			var node []byte
			k := 0
			for _, f := range nf {
				if f.num == 1 {
					k++
					if k == 3 {
						continue
					}
				}
				node = append(node, f.raw...)
			}
			dropped++
			g = append(g, bytesField(1, node)...)
		}
		out = append(out, bytesField(7, g)...)
	}
	return out, dropped
}

// TestQDQImpliedZeroPoints: QuantizeLinear and DequantizeLinear without a
// zero point mean UINT8 0; the model runs as with it written out.
func TestQDQImpliedZeroPoints(t *testing.T) {
	g, err := modelgen.MobileNet(modelgen.Config{Arch: "v1", Width: 0.25, Size: 64, Classes: 32, Seed: 31})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := quantized(t, g, 2)
	full, err := q.QDQ(modelgen.QDQOptions{Uint8: true})
	if err != nil {
		t.Fatal(err)
	}
	implied, n := dropZeroPoints(t, full)
	if n < 10 {
		t.Fatalf("only %d zero points dropped", n)
	}
	var outs [][]float32
	for _, b := range [][]byte{full, implied} {
		m, err := onnx.Load(b)
		if err != nil {
			t.Fatal(err)
		}
		if d := m.NumDequantize(); d != 1 {
			t.Errorf("%d DEQUANTIZE operators, want 1", d)
		}
		h, w, c := m.InputShape()
		out := make([]float32, 2*m.NumClasses())
		if err := m.Run(oracle.RandomImages(4, 2*h*w*c), 2, out); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
	}
	for i := range outs[0] {
		if outs[0][i] != outs[1][i] {
			t.Fatalf("output %d: %g with zero points implied, %g written", i, outs[1][i], outs[0][i])
		}
	}
}
