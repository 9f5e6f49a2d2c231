package modelgen

import (
	"fmt"
	"math"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// calibrateWhole is the straightforward calibration calibrate replaced: the
// whole float graph, read from its .tflite file, run once per activation
// tensor with that tensor made the graph's output.
func calibrateWhole(g *Graph, calib []float32, batch int) ([][2]float64, error) {
	file := g.TFLite()
	ranges := make([][2]float64, len(g.Tensors))
	note := func(ti int, v []float32) {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, x := range v {
			lo, hi = min(lo, float64(x)), max(hi, float64(x))
		}
		ranges[ti] = [2]float64{lo, hi}
	}
	note(g.Input, calib)
	for _, op := range g.Ops {
		ti := op.Outputs[0]
		gr, err := tflite.Read(file)
		if err != nil {
			return nil, err
		}
		gr.Output = ti
		m, err := graph.Plan(gr)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", g.Tensors[ti].Name, err)
		}
		out := make([]float32, batch*m.NumClasses())
		if err := m.Run(calib, batch, out); err != nil {
			return nil, err
		}
		note(ti, out)
	}
	return ranges, nil
}

// TestCalibrateMatchesWholeGraphRuns checks that calibrating operator by
// operator gives the ranges of running the whole graph up to each tensor
// (within sameRange's rounding: the planner fuses neighbouring operators of
// a longer graph, which may sum in another order), on the int8 oracle tests' models (QuantCases: MobileNet V1
// and V2 at 64 with a residual ADD, and MixedQuantOps with a two-branch
// MUL, ADD and CONCATENATION and a FULLY_CONNECTED on a [1 K] tensor).
// Four images, as the oracle tests calibrate, so that the operators run
// image by image are checked to take each image's own values.
// BenchmarkCalibrate makes the same comparison at the size `make bench`
// quantizes, which costs too much under -race for the test suite.
func TestCalibrateMatchesWholeGraphRuns(t *testing.T) {
	cases, err := QuantCases()
	if err != nil {
		t.Fatal(err)
	}
	for name, g := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkCalibrate(t, g, 4)
		})
	}
}

// BenchmarkCalibrate times calibration operator by operator ("alone")
// next to the whole-graph runs it replaced ("whole") on the QuantCases
// models and on MobileNet V1 and V2 1.0@128 with 1001 classes, the models
// `make bench` quantizes (genmodel --int8-out), and fails unless both give
// the same ranges (sameRange): at these sizes the comparison costs too
// much under -race for the test suite, so scripts/bench.sh makes it.
func BenchmarkCalibrate(b *testing.B) {
	cases, err := QuantCases()
	if err != nil {
		b.Fatal(err)
	}
	names := []string{"v1_0.25_64", "v2_0.35_64", "mixed_ops"}
	for _, arch := range []string{"v1", "v2"} {
		g, err := MobileNet(Config{Arch: arch, Width: 1.0, Size: 128, Classes: 1001, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		name := arch + "_1.0_128"
		cases[name] = g
		names = append(names, name)
	}
	for _, name := range names {
		g := cases[name]
		s := g.Shape(g.Input)
		calib := CalibrationImages(1, 4*s[1]*s[2]*s[3])
		var want, got [][2]float64
		b.Run(name+"/whole", func(b *testing.B) {
			for b.Loop() {
				if want, err = calibrateWhole(g, calib, 4); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/alone", func(b *testing.B) {
			for b.Loop() {
				if got, err = calibrate(g, calib, 4); err != nil {
					b.Fatal(err)
				}
			}
		})
		if want == nil || got == nil {
			continue // one of the two was filtered out by -bench
		}
		for ti := range want {
			if !sameRange(got[ti], want[ti]) {
				b.Fatalf("%s: tensor %q: range %v, whole-graph runs give %v", name, g.Tensors[ti].Name, got[ti], want[ti])
			}
		}
	}
}

func checkCalibrate(t *testing.T, g *Graph, batch int) {
	t.Helper()
	s := g.Shape(g.Input)
	calib := CalibrationImages(7, batch*s[1]*s[2]*s[3])
	want, err := calibrateWhole(g, calib, batch)
	if err != nil {
		t.Fatal(err)
	}
	got, err := calibrate(g, calib, batch)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, op := range g.Ops {
		ti := op.Outputs[0]
		if !sameRange(got[ti], want[ti]) {
			t.Errorf("tensor %q (%s): range %v, whole-graph runs give %v", g.Tensors[ti].Name, tflite.OpName(op.Code), got[ti], want[ti])
		}
		checked++
	}
	if got[g.Input] != want[g.Input] || checked != len(g.Ops) {
		t.Errorf("input range %v, want %v; %d of %d operators checked", got[g.Input], want[g.Input], checked, len(g.Ops))
	}
}

// sameRange reports whether two calibrated ranges agree within float32
// rounding (1e-5 of the range's magnitude). The whole-graph runs let the
// planner fuse an operator with its neighbours (a 1x1 expansion computed
// band by band inside the depthwise after it, a residual ADD inside a 1x1
// convolution), which can move a value by a few units in the last place;
// a wrong input, image or operator moves it by far more.
func sameRange(a, b [2]float64) bool {
	tol := 1e-5 * max(1, math.Abs(b[0]), math.Abs(b[1]))
	return math.Abs(a[0]-b[0]) <= tol && math.Abs(a[1]-b[1]) <= tol
}
