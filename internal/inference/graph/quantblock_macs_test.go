package graph_test

import (
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// TestQBlockNodeMACs: with the int8 blocks and pairs banded, the node
// times of an int8 MobileNet V2 count the same multiply-adds in all as
// with every operator apart (and as the planner's Work), and each fused
// block counts more than its projection alone: a fused block carries the
// MACs of all the operators it runs.
func TestQBlockNodeMACs(t *testing.T) {
	g, err := modelgen.MobileNet(modelgen.Config{Arch: "v2", Width: 0.5, Size: 64, Classes: 10, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	q, err := modelgen.Quantize(g, modelgen.CalibrationImages(3, 2*64*64*3), 2)
	if err != nil {
		t.Fatal(err)
	}
	data := q.TFLite()
	load := func(blocks bool) *graph.Model {
		t.Helper()
		defer graph.SetQuantBlocks(blocks)()
		m, err := tflite.Load(data)
		if err != nil {
			t.Fatal(err)
		}
		m.SetNodeTiming(true)
		return m
	}
	fused, apart := load(true), load(false)
	total := func(m *graph.Model) (n int64, blocks int) {
		for _, nt := range m.NodeTimes() {
			n += nt.MACs
			if nt.Kernel == "qblock" {
				blocks++
				// A projection alone: its outputs times its input channels.
				proj := int64(nt.Shape[len(nt.Shape)-1])
				for _, d := range nt.Shape[:len(nt.Shape)-1] {
					proj *= int64(d)
				}
				if nt.MACs <= proj || !strings.Contains(nt.Name, "..") {
					t.Errorf("%s: %d MACs, no more than %d outputs", nt.Name, nt.MACs, proj)
				}
			}
		}
		return n, blocks
	}
	fn, fb := total(fused)
	an, ab := total(apart)
	if ab != 0 {
		t.Fatalf("%d blocks banded with SetQuantBlocks(false)", ab)
	}
	if fb == 0 {
		t.Skip("no int8 block banded here (no int8 3x3 depthwise kernel on this CPU)")
	}
	if fn != an || fn != fused.Work() {
		t.Fatalf("%d blocks banded count %d MACs, the operators apart %d, the planner %d", fb, fn, an, fused.Work())
	}
}
