package tflite_test

import (
	"testing"

	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/oracle"
)

// TestOracleResNetWideRows runs ResNet-50 V1 and V2 at half width and 192
// pixels against TFLite's interpreter and ONNX Runtime: the first stage's
// 3x3 convolutions (32 channels, 48-pixel output rows) take the
// column-window path for their width, where TestOracles' quarter-width
// 96-pixel ResNets reach it only for their 16 channels, and the stem's max
// pool has columns inside the image for MaxWindow.
func TestOracleResNetWideRows(t *testing.T) {
	oracle.Require(t)
	for _, cfg := range []modelgen.Config{
		{Arch: "resnet50-v1", Width: 0.5, Size: 192, Classes: 32, Seed: 23},
		{Arch: "resnet50-v2", Width: 0.5, Size: 192, Classes: 32, Seed: 24},
	} {
		t.Run(cfg.Arch, func(t *testing.T) {
			t.Parallel()
			g, err := modelgen.MobileNet(cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkOracles(t, g, cfg.Seed)
		})
	}
}
