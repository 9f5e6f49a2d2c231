package graph_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/inference/abbench"
	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// BenchmarkAMXF32Models runs each network planned with the CSPIPE_AMXF32
// switch on ("tiles") and off ("fp32") in turns, run by run (the order
// swapped every pair), on the wall clock, and reports each plan's median
// time per image, the median and range over the pairs of the fp32 time
// over the tiles' ("speedup-med", "-min", "-max"), the layers on the tiles,
// the split weights' megabytes and each plan's load time.
func BenchmarkAMXF32Models(b *testing.B) {
	if !kernels.BF3Available() {
		b.Skip("no AMX-BF16 here")
	}
	for _, tc := range []struct {
		arch           string
		size           int
		batch, threads int
	}{
		{"v1", 128, 1, 1}, {"v1", 128, 8, 2}, {"v3-large", 224, 1, 1}, {"resnet50-v1", 224, 1, 1},
	} {
		b.Run(fmt.Sprintf("%s_%d/b%d_t%d", tc.arch, tc.size, tc.batch, tc.threads), func(b *testing.B) {
			g, err := modelgen.MobileNet(modelgen.Config{Arch: tc.arch, Width: 1, Size: tc.size, Classes: 1001, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			file := g.TFLite()
			load := func(on bool) (*graph.Model, time.Duration) {
				defer graph.SetAMXF32(graph.SetAMXF32(on))
				t0 := time.Now()
				m, err := tflite.Load(file)
				if err != nil {
					b.Fatal(err)
				}
				return m, time.Since(t0)
			}
			tiles, loadOn := load(true)
			fp32, loadOff := load(false)
			layers, bytes := graph.BF3Layers(tiles)
			in, out := abInput(tiles, tc.batch), make([]float32, tc.batch*tiles.NumClasses())
			for _, m := range []*graph.Model{tiles, fp32} {
				m.SetThreads(tc.threads)
			}
			calls := graph.BF3Calls()
			t := abbench.Alternate(b, abbench.Wall,
				graph.ABModelSide(b, "tiles", tiles, tc.batch, in, out, nil),
				graph.ABModelSide(b, "fp32", fp32, tc.batch, in, out, nil))
			if layers > 0 && graph.BF3Calls() == calls {
				b.Fatal("no GEMM call ran on the tiles")
			}
			r := t.Ratios(0, 1, 0)
			t.Report(b, 0, abbench.Med, 1e3/float64(tc.batch), "%s-med-ms/img")
			b.ReportMetric(abbench.Med(r), "speedup-med")
			b.ReportMetric(r[0], "speedup-min")
			b.ReportMetric(r[len(r)-1], "speedup-max")
			b.ReportMetric(float64(layers), "tiled-layers")
			b.ReportMetric(float64(bytes)/1e6, "split-MB")
			b.ReportMetric(loadOn.Seconds()*1e3, "load-on-ms")
			b.ReportMetric(loadOff.Seconds()*1e3, "load-off-ms")
		})
	}
}
