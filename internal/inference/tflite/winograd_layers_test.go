package tflite_test

import (
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// TestResNetWinogradLayers: every 3x3 stride-1 convolution of ResNet-50
// V1 and V2 at full width and 224 pixels is planned on the Winograd path
// (so a silent fallback to the direct path fails here), F(4×4, 3×3) for
// outputs of 14×14 pixels or more and F(2×2, 3×3) for the 7×7 stage, and
// nothing else is: V1 has its 16 3x3 layers at stride 1 (stride 2 sits in
// each stage's first 1x1); V2 takes stride 2 in the 3x3 of each of its
// first three stages' last block, which stay direct.
func TestResNetWinogradLayers(t *testing.T) {
	for _, tc := range []struct {
		arch         string
		wino, direct int
	}{{"resnet50-v1", 16, 0}, {"resnet50-v2", 13, 3}} {
		t.Run(tc.arch, func(t *testing.T) {
			g, err := modelgen.MobileNet(modelgen.Config{Arch: tc.arch, Width: 1, Size: 224, Classes: 1001, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			m, err := tflite.Load(g.TFLite())
			if err != nil {
				t.Fatal(err)
			}
			wino, direct := 0, 0
			for _, line := range m.Describe() {
				on := strings.Contains(line, "+winograd")
				switch {
				case strings.HasPrefix(line, "conv 3x3/1x1 "):
					variant := " +winograd F(4x4,3x3) "
					if strings.HasSuffix(line, " out=[1 7 7 512]") {
						variant = " +winograd F(2x2,3x3) "
					}
					if !strings.Contains(line, variant) {
						t.Errorf("3x3 stride-1 layer not on the Winograd path%s: %s", variant, line)
					}
					wino++
				case on:
					t.Errorf("on the Winograd path: %s", line)
				case strings.HasPrefix(line, "conv 3x3/"):
					direct++
				}
			}
			if wino != tc.wino || direct != tc.direct {
				t.Errorf("%d 3x3 stride-1 layers and %d other 3x3 layers, want %d and %d", wino, direct, tc.wino, tc.direct)
			}
		})
	}
}
