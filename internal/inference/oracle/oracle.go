// Package oracle runs models in the reference runtimes installed under
// tools/oracle (ONNX Runtime, and TFLite's interpreter compiled to wasm) so
// the engine's tests can compare against them. It is test support: nothing
// that ships imports it.
package oracle

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
)

// Tolerance is the largest relative error (see MaxRelErr) a float model may
// show against an oracle.
const Tolerance = 1e-5

// Dir finds tools/oracle by walking up from the working directory to the
// module root.
func Dir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "tools", "oracle")
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s", wd)
		}
	}
}

// Require fails the test unless node and the oracle packages are installed,
// and returns the node binary.
func Require(t testing.TB) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found (%v): install Node.js 20 and run `make deps`", err)
	}
	for _, pkg := range []string{"onnxruntime-node", "@tensorflow/tfjs-tflite"} {
		if _, err := os.Stat(filepath.Join(Dir(t), "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("oracle package %s is not installed in tools/oracle: run `make deps` (%v)", pkg, err)
		}
	}
	return node
}

// Runtime names a reference runtime script.
type Runtime string

// The runtimes: ORT reads ONNX (NHWC input, or NCHW with ORTNCHW), TFLite
// reads .tflite.
const (
	ORT     Runtime = "ort.js"
	ORTNCHW Runtime = "ort.js nchw"
	TFLite  Runtime = "tflite.js"
)

// Run runs model in the runtime on batch NHWC images and returns its output.
func Run(t testing.TB, rt Runtime, model []byte, in []float32, batch int) []float32 {
	t.Helper()
	return run(t, rt, model, in, batch, "")
}

// RunORTFolded runs an ONNX model in ONNX Runtime with its basic graph
// rewrites on, which fold BatchNormalization into the convolution before
// it as the engine does, so both round alike. (ort.js otherwise runs with
// rewrites off; see tools/oracle/README.md.)
func RunORTFolded(t testing.TB, rt Runtime, model []byte, in []float32, batch int) []float32 {
	t.Helper()
	return run(t, rt, model, in, batch, "basic")
}

// RunORTLevel runs an ONNX model in ONNX Runtime at the given graph
// optimization level (disabled, basic, extended, all). At "all" ORT fuses
// QDQ groups into its INT8 QLinear kernels; "disabled" runs a QDQ graph as
// written (dequantize, float operator, quantize).
func RunORTLevel(t testing.TB, rt Runtime, model []byte, in []float32, batch int, level string) []float32 {
	t.Helper()
	return run(t, rt, model, in, batch, level)
}

func run(t testing.TB, rt Runtime, model []byte, in []float32, batch int, level string) []float32 {
	t.Helper()
	node := Require(t)
	dir := t.TempDir()
	modelPath, inPath, outPath := filepath.Join(dir, "model"), filepath.Join(dir, "in.f32"), filepath.Join(dir, "out.f32")
	write(t, modelPath, model)
	write(t, inPath, floatBytes(in))
	script, layout := string(rt), ""
	if rt == ORTNCHW {
		script, layout = string(ORT), "nchw"
	}
	args := []string{filepath.Join(Dir(t), script), modelPath, inPath, fmt.Sprint(batch), outPath}
	if layout != "" {
		args = append(args, layout)
	}
	cmd := exec.CommandContext(t.Context(), node, args...)
	if level != "" {
		cmd.Env = append(os.Environ(), "ORT_OPT_LEVEL="+level)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", rt, err, out)
	}
	raw, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	return bytesFloats(raw)
}

// Compare checks got against an oracle's want image by image: max relative
// error within Tolerance and the same top-5 classes.
func Compare(t testing.TB, what string, got, want []float32, batch int) {
	t.Helper()
	if len(want) != len(got) || batch <= 0 || len(got)%batch != 0 {
		t.Fatalf("%s: %d oracle outputs, engine %d, batch %d", what, len(want), len(got), batch)
	}
	n := len(got) / batch
	for img := 0; img < batch; img++ {
		a, b := got[img*n:(img+1)*n], want[img*n:(img+1)*n]
		e := MaxRelErr(a, b)
		if !(e <= Tolerance) {
			t.Errorf("%s image %d: max relative error %.3g > %g", what, img, e, Tolerance)
		}
		t.Logf("%s image %d: max relative error %.3g", what, img, e)
		if ta, tb := Top5(a), Top5(b); fmt.Sprint(ta) != fmt.Sprint(tb) {
			t.Errorf("%s image %d: top-5 %v, oracle %v", what, img, ta, tb)
		}
	}
}

// RandomImages returns n uniform [0,1) floats from seed.
func RandomImages(seed uint64, n int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 99))
	in := make([]float32, n)
	for i := range in {
		in[i] = rng.Float32()
	}
	return in
}

// MaxRelErr is max |a-b| / max(|b|, 1e-3·max|b|): relative where b is
// large, absolute against a floor elsewhere, so tiny probabilities do not
// dominate.
func MaxRelErr(a, b []float32) float64 {
	var bmax float64
	for _, v := range b {
		bmax = math.Max(bmax, math.Abs(float64(v)))
	}
	var worst float64
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		worst = math.Max(worst, d/math.Max(math.Abs(float64(b[i])), 1e-3*bmax))
	}
	return worst
}

// Top5 returns the indices of the five largest values, largest first.
func Top5(p []float32) []int {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return p[idx[i]] > p[idx[j]] })
	return idx[:min(5, len(idx))]
}

func write(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func floatBytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

func bytesFloats(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
