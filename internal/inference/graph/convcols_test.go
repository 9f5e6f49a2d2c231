package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestConvColumnsWideRows: Plan puts a convolution whose windows span
// several rows and whose output rows are minColumnsWidth or more pixels
// wide at stride 1 across on the column-window path, whatever its
// channels (ResNet-50's 56×56 and 28×28 3×3 layers), as it does RGB
// windows (those other than 3×3, like the 7×7 stem, filled with
// kernels.Scatter3); it keeps narrower rows, strided rows and 1×KW windows
// of wide inputs on the gathered path; and the planned model's outputs
// match the textbook convolution on one and two threads and a batch.
func TestConvColumnsWideRows(t *testing.T) {
	defer SetWinograd(false, 0)() // the 3x3 stride-1 shapes would take the Winograd path
	for _, s := range []struct {
		h, w, cin, cout, kh, kw, sh, sw int
		columns                         bool
	}{
		// RGB windows of other than three rows (the 7×7 stem): their
		// strips are filled with kernels.Scatter3.
		{29, 31, 3, 16, 7, 7, 2, 2, true},
		{9, 12, 3, 8, 5, 5, 1, 1, true},
		{8, 8, 3, 8, 2, 2, 1, 1, true},
		{6, minColumnsWidth, 32, 40, 3, 3, 1, 1, true},
		{4, minColumnsWidth + 5, 24, 33, 3, 3, 2, 1, true},
		{5, minColumnsWidth + 2, 20, 16, 5, 5, 1, 1, true},
		{6, minColumnsWidth - 1, 32, 40, 3, 3, 1, 1, false},
		{6, 2 * minColumnsWidth, 32, 40, 3, 3, 1, 2, false},
		{3, minColumnsWidth, 32, 40, 1, 3, 1, 1, false},
	} {
		name := fmt.Sprintf("%dx%dx%d_k%dx%d_s%d%d", s.h, s.w, s.cin, s.kh, s.kw, s.sh, s.sw)
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(s.w), uint64(s.cin)))
			filter, bias := randFloats(rng, s.cout*s.kh*s.kw*s.cin), randFloats(rng, s.cout)
			g := &Graph{PackBudget: 1 << 24}
			add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
			in := add(&Tensor{Name: "in", Shape: []int{1, s.h, s.w, s.cin}})
			f := add(&Tensor{Shape: []int{s.cout, s.kh, s.kw, s.cin}, Float: filter, Const: true})
			bi := add(&Tensor{Shape: []int{s.cout}, Float: bias, Const: true})
			out := add(&Tensor{})
			g.Nodes = []Node{{Op: OpConv2D, Inputs: []int{in, f, bi}, Output: out, Padding: PadSame,
				StrideH: s.sh, StrideW: s.sw, Act: &Bounds{0, 6}}}
			g.Input, g.Output = in, out
			m, err := Plan(g)
			if err != nil {
				t.Fatal(err)
			}
			k, ok := m.nodes[0].k.(*convKernel)
			if !ok {
				t.Fatalf("planned as %T", m.nodes[0].k)
			}
			if k.columns != s.columns {
				t.Fatalf("column-window path %v, want %v", k.columns, s.columns)
			}
			const batch = 3
			per, outPer := s.h*s.w*s.cin, k.oh*k.ow*s.cout
			x := randFloats(rng, batch*per)
			want := directConv(k, x, filter, bias, batch)
			for _, tc := range []struct{ batch, threads int }{{1, 1}, {batch, 1}, {batch, 2}} {
				m.SetThreads(tc.threads)
				got := make([]float32, tc.batch*outPer)
				for i := range got {
					got[i] = float32(math.NaN()) // every output must be written
				}
				if err := m.Run(x[:tc.batch*per], tc.batch, got); err != nil {
					t.Fatal(err)
				}
				for i := range got {
					if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-5*math.Max(1, math.Abs(float64(want[i])))) {
						t.Fatalf("batch %d threads %d: output %d = %v, want %v", tc.batch, tc.threads, i, got[i], want[i])
					}
				}
			}
		})
	}
}
