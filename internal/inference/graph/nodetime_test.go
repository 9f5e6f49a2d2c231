package graph

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// TestNodeTiming checks the opt-in per-operator timing: off by default,
// one entry per planned operator counting every call and image on both
// schedules (image by image before the split, batched after it), and the
// outputs unchanged by it.
func TestNodeTiming(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
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
	x := must(b.Add(Node{Op: OpConv2D, Name: "the conv", Inputs: []int{b.Input(), f}, StrideH: 1, StrideW: 1, Padding: PadValid}, "conv"))
	y := must(b.Add(Node{Op: OpMean, Inputs: []int{x}, Axes: []int{1, 2}, KeepDims: true}, "mean"))
	w := must(b.Const(&Tensor{Name: "weights", Shape: []int{300, 4}, DType: Float32, Float: randFloats(rng, 1200)}))
	z := must(b.Add(Node{Op: OpFullyConnected, Inputs: []int{y, w}}, "fc"))
	m, err := b.Finish(z)
	if err != nil {
		t.Fatal(err)
	}
	if m.NodeTimes() != nil {
		t.Fatal("NodeTimes is not nil before SetNodeTiming(true)")
	}
	const batch = 6 // one thread: sub-batches of 4 and 2
	in := randFloats(rng, batch*16*16*4)
	want := make([]float32, batch*300)
	m.SetThreads(1)
	if err := m.Run(in, batch, want); err != nil {
		t.Fatal(err)
	}
	m.SetNodeTiming(true)
	got := make([]float32, batch*300)
	for range 2 {
		if err := m.Run(in, batch, got); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatal("outputs differ with timing on")
		}
	}
	if err := m.Run(in[:16*16*4], 1, got[:300]); err != nil {
		t.Fatal(err)
	}
	nt := m.NodeTimes()
	if len(nt) != 3 {
		t.Fatalf("%d entries, want 3", len(nt))
	}
	// Before the split (conv, mean) one call per image; after it one per
	// sub-batch: 2 runs of sub-batches 4 and 2, then one run of 1 image.
	wantCalls := []int{13, 13, 5}
	var total, cpu int64
	_, haveCPU := kernels.ThreadCPU()
	for i, n := range nt {
		if n.Calls != wantCalls[i] || n.Images != 13 {
			t.Errorf("%s: %d calls on %d images, want %d on 13", n.Name, n.Calls, n.Images, wantCalls[i])
		}
		// Every call ran on one thread, so each is timed by its CPU clock too.
		if want := map[bool]int{true: 13}[haveCPU]; n.CPUImages != want {
			t.Errorf("%s: CPU time of %d images, want %d", n.Name, n.CPUImages, want)
		}
		total += int64(n.Total)
		cpu += int64(n.CPU)
	}
	if total <= 0 {
		t.Error("no time recorded")
	}
	if haveCPU && cpu <= 0 {
		t.Error("no CPU time recorded")
	}
	// Spread over two threads, an image's operators are timed by the
	// clock only: the caller's CPU clock misses its helpers' share.
	m.SetNodeTiming(true)
	m.SetThreads(2)
	if err := m.Run(in[:16*16*4], 1, got[:300]); err != nil {
		t.Fatal(err)
	}
	for _, n := range m.NodeTimes() {
		if n.Images != 1 || n.CPUImages != 0 || n.CPU != 0 {
			t.Errorf("%s on two threads: %d images, CPU time of %d (%v), want 1 and none", n.Name, n.Images, n.CPUImages, n.CPU)
		}
	}
	if nt[0].Name != "the conv" || nt[0].Kernel != "conv" || nt[0].Output != "conv" || nt[0].MACs != 16*16*4*4 {
		t.Errorf("first entry %+v", nt[0])
	}
	if nt[2].Kernel != "fc" || !slices.Equal(nt[2].Shape, []int{1, 300}) {
		t.Errorf("last entry %+v", nt[2])
	}
	m.SetNodeTiming(false)
	if m.NodeTimes() != nil {
		t.Fatal("NodeTimes is not nil after SetNodeTiming(false)")
	}
}
