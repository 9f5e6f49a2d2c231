package tflite_test

import (
	"slices"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// TestFoldStridedSlice checks the folded STRIDED_SLICE of a SHAPE against
// Python-style slicing of the shape vector [1 5 4 3].
func TestFoldStridedSlice(t *testing.T) {
	cases := []struct {
		name                       string
		begin, end, stride         int32
		beginMask, endMask, shrink int
		want                       []int
		scalar                     bool
	}{
		{"batch (Keras)", 0, 1, 1, 0, 0, 1, []int{1}, true},
		{"last shrunk", -1, 0, 1, 0, 0, 1, []int{3}, true},
		{"tail [1:]", 1, 0, 1, 0, 1, 0, []int{5, 4, 3}, false},
		{"all [:]", 2, 2, 1, 1, 1, 0, []int{1, 5, 4, 3}, false},
		{"reversed [::-1]", -1, 0, -1, 0, 1, 0, []int{3, 4, 5, 1}, false},
		{"[-1:-3:-1]", -1, -3, -1, 0, 0, 0, []int{3, 4}, false},
		{"[0:4:2]", 0, 4, 2, 0, 0, 0, []int{1, 4}, false},
		{"[3:0:-2]", 3, 0, -2, 0, 0, 0, []int{3, 5}, false},
		{"clamped [10:20]", 10, 20, 1, 0, 0, 0, []int{}, false},
		{"clamped [-10:2]", -10, 2, 1, 0, 0, 0, []int{1, 5}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := modelgen.NewGraph(5, 4, 3, 1)
			add := func(tt modelgen.Tensor) int {
				g.Tensors = append(g.Tensors, tt)
				return len(g.Tensors) - 1
			}
			shape := add(modelgen.Tensor{Name: "shape", Shape: []int{4}, Type: tflite.TypeInt32})
			begin := add(modelgen.Tensor{Name: "begin", Shape: []int{1}, Int: []int32{tc.begin}})
			end := add(modelgen.Tensor{Name: "end", Shape: []int{1}, Int: []int32{tc.end}})
			stride := add(modelgen.Tensor{Name: "stride", Shape: []int{1}, Int: []int32{tc.stride}})
			out := add(modelgen.Tensor{Name: "slice", Type: tflite.TypeInt32})
			g.Ops = append(g.Ops,
				modelgen.Op{Code: tflite.OpShape, Inputs: []int{g.Input}, Outputs: []int{shape}, ShapeType: tflite.TypeInt32},
				modelgen.Op{Code: tflite.OpStridedSlice, Inputs: []int{shape, begin, end, stride}, Outputs: []int{out},
					BeginMask: tc.beginMask, EndMask: tc.endMask, ShrinkMask: tc.shrink})
			g.Output = out
			folded, tensors, err := tflite.FoldFile(g.TFLite())
			if err != nil {
				t.Fatal(err)
			}
			if !folded[0] || !folded[1] {
				t.Fatalf("folded %v, want both", folded)
			}
			o := tensors[out]
			if !o.Const || !slices.Equal(o.Ints, tc.want) || (len(o.Shape) == 0) != tc.scalar {
				t.Fatalf("folded to %v shape %v, want %v (scalar %v)", o.Ints, o.Shape, tc.want, tc.scalar)
			}
		})
	}
}
