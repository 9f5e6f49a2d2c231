package modelgen

import (
	"bytes"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// TestMobileNetRunsInEngine checks that generated models load and give
// well-spread probability vectors on random images.
func TestMobileNetRunsInEngine(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"v1_0.25_128", Config{Arch: "v1", Width: 0.25, Size: 128, Classes: 10, Seed: 1}},
		{"v1_0.5_96", Config{Arch: "v1", Width: 0.5, Size: 96, Classes: 20, Seed: 2}},
		{"v2_0.35_96", Config{Arch: "v2", Width: 0.35, Size: 96, Classes: 10, Seed: 3}},
		{"v3-small_0.5_96", Config{Arch: "v3-small", Width: 0.5, Size: 96, Classes: 10, Seed: 4}},
		{"v3-large_0.5_96", Config{Arch: "v3-large", Width: 0.5, Size: 96, Classes: 10, Seed: 5}},
		{"efficientnet-lite0_0.5_96", Config{Arch: "efficientnet-lite0", Width: 0.5, Size: 96, Classes: 10, Seed: 6}},
		{"efficientnet-lite4_0.25_96", Config{Arch: "efficientnet-lite4", Width: 0.25, Size: 96, Classes: 10, Seed: 9}},
		{"resnet50-v1_0.25_96", Config{Arch: "resnet50-v1", Width: 0.25, Size: 96, Classes: 10, Seed: 7}},
		{"resnet50-v2_0.25_96", Config{Arch: "resnet50-v2", Width: 0.25, Size: 96, Classes: 10, Seed: 8}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := MobileNet(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			m, err := tflite.Load(g.TFLite())
			if err != nil {
				t.Fatal(err)
			}
			h, w, c := m.InputShape()
			if h != tc.cfg.Size || w != tc.cfg.Size || c != 3 || m.NumClasses() != tc.cfg.Classes {
				t.Fatalf("shape %dx%dx%d classes %d", h, w, c, m.NumClasses())
			}
			rng := rand.New(rand.NewPCG(7, 7))
			in := make([]float32, 2*h*w*c)
			for i := range in {
				in[i] = rng.Float32()
			}
			out := make([]float32, 2*m.NumClasses())
			if err := m.Run(in, 2, out); err != nil {
				t.Fatal(err)
			}
			for img := 0; img < 2; img++ {
				p := out[img*m.NumClasses() : (img+1)*m.NumClasses()]
				sum, top := 0.0, 0.0
				for _, v := range p {
					sum += float64(v)
					top = math.Max(top, float64(v))
				}
				if math.Abs(sum-1) > 1e-4 {
					t.Errorf("image %d: probabilities sum to %g", img, sum)
				}
				// Not degenerate: neither one-hot nor flat.
				if top > 0.99 || top < 1.5/float64(len(p)) {
					t.Errorf("image %d: top probability %g is degenerate: %v", img, top, p)
				}
				t.Logf("image %d top %.3f: %v", img, top, p)
			}
		})
	}
}

var update = flag.Bool("update", false, "rewrite the committed model fixtures")

// TestFixture checks that the committed fixture is what the generator writes.
func TestFixture(t *testing.T) {
	g, err := MobileNet(Config{Arch: "v1", Width: 0.25, Size: 128, Classes: 10, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	onnx, err := g.ONNX()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{
		"mobilenet_v1_0.25_128_c10.tflite": g.TFLite(),
		"mobilenet_v1_0.25_128_c10.onnx":   onnx,
	} {
		path := filepath.Join("..", "..", "..", "testdata", "models", name)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output (%d vs %d bytes); run with -update", name, len(got), len(want))
		}
	}
}
