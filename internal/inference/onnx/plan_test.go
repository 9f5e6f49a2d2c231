package onnx_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/onnx"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// planFamilies are the modelgen families at sizes where every graph-level
// fusion has something to do: the 1x1 expansions of V2, V3 and
// EfficientNet-Lite at 224 are large enough to run inside their depthwise
// (fuseExpandDepthwise), ResNet-50's last stages are wide enough to take
// their residual ADDs (fuseResiduals), V1 ResNet pads before its stem and
// its max pool (fusePads), and V3 ends in HARD_SWISH after a fully
// connected layer.
var planFamilies = []struct {
	cfg modelgen.Config
	// fused must show in the plan (Describe) and absent must not, so that
	// the sizes keep exercising the fusions.
	fused, absent string
}{
	{modelgen.Config{Arch: "v1", Width: 0.25, Size: 128, Classes: 16, Seed: 61}, "depthwise", ""},
	{modelgen.Config{Arch: "v2", Width: 0.5, Size: 224, Classes: 16, Seed: 62}, "+expand", "pad ["},
	{modelgen.Config{Arch: "v3-small", Width: 1, Size: 224, Classes: 16, Seed: 63}, "+hardswish", ""},
	{modelgen.Config{Arch: "v3-large", Width: 1, Size: 224, Classes: 16, Seed: 64}, "+expand", ""},
	{modelgen.Config{Arch: "efficientnet-lite0", Width: 1, Size: 224, Classes: 16, Seed: 65}, "+expand", "pad ["},
	{modelgen.Config{Arch: "resnet50-v1", Width: 0.25, Size: 96, Classes: 16, Seed: 66}, "+residual", "pad ["},
	{modelgen.Config{Arch: "resnet50-v2", Width: 0.25, Size: 96, Classes: 16, Seed: 67}, "+residual", ""},
}

// TestSamePlanAsTFLite: a network written as .tflite and as .onnx from the
// same weights plans to the same operators with the same fusions, in both
// ONNX spellings (tf2onnx's NHWC input with a Transpose; PyTorch's NCHW
// input with unfolded batch normalization and GlobalAveragePool).
func TestSamePlanAsTFLite(t *testing.T) {
	for _, fam := range planFamilies {
		cfg := fam.cfg
		t.Run(fmt.Sprintf("%s_%g_%d", cfg.Arch, cfg.Width, cfg.Size), func(t *testing.T) {
			t.Parallel()
			g, err := modelgen.MobileNet(cfg)
			if err != nil {
				t.Fatal(err)
			}
			tm, err := tflite.Load(g.TFLite())
			if err != nil {
				t.Fatal(err)
			}
			want := tm.Describe()
			plan := strings.Join(want, "\n")
			if !strings.Contains(plan, fam.fused) || fam.absent != "" && strings.Contains(plan, fam.absent) {
				t.Errorf("the TFLite plan has no %q or has %q:\n%s", fam.fused, fam.absent, plan)
			}
			for _, opts := range []modelgen.ONNXOptions{{}, {NCHWInput: true, BatchNorm: true, GlobalPool: true}} {
				b, err := g.ONNXWith(opts)
				if err != nil {
					t.Fatal(err)
				}
				om, err := onnx.Load(b)
				if err != nil {
					t.Fatal(err)
				}
				samePlan(t, fmt.Sprintf("%+v", opts), om, want)
			}
		})
	}
}

// TestSameInt8PlanAsTFLite: the int8 form of a network, written as .tflite
// and as QDQ .onnx, plans to the same INT8 operators and fused blocks:
// modelgen's int8 test models (V1, V2, mixed operators), EfficientNet-Lite0
// and ResNet-50 V1.
func TestSameInt8PlanAsTFLite(t *testing.T) {
	cases := qdqCases(t)
	for _, cfg := range []modelgen.Config{
		// modelgen.Quantize has no HARD_SWISH (V3) and no standalone RELU
		// (ResNet-50 V2) yet.
		{Arch: "efficientnet-lite0", Width: 0.5, Size: 64, Classes: 16, Seed: 73},
		{Arch: "resnet50-v1", Width: 0.25, Size: 64, Classes: 16, Seed: 74},
	} {
		g, err := modelgen.MobileNet(cfg)
		if err != nil {
			t.Fatal(err)
		}
		cases[fmt.Sprintf("%s_%g_%d", cfg.Arch, cfg.Width, cfg.Size)] = g
	}
	for name, g := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			q, _ := quantized(t, g, 3)
			tm, err := tflite.Load(q.TFLite())
			if err != nil {
				t.Fatal(err)
			}
			for _, opts := range []modelgen.QDQOptions{{}, {Uint8: true, Activations: true}} {
				b, err := q.QDQ(opts)
				if err != nil {
					t.Fatal(err)
				}
				om, err := onnx.Load(b)
				if err != nil {
					t.Fatal(err)
				}
				samePlan(t, fmt.Sprintf("%+v", opts), om, tm.Describe())
			}
		})
	}
}

// samePlan compares m's planned operators with want line by line.
func samePlan(t *testing.T, what string, m *graph.Model, want []string) {
	t.Helper()
	got := m.Describe()
	if strings.Join(got, "\n") == strings.Join(want, "\n") {
		return
	}
	var diff []string
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			diff = append(diff, fmt.Sprintf("  %3d onnx:   %s\n      tflite: %s", i, g, w))
		}
	}
	if len(diff) > 12 {
		diff = append(diff[:12], "  ...")
	}
	t.Errorf("%s: the ONNX model plans %d operators, the TFLite model %d; first differences:\n%s", what, len(got), len(want), strings.Join(diff, "\n"))
}
