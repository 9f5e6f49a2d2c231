package modelfile_test

import (
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/errclass"
	"github.com/cspipe/cspipe/internal/inference/modelfile"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// TestLoadEitherFormat loads the same generated model from both encodings
// and checks they give the same scores.
func TestLoadEitherFormat(t *testing.T) {
	g, err := modelgen.MobileNet(modelgen.Config{Arch: "v2", Width: 0.35, Size: 64, Classes: 10, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	onnxBytes, err := g.ONNX()
	if err != nil {
		t.Fatal(err)
	}
	var outs [][]float32
	for _, tc := range []struct {
		format string
		b      []byte
	}{{modelfile.TFLite, g.TFLite()}, {modelfile.ONNX, onnxBytes}} {
		if got := modelfile.Detect(tc.b); got != tc.format {
			t.Fatalf("Detect = %q, want %q", got, tc.format)
		}
		m, err := modelfile.Load(tc.b)
		if err != nil {
			t.Fatalf("%s: %v", tc.format, err)
		}
		in := make([]float32, 64*64*3)
		for i := range in {
			in[i] = float32(i%17) / 17
		}
		out := make([]float32, 10)
		if err := m.Run(in, 1, out); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
	}
	for i := range outs[0] {
		if d := outs[0][i] - outs[1][i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("class %d: tflite %g, onnx %g", i, outs[0][i], outs[1][i])
		}
	}
}

func TestLoadRefusesOtherFiles(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("GIF89a......"), []byte("\x89HDF\r\n\x1a\n")} {
		_, err := modelfile.Load(b)
		if err == nil || !strings.Contains(err.Error(), "neither a TFLite file") || !errclass.IsPermanent(err) {
			t.Errorf("Load(%q) = %v, want a permanent 'neither a TFLite file' error", b, err)
		}
	}
}
