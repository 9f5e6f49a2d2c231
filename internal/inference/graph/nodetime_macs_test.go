package graph_test

import (
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// TestFusedNodeMACs: a float model's node times count the same
// multiply-adds in all (and as the planner's Work) with a fusion on as
// with it off: the depthwise+1x1 pairs (with their residual ADD), a 1x1
// convolution with its residual ADD, a depthwise convolution with its
// expansion.
func TestFusedNodeMACs(t *testing.T) {
	const off, never = 1 << 40, 1 << 30
	type fusions struct {
		dwpw                bool
		expandMin, residMin int
	}
	none := fusions{false, off, never}
	tests := []struct {
		name   string
		cfg    modelgen.Config
		on     fusions
		kernel string // the name of a kernel the fusion plans
	}{
		{"v1 pairs", modelgen.Config{Arch: "v1", Width: 0.25, Size: 64, Classes: 10, Seed: 1}, fusions{true, off, never}, "depthwise+conv"},
		{"v2 pairs and adds", modelgen.Config{Arch: "v2", Width: 0.5, Size: 64, Classes: 10, Seed: 2}, fusions{true, off, never}, "depthwise+conv+add"},
		{"v3-large expansions", modelgen.Config{Arch: "v3-large", Width: 0.5, Size: 64, Classes: 10, Seed: 3}, fusions{false, 1, never}, "conv+depthwise"},
		{"v3-large pairs", modelgen.Config{Arch: "v3-large", Width: 0.5, Size: 64, Classes: 10, Seed: 3}, fusions{true, off, never}, "depthwise+conv"},
		{"resnet residuals", modelgen.Config{Arch: "resnet50-v1", Width: 0.25, Size: 32, Classes: 10, Seed: 4}, fusions{false, off, 1}, "conv"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := modelgen.MobileNet(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			data := g.TFLite()
			load := func(f fusions) *graph.Model {
				t.Helper()
				defer graph.SetFusions(f.dwpw, f.expandMin, f.residMin)()
				m, err := tflite.Load(data)
				if err != nil {
					t.Fatal(err)
				}
				m.SetNodeTiming(true)
				return m
			}
			total := func(m *graph.Model) (n int64, fused int) {
				for _, nt := range m.NodeTimes() {
					n += nt.MACs
					if nt.Kernel == tc.kernel {
						fused++
					}
				}
				return n, fused
			}
			fm, am := load(tc.on), load(none)
			fn, fc := total(fm)
			an, _ := total(am)
			if fc == 0 || fm.NumNodes() >= am.NumNodes() {
				t.Fatalf("%d %s nodes; %d nodes fused, %d apart", fc, tc.kernel, fm.NumNodes(), am.NumNodes())
			}
			if fn != an || fn != fm.Work() || an != am.Work() {
				t.Fatalf("%d %s nodes: fused %d MACs (Work %d), apart %d (Work %d)", fc, tc.kernel, fn, fm.Work(), an, am.Work())
			}
		})
	}
}
