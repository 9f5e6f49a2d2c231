package onnx_test

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cspipe/cspipe/internal/errclass"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/onnx"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// tinyONNX is a small valid model in the PyTorch spelling.
func tinyONNX(t testing.TB) []byte {
	g := modelgen.NewGraph(9, 9, 3, 1)
	x := g.Conv(g.Input, 8, 3, 2, tflite.PaddingSame, tflite.ActRelu6, 1.4)
	x = g.Depthwise(x, 3, 1, 1, tflite.PaddingSame, tflite.ActRelu, 1.4)
	x = g.Pool(x, true, 2, 1, tflite.PaddingSame)
	x = g.SpatialMean(x, false)
	x = g.FullyConnected(x, 4, 1)
	g.Softmax(x)
	b, err := g.ONNXWith(modelgen.ONNXOptions{NCHWInput: true, BatchNorm: true, GlobalPool: true})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadRejects(t *testing.T) {
	valid := tinyONNX(t)
	replace := func(old, new string) []byte {
		if !bytes.Contains(valid, []byte(old)) {
			t.Fatalf("model has no %q", old)
		}
		return bytes.ReplaceAll(valid, []byte(old), []byte(new))
	}
	// A graph whose Softmax is in a foreign domain.
	foreign := appendNodeDomain(t, valid)
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "no graph"},
		{"garbage", []byte("\x0a\xff\xff\xff\xff\x0f"), "malformed"},
		{"truncated", valid[:len(valid)/2], "malformed"},
		{"unsupported op", replace("Softmax", "Softmix"), "unsupported operator Softmix"},
		{"unsupported pool option", replace("GlobalAveragePool", "GlobalLpPoolXXXXX"), "unsupported operator GlobalLpPoolXXXXX"},
		{"foreign domain", foreign, `of domain "com.example"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := onnx.Load(tc.b)
			if err == nil {
				t.Fatalf("Load accepted the model, want error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if !errclass.IsPermanent(err) {
				t.Errorf("error %v is not permanent", err)
			}
		})
	}
}

// appendNodeDomain adds a node of domain com.example to the model's graph.
func appendNodeDomain(t *testing.T, model []byte) []byte {
	var node []byte
	node = protowire.AppendTag(node, 1, protowire.BytesType)
	node = protowire.AppendString(node, "input")
	node = protowire.AppendTag(node, 2, protowire.BytesType)
	node = protowire.AppendString(node, "extra")
	node = protowire.AppendTag(node, 4, protowire.BytesType)
	node = protowire.AppendString(node, "Custom")
	node = protowire.AppendTag(node, 7, protowire.BytesType)
	node = protowire.AppendString(node, "com.example")
	var out []byte
	b := model
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatal("bad model")
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		field := b[:n+m]
		if num == 7 { // graph: prepend the node
			g, _ := protowire.ConsumeBytes(b[n:])
			var ng []byte
			ng = protowire.AppendTag(ng, 1, protowire.BytesType)
			ng = protowire.AppendBytes(ng, node)
			ng = append(ng, g...)
			field = protowire.AppendTag(nil, 7, protowire.BytesType)
			field = protowire.AppendBytes(field, ng)
		}
		out = append(out, field...)
		b = b[n+m:]
	}
	return out
}

func TestLoadEveryTruncation(t *testing.T) {
	valid := tinyONNX(t)
	for n := 0; n < len(valid); n += 11 {
		if _, err := onnx.Load(valid[:n]); err == nil {
			t.Errorf("prefix of %d/%d bytes loaded", n, len(valid))
		}
	}
}

func TestLoadTiny(t *testing.T) {
	m, err := onnx.Load(tinyONNX(t))
	if err != nil {
		t.Fatal(err)
	}
	h, w, c := m.InputShape()
	if h != 9 || w != 9 || c != 3 || m.NumClasses() != 4 {
		t.Fatalf("shape %dx%dx%d classes %d", h, w, c, m.NumClasses())
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(tinyONNX(f))
	qdq, qop := qdqModels(f)
	f.Add(qdq)
	f.Add(qop)
	if b, err := flattenGraph().ONNXWith(modelgen.ONNXOptions{TorchFlatten: true, ConstantNodes: true, InitializersAsInputs: true, TypedData: true}); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := onnx.Load(b)
		if err != nil {
			return
		}
		if m.Work() > 1<<22 {
			return // valid but too slow to run on every fuzz input
		}
		h, w, c := m.InputShape()
		if err := m.Run(make([]float32, h*w*c), 1, make([]float32, m.NumClasses())); err != nil {
			t.Fatal(err)
		}
	})
}
