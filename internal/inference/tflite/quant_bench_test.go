package tflite_test

import (
	"os"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// BenchmarkQuantFile runs the int8 model named by CSPIPE_QBENCH (a .tflite
// path) at batch 1 on one thread; skipped without it (make bench compares
// int8 and float through cspipe bench instead).
func BenchmarkQuantFile(b *testing.B) {
	path := os.Getenv("CSPIPE_QBENCH")
	if path == "" {
		b.Skip("CSPIPE_QBENCH not set")
	}
	file, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	m, err := tflite.Load(file)
	if err != nil {
		b.Fatal(err)
	}
	m.SetThreads(1)
	h, w, c := m.InputShape()
	in := make([]float32, h*w*c)
	out := make([]float32, m.NumClasses())
	for b.Loop() {
		if err := m.Run(in, 1, out); err != nil {
			b.Fatal(err)
		}
	}
}
