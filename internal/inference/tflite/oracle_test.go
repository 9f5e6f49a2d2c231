package tflite_test

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

	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// oracleDir holds the node scripts and their node_modules (make deps).
const oracleDir = "../../../tools/oracle"

// TestOracles runs generated MobileNets in the engine, in ONNX Runtime and
// in TFLite's own interpreter (wasm) on the same random images, and checks
// max relative error and the top-5 classes.
func TestOracles(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found (%v): install Node.js 20 and run `make deps`", err)
	}
	for _, pkg := range []string{"onnxruntime-node", "@tensorflow/tfjs-tflite"} {
		if _, err := os.Stat(filepath.Join(oracleDir, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("oracle package %s is not installed in tools/oracle: run `make deps` (%v)", pkg, err)
		}
	}
	type oracleCase struct {
		name  string
		seed  uint64
		build func() (*modelgen.Graph, error)
	}
	var cases []oracleCase
	for _, cfg := range []modelgen.Config{
		{Arch: "v1", Width: 0.25, Size: 128, Classes: 32, Seed: 11},
		{Arch: "v1", Width: 0.25, Size: 160, Classes: 32, Seed: 12},
		{Arch: "v1", Width: 0.5, Size: 128, Classes: 32, Seed: 13},
		{Arch: "v1", Width: 0.5, Size: 160, Classes: 32, Seed: 14},
		{Arch: "v2", Width: 0.35, Size: 128, Classes: 32, Seed: 15},
	} {
		cases = append(cases, oracleCase{fmt.Sprintf("%s_%g_%d", cfg.Arch, cfg.Width, cfg.Size), cfg.Seed,
			func() (*modelgen.Graph, error) { return modelgen.MobileNet(cfg) }})
	}
	cases = append(cases, oracleCase{"mixed_ops", 16, func() (*modelgen.Graph, error) { return mixedGraph(), nil }})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			g, err := tc.build()
			if err != nil {
				t.Fatal(err)
			}
			tfl := g.TFLite()
			onnx, err := g.ONNX()
			if err != nil {
				t.Fatal(err)
			}
			m, err := tflite.Load(tfl)
			if err != nil {
				t.Fatal(err)
			}
			const batch = 2
			h, w, c := m.InputShape()
			rng := rand.New(rand.NewPCG(tc.seed, 99))
			in := make([]float32, batch*h*w*c)
			for i := range in {
				in[i] = rng.Float32()
			}
			got := make([]float32, batch*m.NumClasses())
			if err := m.Run(in, batch, got); err != nil {
				t.Fatal(err)
			}
			paths := map[string]string{"model.tflite": "", "model.onnx": "", "in.f32": ""}
			for name := range paths {
				paths[name] = filepath.Join(dir, name)
			}
			writeFile(t, paths["model.tflite"], tfl)
			writeFile(t, paths["model.onnx"], onnx)
			writeFile(t, paths["in.f32"], floatBytes(in))
			for _, o := range []struct{ script, model string }{
				{"ort.js", paths["model.onnx"]},
				{"tflite.js", paths["model.tflite"]},
			} {
				outPath := filepath.Join(dir, o.script+".out")
				cmd := exec.CommandContext(t.Context(), node, filepath.Join(oracleDir, o.script), o.model, paths["in.f32"], fmt.Sprint(batch), outPath)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s: %v\n%s", o.script, err, out)
				}
				raw, err := os.ReadFile(outPath)
				if err != nil {
					t.Fatal(err)
				}
				want := bytesFloats(raw)
				if len(want) != len(got) {
					t.Fatalf("%s: %d outputs, engine %d", o.script, len(want), len(got))
				}
				n := m.NumClasses()
				for img := 0; img < batch; img++ {
					a, b := got[img*n:(img+1)*n], want[img*n:(img+1)*n]
					e := maxRelErr(a, b)
					if e > 1e-5 {
						t.Errorf("%s image %d: max relative error %.3g > 1e-5", o.script, img, e)
					}
					t.Logf("%s %s image %d: max relative error %.3g", tc.name, o.script, img, e)
					if ta, tb := top5(a), top5(b); fmt.Sprint(ta) != fmt.Sprint(tb) {
						t.Errorf("%s image %d: top-5 %v, oracle %v", o.script, img, ta, tb)
					}
				}
			}
		})
	}
}

// mixedGraph exercises what MobileNets do not: odd and non-square sizes,
// 5x5 stride-2 convolution, depth multiplier 2, max and SAME-padded average
// pooling, ADD with fused ReLU, MEAN keeping dims, RESHAPE and FULLY_CONNECTED.
func mixedGraph() *modelgen.Graph {
	g := modelgen.NewGraph(11, 13, 4, 5)
	x := g.Conv(g.Input, 12, 5, 2, tflite.PaddingSame, tflite.ActRelu, 1.4)
	x = g.Depthwise(x, 3, 2, 2, tflite.PaddingSame, tflite.ActRelu6, 1.4)
	a := g.Pool(x, true, 3, 1, tflite.PaddingSame)
	b := g.Pool(x, false, 3, 1, tflite.PaddingSame)
	x = g.Add(a, b)
	g.Ops[len(g.Ops)-1].Act = tflite.ActRelu
	x = g.Pad(x, 1, 0, 2, 1)
	x = g.Depthwise(x, 3, 1, 1, tflite.PaddingValid, tflite.ActNone, 1.0)
	x = g.Conv(x, 16, 1, 1, tflite.PaddingValid, tflite.ActRelu6, 1.4)
	x = g.SpatialMean(x, true)
	x = g.Reshape(x, []int{1, 16})
	x = g.FullyConnected(x, 10, 3)
	g.Softmax(x)
	return g
}

// maxRelErr is max |a-b| / max(|b|, 1e-3·max|b|): relative where b is large,
// absolute against a floor elsewhere, so tiny probabilities do not dominate.
func maxRelErr(a, b []float32) float64 {
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

func top5(p []float32) []int {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return p[idx[i]] > p[idx[j]] })
	return idx[:min(5, len(idx))]
}

func writeFile(t *testing.T, path string, b []byte) {
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
