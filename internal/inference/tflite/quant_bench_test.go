package tflite_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// BenchmarkQuantFile runs the model named by CSPIPE_QBENCH (a .tflite
// path) at batch CSPIPE_QBENCH_BATCH (default 1) on CSPIPE_QBENCH_THREADS
// threads (default 1), for profiling; skipped without it (make bench
// compares int8 and float through cspipe bench instead).
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
	batch, threads := envInt(b, "CSPIPE_QBENCH_BATCH"), envInt(b, "CSPIPE_QBENCH_THREADS")
	m.SetThreads(threads)
	h, w, c := m.InputShape()
	in := make([]float32, batch*h*w*c)
	out := make([]float32, batch*m.NumClasses())
	for b.Loop() {
		if err := m.Run(in, batch, out); err != nil {
			b.Fatal(err)
		}
	}
}

// envInt reads a positive count from the environment, 1 when unset.
func envInt(b *testing.B, name string) int {
	v := os.Getenv(name)
	if v == "" {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
