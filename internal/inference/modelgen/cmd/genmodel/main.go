// Command genmodel writes a random-weight model (MobileNet V1/V2/V3, EfficientNet-Lite0–4, ResNet-50 V1/V2) as a .tflite file and,
// optionally, the equivalent ONNX model with the same weights, its int8 form
// (--int8-out) and that int8 model as QDQ ONNX (--qdq-out).
//
//	go run ./internal/inference/modelgen/cmd/genmodel --arch v1 --width 0.25 --size 128 --classes 10 --seed 1 --out m.tflite --onnx m.onnx \
//	    --int8-out m-int8.tflite --qdq-out m-int8.onnx
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
	qdqOut := flag.String("qdq-out", "", "optional output path of the same int8 model as QDQ .onnx (onnxruntime's quantize_static form)")
	qdqUint8 := flag.Bool("qdq-uint8", false, "write the QDQ model's activations as UINT8 (weights stay INT8)")
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
	if *int8Out != "" || *qdqOut != "" {
		s := g.Shape(g.Input)
		q, err := modelgen.Quantize(g, modelgen.CalibrationImages(cfg.Seed, 4*s[1]*s[2]*s[3]), 4)
		if err != nil {
			return err
		}
		if *int8Out != "" {
			if err := os.WriteFile(*int8Out, q.TFLite(), 0o644); err != nil {
				return err
			}
		}
		if *qdqOut != "" {
			b, err := q.QDQ(modelgen.QDQOptions{Uint8: *qdqUint8})
			if err != nil {
				return err
			}
			if err := os.WriteFile(*qdqOut, b, 0o644); err != nil {
				return err
			}
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
