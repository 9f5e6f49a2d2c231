package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// winoConvGraph builds CONV_2D 3x3 stride 1 (and, with residual, an ADD of
// its input after it, as a residual block's 3x3 would see one).
func winoConvGraph(rng *rand.Rand, h, w, cin, cout int, pad Padding, act *Bounds, hs, residual bool) (*Graph, []float32, []float32) {
	filter, bias := randFloats(rng, cout*9*cin), randFloats(rng, cout)
	g := &Graph{PackBudget: 1 << 26}
	add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
	in := add(&Tensor{Name: "in", Shape: []int{1, h, w, cin}})
	f := add(&Tensor{Shape: []int{cout, 3, 3, cin}, Float: filter, Const: true})
	bi := add(&Tensor{Shape: []int{cout}, Float: bias, Const: true})
	c := add(&Tensor{Name: "conv"})
	g.Nodes = []Node{{Op: OpConv2D, Inputs: []int{in, f, bi}, Output: c, Padding: pad, StrideH: 1, StrideW: 1, Act: act, HardSwish: hs}}
	g.Input, g.Output = in, c
	if residual {
		sum := add(&Tensor{Name: "sum"})
		g.Nodes = append(g.Nodes, Node{Op: OpAdd, Inputs: []int{c, in}, Output: sum, Act: &Bounds{0, 6}})
		g.Output = sum
	}
	return g, filter, bias
}

// winoReference is the convolution in float64 (then the ADD of the input
// when residual) and, per output, the sum of the magnitudes of its terms,
// which bounds the rounding error of any summation order.
func winoReference(k *convKernel, in, filter, bias []float32, batch int, hs, residual bool) (want, mag []float64) {
	want = make([]float64, batch*k.oh*k.ow*k.cout)
	mag = make([]float64, len(want))
	for b := 0; b < batch; b++ {
		for oy := 0; oy < k.oh; oy++ {
			for ox := 0; ox < k.ow; ox++ {
				for o := 0; o < k.cout; o++ {
					s, m := float64(bias[o]), math.Abs(float64(bias[o]))
					for ky := 0; ky < 3; ky++ {
						iy := oy + ky - k.padT
						for kx := 0; kx < 3; kx++ {
							ix := ox + kx - k.padL
							if iy < 0 || iy >= k.h || ix < 0 || ix >= k.w {
								continue
							}
							for ci := 0; ci < k.cin; ci++ {
								x := float64(in[((b*k.h+iy)*k.w+ix)*k.cin+ci]) * float64(filter[((o*3+ky)*3+kx)*k.cin+ci])
								s += x
								m += math.Abs(x)
							}
						}
					}
					s = min(max(s, float64(k.lo)), float64(k.hi))
					if hs {
						s = s * min(max(s+3, 0), 6) / 6
					}
					i := ((b*k.oh+oy)*k.ow+ox)*k.cout + o
					if residual {
						s = min(max(s+float64(in[((b*k.h+oy)*k.w+ox)*k.cin+o]), 0), 6)
					}
					want[i], mag[i] = s, m
				}
			}
		}
	}
	return want, mag
}

// TestWinogradConv: 3x3 stride-1 convolutions on the Winograd path, F(2×2,
// 3×3) and F(4×4, 3×3), match
// the convolution computed in float64 within 1e-5 of their terms'
// magnitude, and the direct path as planned with Winograd off within
// 2e-5: odd and even sizes that are not multiples of the 2×2 tile, images
// narrower than a tile, channels that are not multiples of 16, SAME and
// VALID, with ReLU6, HARD_SWISH, no bounds, or a residual ADD after it,
// batch 2 on one and two threads, every output written.
func TestWinogradConv(t *testing.T) {
	relu6 := &Bounds{0, 6}
	for _, s := range []struct {
		h, w, cin, cout int
		pad             Padding
		act             *Bounds
		hs, residual    bool
	}{
		{7, 9, 17, 17, PadSame, relu6, false, true},
		{8, 8, 16, 32, PadValid, nil, false, false},
		{5, 6, 33, 20, PadSame, relu6, false, false},
		{13, 11, 64, 48, PadSame, nil, true, false},
		{1, 5, 24, 40, PadSame, relu6, false, false},
		{3, 3, 20, 24, PadValid, relu6, false, false},
		{4, 10, 40, 40, PadValid, nil, false, false},
		{14, 14, 64, 64, PadSame, relu6, false, true},
	} {
		for _, variant := range []int{2, 4} {
			name := fmt.Sprintf("F%d/%dx%dx%d_%d_pad%d_hs%v_res%v", variant, s.h, s.w, s.cin, s.cout, s.pad, s.hs, s.residual)
			t.Run(name, func(t *testing.T) {
				winoVariant = variant
				defer func() { winoVariant = 0 }()
				tol := 1e-5
				rng := rand.New(rand.NewPCG(uint64(s.h*100+s.w), uint64(s.cin)))
				g, filter, bias := winoConvGraph(rng, s.h, s.w, s.cin, s.cout, s.pad, s.act, s.hs, s.residual)
				m, err := Plan(g)
				if err != nil {
					t.Fatal(err)
				}
				winogradOn = false
				direct, err := Plan(g)
				winogradOn = true
				if err != nil {
					t.Fatal(err)
				}
				k := m.nodes[0].k.(*convKernel)
				if k.wino == nil || k.wino.m != variant {
					t.Fatalf("%s: not on the Winograd F(%d) path", describeKernel(k), variant)
				}
				if dk := direct.nodes[0].k.(*convKernel); dk.wino != nil {
					t.Fatal("on the Winograd path with winogradOn false")
				}
				const batch = 2
				per, outPer := s.h*s.w*s.cin, k.oh*k.ow*s.cout
				x := randFloats(rng, batch*per)
				want, mag := winoReference(k, x, filter, bias, batch, s.hs, s.residual)
				ref := make([]float32, batch*outPer)
				if err := direct.Run(x, batch, ref); err != nil {
					t.Fatal(err)
				}
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
						if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol*mag[i]+1e-6) {
							t.Fatalf("batch %d threads %d: output %d = %v, want %v (terms' magnitude %v)", tc.batch, tc.threads, i, got[i], want[i], mag[i])
						}
						if d := math.Abs(float64(got[i] - ref[i])); !(d <= 2*tol*mag[i]+1e-6) {
							t.Fatalf("batch %d threads %d: output %d = %v, direct path %v", tc.batch, tc.threads, i, got[i], ref[i])
						}
					}
				}
			})
		}
	}
}

// TestWinogradPackBudget: the transformed filter counts against the
// graph's budget of packed weights: a budget that holds the direct filter
// but not F(4×4, 3×3)'s four times larger one refuses the model on the
// Winograd path and plans it with Winograd off.
func TestWinogradPackBudget(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	g, _, _ := winoConvGraph(rng, 16, 16, 32, 32, PadSame, nil, false, false)
	g.PackBudget = 32 * 9 * 32
	if _, err := Plan(g); err == nil || !strings.Contains(err.Error(), "packed floats") {
		t.Fatalf("planned on the Winograd path within the direct filter's budget: %v", err)
	}
	g.PackBudget = 32 * 9 * 32
	defer SetWinograd(false, 0)()
	if _, err := Plan(g); err != nil {
		t.Fatalf("direct path: %v", err)
	}
}
