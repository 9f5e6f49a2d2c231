package graph

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// qdwGraph is one INT8 depthwise convolution over a 9x11x16 image.
func qdwGraph(rng *rand.Rand, biasMax int) (*Graph, *Node) {
	const c = 16
	g := &Graph{}
	add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
	in := add(&Tensor{Name: "in", Shape: []int{1, 9, 11, c}, DType: Int8, Quant: &Quant{Scale: []float32{0.05}, ZeroPoint: []int32{-7}}})
	w := make([]int8, 9*c)
	for i := range w {
		w[i] = int8(rng.IntN(255) - 127)
	}
	scales := make([]float32, c)
	for i := range scales {
		scales[i] = 0.01 + 0.02*rng.Float32()
	}
	ft := add(&Tensor{Name: "w", Shape: []int{1, 3, 3, c}, DType: Int8, Const: true, Int8: w, Quant: &Quant{Scale: scales, ZeroPoint: make([]int32, c), Axis: 3}})
	b := make([]int, c)
	for i := range b {
		b[i] = rng.IntN(2*biasMax+1) - biasMax
	}
	bt := add(&Tensor{Name: "b", Shape: []int{c}, DType: Int32, Const: true, Ints: b})
	out := add(&Tensor{Name: "out", DType: Int8, Quant: &Quant{Scale: []float32{0.3}, ZeroPoint: []int32{3}}})
	return g, &Node{Op: OpDepthwiseConv2D, Inputs: []int{in, ft, bt}, Output: out, Padding: PadSame, StrideH: 2, StrideW: 1, ORTRounding: true}
}

// TestQDWFloatExact: the depthwise convolution accumulated in float32 on
// the vector kernel gives the integer loop's outputs bit for bit, and a
// filter whose sums float32 could not hold exactly keeps the integer loop.
func TestQDWFloatExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	g, n := qdwGraph(rng, 5000)
	k, _, _, err := planORTQuant(g, n)
	if err != nil {
		t.Fatal(err)
	}
	fk, ok := k.(*qdwFloatKernel)
	if !ok {
		t.Fatalf("planned %T, want *qdwFloatKernel", k)
	}
	const batch = 2
	inN, outN := 9*11*16, fk.oh*fk.ow*fk.cout
	in := make([]float32, batch*inN/4+1)
	data := int8s(in)[:batch*inN]
	for i := range data {
		data[i] = int8(rng.IntN(256) - 128)
	}
	for _, threads := range []int{1, 2} {
		e := &env{threads: threads, batch: batch}
		got, want := make([]float32, batch*outN/4+1), make([]float32, batch*outN/4+1)
		fk.run(e, [][]float32{in}, got)
		qdwSingleKernel{fk.qconvKernel}.run(e, [][]float32{in}, want)
		if !slices.Equal(int8s(got)[:batch*outN], int8s(want)[:batch*outN]) {
			t.Fatalf("threads %d: float-accumulated depthwise differs from the integer loop", threads)
		}
	}
	g, n = qdwGraph(rng, 1<<25)
	if k, _, _, err = planORTQuant(g, n); err != nil {
		t.Fatal(err)
	}
	if _, ok := k.(*qdwSingleKernel); !ok {
		t.Fatalf("bias beyond 2^24: planned %T, want the integer loop", k)
	}
}
