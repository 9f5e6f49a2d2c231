// Command genmodel writes a random-weight model (MobileNet V1/V2/V3, EfficientNet-Lite0–4, ResNet-50 V1/V2) as a .tflite file and,
// optionally, the equivalent ONNX model with the same weights.
//
//	go run ./internal/modelgen/cmd/genmodel --arch v1 --width 0.25 --size 128 --classes 10 --seed 1 --out m.tflite --onnx m.onnx
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "genmodel:", err)
		os.Exit(1)
	}
}

func run() error {
	var cfg modelgen.Config
	flag.StringVar(&cfg.Arch, "arch", "v1", "architecture: "+strings.Join(modelgen.Archs, ", "))
	flag.Float64Var(&cfg.Width, "width", 1.0, "width multiplier, 0.25 to 1.0")
	flag.IntVar(&cfg.Size, "size", 224, "input height and width")
	flag.IntVar(&cfg.Classes, "classes", 1001, "number of classes")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "weight seed")
	out := flag.String("out", "", "output .tflite path (required)")
	onnx := flag.String("onnx", "", "optional output .onnx path")
	int8Out := flag.String("int8-out", "", "optional output path of the int8 (full-integer) .tflite, calibrated on 4 random images")
	flag.Parse()
	if *out == "" {
		return fmt.Errorf("--out is required")
	}
	g, err := modelgen.MobileNet(cfg)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, g.TFLite(), 0o644); err != nil {
		return err
	}
	if *int8Out != "" {
		s := g.Shape(g.Input)
		q, err := modelgen.Quantize(g, modelgen.CalibrationImages(cfg.Seed, 4*s[1]*s[2]*s[3]), 4)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*int8Out, q.TFLite(), 0o644); err != nil {
			return err
		}
	}
	if *onnx != "" {
		b, err := g.ONNX()
		if err != nil {
			return err
		}
		if err := os.WriteFile(*onnx, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
