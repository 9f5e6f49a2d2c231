package graph_test

import (
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/onnx"
)

// BenchmarkONNXFinishFusion runs the ONNX encodings of MobileNet V3-Large
// 1.0@224 and ResNet-50 V1 1.0@224 planned with and without the
// graph-level fusions of Builder.Finish (without: the ONNX reader's plans
// before those ran for it), alternating image by image at batch 1 on one
// thread so that both see the same machine load. It reports each one's
// time per image and the median of the per-image ratios.
func BenchmarkONNXFinishFusion(b *testing.B) {
	for _, cfg := range []modelgen.Config{
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "resnet50-v1", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		b.Run(cfg.Arch, func(b *testing.B) {
			g, err := modelgen.MobileNet(cfg)
			if err != nil {
				b.Fatal(err)
			}
			model, err := g.ONNX()
			if err != nil {
				b.Fatal(err)
			}
			fused, err := onnx.Load(model)
			if err != nil {
				b.Fatal(err)
			}
			restore := graph.SetFinishFusion(false)
			apart, err := onnx.Load(model)
			restore()
			if err != nil {
				b.Fatal(err)
			}
			in, out := abInput(fused, 1), make([]float32, fused.NumClasses())
			fused.SetThreads(1)
			apart.SetThreads(1)
			t := abbench.Alternate(b, abbench.Wall,
				graph.ABModelSide(b, "fused", fused, 1, in, out, nil),
				graph.ABModelSide(b, "unfused", apart, 1, in, out, nil))
			t.Report(b, 0, abbench.Mean, 1e3, "%s-ms/img")
			b.ReportMetric(abbench.Med(t.Ratios(0, 1, 0)), "speedup")
		})
	}
}

// BenchmarkONNXLoadFinishFusion loads ResNet-50 V1 1.0@224 from ONNX with
// and without Finish's fusions: what re-planning the fused nodes (their
// weights packed a second time) adds to a load.
func BenchmarkONNXLoadFinishFusion(b *testing.B) {
	g, err := modelgen.MobileNet(modelgen.Config{Arch: "resnet50-v1", Width: 1, Size: 224, Classes: 1001, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	model, err := g.ONNX()
	if err != nil {
		b.Fatal(err)
	}
	for _, on := range []bool{true, false} {
		name := map[bool]string{true: "fused", false: "unfused"}[on]
		b.Run(name, func(b *testing.B) {
			defer graph.SetFinishFusion(on)()
			for range b.N {
				if _, err := onnx.Load(model); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
