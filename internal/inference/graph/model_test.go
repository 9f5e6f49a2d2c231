package graph

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSubBatchSplit checks the sub-batch schedule: operators whose weights
// are smaller than their output (here a 1x1 convolution and a mean) run
// image by image, the rest (a wide fully connected layer) on the whole
// sub-batch, and a batch gives what its images give alone.
func TestSubBatchSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	b, err := NewBuilder("in", 16, 16, 4, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	must := func(i int, err error) int {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	f := must(b.Const(&Tensor{Name: "filter", Shape: []int{4, 1, 1, 4}, DType: Float32, Float: randFloats(rng, 16)}))
	x := must(b.Add(Node{Op: OpConv2D, Inputs: []int{b.Input(), f}, StrideH: 1, StrideW: 1, Padding: PadValid}, "conv"))
	y := must(b.Add(Node{Op: OpMean, Inputs: []int{x}, Axes: []int{1, 2}, KeepDims: true}, "mean"))
	w := must(b.Const(&Tensor{Name: "weights", Shape: []int{300, 4}, DType: Float32, Float: randFloats(rng, 1200)}))
	z := must(b.Add(Node{Op: OpFullyConnected, Inputs: []int{y, w}}, "fc"))
	m, err := b.Finish(z)
	if err != nil {
		t.Fatal(err)
	}
	if m.split != 2 {
		t.Fatalf("split at operator %d, want 2 (the fully connected layer)", m.split)
	}
	const batch = 6 // one thread: sub-batches of 4 and 2
	per := 16 * 16 * 4
	in := randFloats(rng, batch*per)
	got := make([]float32, batch*300)
	m.SetThreads(1)
	if err := m.Run(in, batch, got); err != nil {
		t.Fatal(err)
	}
	// The early layers ran in one image's workspace, reused by every image
	// of a sub-batch, beside the sub-batch's own.
	sizes := map[int]int{}
	for _, ws := range m.free {
		sizes[ws.images]++
	}
	if sizes[1] != 1 || sizes[4] != 1 || len(m.free) != 2 {
		t.Errorf("idle workspaces by image count %v, want one of 1 and one of 4", sizes)
	}
	matchesAlone(t, m, in, got, batch, 1e-6)
}

// TestSplitCost checks the split's cost rule on a squeeze-and-excitation
// block: its gate (a 1x1 convolution on the pooled channels) has more
// weights than output, but the full-size activations after it (the gated
// map and a 1x1 convolution on it) outweigh its weights, so the split
// falls at the classifier, not at the gate; and a batch still gives what
// its images give alone.
func TestSplitCost(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	b, err := NewBuilder("in", 16, 16, 64, 1<<22)
	if err != nil {
		t.Fatal(err)
	}
	must := func(i int, err error) int {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	pw := func(x int, name string) int {
		f := must(b.Const(&Tensor{Name: name + "/filter", Shape: []int{64, 1, 1, 64}, DType: Float32, Float: randFloats(rng, 64*64)}))
		return must(b.Add(Node{Op: OpConv2D, Inputs: []int{x, f}, StrideH: 1, StrideW: 1, Padding: PadValid}, name))
	}
	x := pw(b.Input(), "expand")
	pooled := must(b.Add(Node{Op: OpMean, Inputs: []int{x}, Axes: []int{1, 2}, KeepDims: true}, "squeeze"))
	gate := pw(pooled, "gate") // 4096 weights, 64 outputs
	y := must(b.Add(Node{Op: OpMul, Inputs: []int{x, gate}}, "excite"))
	z := pw(y, "project")
	p := must(b.Add(Node{Op: OpMean, Inputs: []int{z}, Axes: []int{1, 2}, KeepDims: true}, "pool"))
	w := must(b.Const(&Tensor{Name: "weights", Shape: []int{1000, 64}, DType: Float32, Float: randFloats(rng, 64000)}))
	out := must(b.Add(Node{Op: OpFullyConnected, Inputs: []int{p, w}}, "fc"))
	m, err := b.Finish(out)
	if err != nil {
		t.Fatal(err)
	}
	fc := len(m.nodes) - 1
	if m.nodes[fc].out != out {
		t.Fatalf("last planned node is not the classifier: %+v", m.nodes[fc])
	}
	if m.split != fc {
		t.Fatalf("split at node %d (%s), want %d (the classifier)", m.split, m.nodes[m.split].name, fc)
	}
	const batch = 5
	per := 16 * 16 * 64
	in := randFloats(rng, batch*per)
	got := make([]float32, batch*1000)
	m.SetThreads(2)
	if err := m.Run(in, batch, got); err != nil {
		t.Fatal(err)
	}
	m.SetThreads(1)
	matchesAlone(t, m, in, got, batch, 1e-5)
}

// matchesAlone checks that got, m's outputs for the batch of images in,
// holds what each image gives run alone, within tol relative (plus tol).
func matchesAlone(t *testing.T, m *Model, in, got []float32, batch int, tol float64) {
	t.Helper()
	per, outs := len(in)/batch, len(got)/batch
	for i := 0; i < batch; i++ {
		want := make([]float32, outs)
		if err := m.Run(in[i*per:(i+1)*per], 1, want); err != nil {
			t.Fatal(err)
		}
		for j, v := range want {
			if g := got[i*outs+j]; math.Abs(float64(g-v)) > tol*(1+math.Abs(float64(v))) {
				t.Fatalf("image %d output %d: batch %g, alone %g", i, j, g, v)
			}
		}
	}
}

// TestFuseLimit: a depthwise and 1x1 pair whose 1x1 weights (with bias)
// outnumber its output stays apart even before the batching split, which
// the classifier's weights put after it.
func TestFuseLimit(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	b, err := NewBuilder("in", 8, 8, 64, 1<<22)
	if err != nil {
		t.Fatal(err)
	}
	must := func(i int, err error) int {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	dwf := must(b.Const(&Tensor{Name: "dw/filter", Shape: []int{1, 3, 3, 64}, DType: Float32, Float: randFloats(rng, 9*64)}))
	d := must(b.Add(Node{Op: OpDepthwiseConv2D, Inputs: []int{b.Input(), dwf}, StrideH: 1, StrideW: 1, Padding: PadSame}, "dw"))
	pwf := must(b.Const(&Tensor{Name: "pw/filter", Shape: []int{64, 1, 1, 64}, DType: Float32, Float: randFloats(rng, 64*64)}))
	pwb := must(b.Const(&Tensor{Name: "pw/bias", Shape: []int{64}, DType: Float32, Float: randFloats(rng, 64)}))
	p := must(b.Add(Node{Op: OpConv2D, Inputs: []int{d, pwf, pwb}, StrideH: 1, StrideW: 1, Padding: PadValid}, "pw"))
	pooled := must(b.Add(Node{Op: OpMean, Inputs: []int{p}, Axes: []int{1, 2}, KeepDims: true}, "pool"))
	w := must(b.Const(&Tensor{Name: "weights", Shape: []int{1000, 64}, DType: Float32, Float: randFloats(rng, 64000)}))
	out := must(b.Add(Node{Op: OpFullyConnected, Inputs: []int{pooled, w}}, "fc"))
	m, err := b.Finish(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.nodes) != 4 {
		t.Fatalf("%d planned operators, want 4 (the depthwise and 1x1 apart)", len(m.nodes))
	}
	if _, ok := m.nodes[0].k.(*depthwiseKernel); !ok {
		t.Fatalf("first operator is %T, want the depthwise alone", m.nodes[0].k)
	}
	if m.split != 3 {
		t.Fatalf("split at node %d, want 3 (the classifier)", m.split)
	}
}
