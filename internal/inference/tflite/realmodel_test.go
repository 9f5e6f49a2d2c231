package tflite

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/oracle"
)

// Real converter output: MediaPipe's BlazeFace face detector as published in
// the @mediapipe/face_detection npm package (Apache-2.0), pinned in
// tools/oracle/package.json. It is not a classifier, but it is what a model
// owner's converter writes and modelgen never did: 74 FLOAT16 weight
// tensors behind DEQUANTIZE operators, explicit PAD before stride-2
// convolutions, RESHAPE and CONCATENATION of the detection heads, and two
// outputs. The engine takes one output, so the test keeps the first (the
// box regressors, [1 896 16]) by shortening the subgraph's output vector,
// and runs the same bytes in the engine and in TFLite's interpreter.
const (
	mediapipeFaceDir   = "node_modules/@mediapipe/face_detection"
	mediapipeFaceShort = "face_detection_short_range.tflite"
	mediapipeFaceFull  = "face_detection_full_range.tflite"
	mediapipeSparse    = "face_detection_full_range_sparse.tflite"
)

// realModel reads a file of the MediaPipe package. The package is installed
// with the oracles (`make deps`, npm ci in tools/oracle), which CI always
// runs: there its absence fails the test; on a developer machine that never
// installed the oracles the test skips, saying so.
func realModel(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(oracle.Dir(t), mediapipeFaceDir, name))
	switch {
	case err == nil:
		return b
	case os.Getenv("CI") != "":
		t.Fatalf("real model %s missing: CI must run `make deps` (npm ci in tools/oracle) (%v)", name, err)
	default:
		t.Skipf("real model %s not installed: run `make deps` (npm ci in tools/oracle) to test it (%v)", name, err)
	}
	return nil
}

// firstOutputOnly returns a copy of a model whose subgraph keeps only its
// first output.
func firstOutputOnly(t *testing.T, b []byte) []byte {
	t.Helper()
	r := &fbReader{b: b}
	sg := r.tableAt(r.fieldVector(r.root(), ModelSubgraphs, 4), 0)
	vs := r.indirect(r.field(sg, SubGraphOutputs))
	n := r.u32(vs)
	if r.err != nil || n < 1 {
		t.Fatalf("outputs vector: %d entries, %v", n, r.err)
	}
	c := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(c[vs:], 1)
	return c
}

func TestRealMediaPipeFloat16(t *testing.T) {
	for _, name := range []string{mediapipeFaceShort, mediapipeFaceFull} {
		t.Run(strings.TrimSuffix(name, ".tflite"), func(t *testing.T) {
			b := realModel(t, name)
			// As published: everything reads; the engine's one-output rule
			// is what refuses it, by name.
			if _, err := Load(b); err == nil || !strings.Contains(err.Error(), "2 outputs, want 1 and 1") {
				t.Fatalf("Load of the two-output file: %v, want the one-output refusal", err)
			}
			one := firstOutputOnly(t, b)
			rg, err := parseFile(one)
			if err != nil {
				t.Fatal(err)
			}
			deq := 0
			for i, op := range rg.ops {
				if op.code == OpDequantize && rg.types[op.inputs[0]] == TypeFloat16 {
					deq++
				} else if op.code == OpDequantize {
					t.Fatalf("operator %d: DEQUANTIZE of %s", i, typeName(rg.types[op.inputs[0]]))
				}
			}
			if deq < 50 {
				t.Fatalf("%d FLOAT16 DEQUANTIZE operators, want the file's float16 weights", deq)
			}
			m, err := Load(one)
			if name == mediapipeFaceFull {
				// The full-range detector upsamples with RESIZE_BILINEAR.
				if err == nil || !strings.Contains(err.Error(), "unsupported operator RESIZE_BILINEAR") {
					t.Fatalf("Load: %v, want RESIZE_BILINEAR refused", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			oracle.Require(t)
			const batch = 2
			h, w, c := m.InputShape()
			in := oracle.RandomImages(31, batch*h*w*c)
			for i := range in {
				in[i] = 2*in[i] - 1 // the detector's [-1, 1] input range
			}
			got := make([]float32, batch*m.NumClasses())
			if err := m.Run(in, batch, got); err != nil {
				t.Fatal(err)
			}
			want := oracle.Run(t, oracle.TFLite, one, in, batch)
			if len(want) != len(got) {
				t.Fatalf("oracle gave %d values, engine %d", len(want), len(got))
			}
			// The outputs are box offsets in pixels (up to ~150), and many lie
			// near zero as sums of large terms, where the summation order of
			// two correct float32 engines differs by a few units of the
			// terms' last place: measured 1.4e-4 relative on such a value
			// (5e-5 absolute on 80.2) against oracle.MaxRelErr's floor of
			// 1e-3 of the largest output. So the error here is normalized
			// by the largest output (measured 3.7e-7 and 4.0e-7).
			n := len(got) / batch
			for img := range batch {
				e := normErr(got[img*n:(img+1)*n], want[img*n:(img+1)*n])
				t.Logf("image %d: max error %.3g of the largest output against TFLite's interpreter", img, e)
				if !(e <= oracle.Tolerance) {
					t.Errorf("image %d: max error %.3g of the largest output > %g", img, e, oracle.Tolerance)
				}
			}
		})
	}
}

// normErr is max |a-b| / max |b|.
func normErr(a, b []float32) float64 {
	var bmax, d float64
	for i := range b {
		bmax = max(bmax, math.Abs(float64(b[i])))
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d / bmax
}

// TestRealSparseRefused: the sparse variant stores its weights with
// sparsity parameters (DENSIFY), refused by name.
func TestRealSparseRefused(t *testing.T) {
	_, err := Load(realModel(t, mediapipeSparse))
	if err == nil || !strings.Contains(err.Error(), "sparse weights") {
		t.Fatalf("Load: %v, want the sparse weights refused", err)
	}
}
