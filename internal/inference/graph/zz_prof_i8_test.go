package graph_test

import (
	"os"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/tflite"
)

func BenchmarkZZProfI8(b *testing.B) {
	data, err := os.ReadFile(os.Getenv("ZZQ"))
	if err != nil {
		b.Fatal(err)
	}
	m, err := tflite.Load(data)
	if err != nil {
		b.Fatal(err)
	}
	m.SetThreads(1)
	in := abInput(m, 1)
	out := make([]float32, m.NumClasses())
	for b.Loop() {
		if err := m.Run(in, 1, out); err != nil {
			b.Fatal(err)
		}
	}
}
