package graph

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// qdwGraph is one INT8 depthwise convolution over a 9x11x16 image.
func qdwGraph(rng *rand.Rand, ortRounding bool) (*Graph, *Node) {
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
		b[i] = rng.IntN(10001) - 5000
	}
	bt := add(&Tensor{Name: "b", Shape: []int{c}, DType: Int32, Const: true, Ints: b})
	out := add(&Tensor{Name: "out", DType: Int8, Quant: &Quant{Scale: []float32{0.3}, ZeroPoint: []int32{3}}})
	return g, &Node{Op: OpDepthwiseConv2D, Inputs: []int{in, ft, bt}, Output: out, Padding: PadSame, StrideH: 2, StrideW: 1, ORTRounding: ortRounding}
}

// TestORTDepthwiseOnTheVectorKernel: a depthwise convolution from a
// quantized ONNX model runs on the vector kernel with one rounding and
// gives the scalar loop's outputs (also rounded once) bit for bit, while
// the same node from TFLite (two roundings) differs from them somewhere.
func TestORTDepthwiseOnTheVectorKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	g, n := qdwGraph(rng, true)
	k, _, _, err := planORTQuant(g, n)
	if err != nil {
		t.Fatal(err)
	}
	qk, ok := k.(*qconvKernel)
	if !ok || qk.dw == nil || qk.dw.RQ.Double {
		t.Fatalf("planned %T, want the vector depthwise with single rounding", k)
	}
	// The same node on the scalar loop, which depth multipliers above 1 take.
	sk, _, _, err := planORTQuant(g, n)
	if err != nil {
		t.Fatal(err)
	}
	sk.(*qconvKernel).dw = nil
	n.ORTRounding = false
	tk, _, err := planQuant(g, n)
	if err != nil {
		t.Fatal(err)
	}
	const batch = 2
	inN, outN := 9*11*16, qk.oh*qk.ow*qk.cout
	in := make([]float32, batch*inN/4+1)
	data := int8s(in)[:batch*inN]
	for i := range data {
		data[i] = int8(rng.IntN(256) - 128)
	}
	for _, threads := range []int{1, 2} {
		e := &env{threads: threads, batch: batch}
		got, want, tfl := make([]float32, batch*outN/4+1), make([]float32, batch*outN/4+1), make([]float32, batch*outN/4+1)
		qk.run(e, [][]float32{in}, got)
		sk.run(e, [][]float32{in}, want)
		tk.run(e, [][]float32{in}, tfl)
		if !slices.Equal(int8s(got)[:batch*outN], int8s(want)[:batch*outN]) {
			t.Fatalf("threads %d: the vector depthwise differs from the single-rounding scalar loop", threads)
		}
		if slices.Equal(int8s(tfl)[:batch*outN], int8s(want)[:batch*outN]) {
			t.Fatalf("threads %d: double and single rounding agree everywhere; the test data no longer tells them apart", threads)
		}
	}
}
