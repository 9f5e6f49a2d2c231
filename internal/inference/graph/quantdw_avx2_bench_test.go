//go:build cspipe_bench

package graph_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/onnx"
)

// BenchmarkInt8DWBlendModel runs the int8 .tflite model CSPIPE_QBENCH
// with the AVX2 int8 3x3 depthwise kernels' rescale with blends on
// ("new") and off ("old", kernels.SetInt8AVX2DWBlend), one plan, at batch
// 1 and 8 on one thread by the thread's CPU clock, alternating run by run
// (switchAB); "s2" likewise the stride-2 column kernel
// (kernels.SetInt8AVX2DWS2). Run with
// `go test -tags cspipe_bench -run '^$' -bench Int8DWBlendModel`.
func BenchmarkInt8DWBlendModel(b *testing.B) {
	m, _, _ := loadQBench(b, nil)
	for _, batch := range []int{1, 8} {
		b.Run(fmt.Sprintf("batch%d", batch), func(b *testing.B) {
			switchAB(b, m, batch, kernels.SetInt8AVX2DWBlend)
		})
	}
	for _, batch := range []int{1, 8} {
		b.Run(fmt.Sprintf("s2/batch%d", batch), func(b *testing.B) {
			switchAB(b, m, batch, kernels.SetInt8AVX2DWS2)
		})
	}
}

// BenchmarkInt8DWS2QDQModel runs the QDQ .onnx model CSPIPE_QDQBENCH
// (genmodel --qdq-out --qdq-uint8; its depthwise layers rescale in ONNX
// Runtime's single rounding) with the AVX2 stride-2 column kernel on
// ("new") and off ("old", kernels.SetInt8AVX2DWS2), at batch 1 and 8 on
// one thread, alternating run by run on the thread's CPU clock (switchAB).
func BenchmarkInt8DWS2QDQModel(b *testing.B) {
	path := os.Getenv("CSPIPE_QDQBENCH")
	if path == "" {
		b.Skip("CSPIPE_QDQBENCH not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	m, err := onnx.Load(data)
	if err != nil {
		b.Fatal(err)
	}
	for _, batch := range []int{1, 8} {
		b.Run(fmt.Sprintf("batch%d", batch), func(b *testing.B) {
			switchAB(b, m, batch, kernels.SetInt8AVX2DWS2)
		})
	}
}
