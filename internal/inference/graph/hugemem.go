package graph

import (
	"os"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// Huge pages. A planned model moves its packed float weights (direct and
// Winograd convolutions, fused 1x1 expansions, fully connected layers)
// into one block of memory mapped for transparent huge pages
// (kernels.MapHuge): Go's heap does not ask for huge pages, and with the
// host's "madvise" setting the weights would otherwise sit on 4 KB pages,
// a TLB miss (a nested page walk in a VM) every 4 KB of a weight stream.
// Measured with BenchmarkHugePagesModel (the same model with and without,
// run by run on the process CPU clock, -count 6 of 30 pairs, load 5-12),
// huge over heap CPU per image: V3-Large batch 1 0.968-0.999 (median
// 0.985), ResNet-50 batch 1 0.954-0.975 (0.969), ResNet-50 batch 8 on two
// threads 0.984-0.999 (0.994), V1 batch 8 on two threads 0.978-0.998
// (0.988). Workspaces on huge pages as well measured no better than the
// weights alone, so activations stay on Go's heap.
// CSPIPE_HUGEPAGES=0 turns it off.
//
// The block is unmapped once it is unreachable (runtime.AddCleanup): the
// model holds it, and Run keeps the model reachable until its kernels are
// done.

// hugePagesOn: CSPIPE_HUGEPAGES=0 in the environment (read once at
// start-up) leaves the packed weights of models planned after it on Go's
// heap, for A/B runs.
var hugePagesOn = os.Getenv("CSPIPE_HUGEPAGES") != "0"

// hugeMinFloats is the smallest block worth a mapping: below one huge page
// none of it could sit on one.
const hugeMinFloats = kernels.HugePage / 4

// hugeMapped counts the bytes live blocks hold mapped (tests check that
// dropped models give them back).
var hugeMapped atomic.Int64

// hugeBlock is one mapping that hands out float buffers front to back, each
// 64-byte aligned. A nil *hugeBlock hands out buffers from make.
type hugeBlock struct {
	base       unsafe.Pointer
	size, used uintptr // bytes mapped, handed out
}

// hugeAlign is the alignment of every buffer in a block, in floats (a
// cache line, a whole AVX-512 vector).
const hugeAlign = 16

// hugeFloats is how many floats of a block buffers of the lengths given
// take, alignment included.
func hugeFloats(lens ...int) int {
	total := 0
	for _, n := range lens {
		total += (n + hugeAlign - 1) &^ (hugeAlign - 1)
	}
	return total
}

// newHugeBlock maps a block of floats floats; nil (buffers from make) when
// the block would be smaller than a huge page or the system refuses the
// mapping.
func newHugeBlock(floats int) *hugeBlock {
	if floats < hugeMinFloats {
		return nil
	}
	p, size := kernels.MapHuge(4 * floats)
	if p == nil {
		return nil
	}
	h := &hugeBlock{base: p, size: size}
	hugeMapped.Add(int64(size))
	runtime.AddCleanup(h, func(m hugeMapping) {
		kernels.UnmapHuge(m.base, m.size)
		hugeMapped.Add(-int64(m.size))
	}, hugeMapping{p, size})
	return h
}

// hugeMapping is what a block's cleanup unmaps.
type hugeMapping struct {
	base unsafe.Pointer
	size uintptr
}

// floats hands out the block's next n floats, zeroed; from make when h is
// nil or full. The buffer is valid as long as h is reachable.
func (h *hugeBlock) floats(n int) []float32 {
	need := 4 * uintptr((n+hugeAlign-1)&^(hugeAlign-1))
	if h == nil || n <= 0 || need > h.size-h.used {
		return make([]float32, n)
	}
	s := unsafe.Slice((*float32)(unsafe.Add(h.base, h.used)), n)
	h.used += need
	return s[:n:n]
}

// holds reports whether p points into the part of h handed out.
func (h *hugeBlock) holds(p *float32) bool {
	if h == nil || p == nil {
		return false
	}
	a := uintptr(unsafe.Pointer(p))
	return a >= uintptr(h.base) && a < uintptr(h.base)+h.used
}

// packedOf appends the packed float weights kernel k reads.
func packedOf(ps []*kernels.PackedB, k kernel) []*kernels.PackedB {
	switch k := k.(type) {
	case hardSwishAfter:
		return packedOf(ps, k.k)
	case *convKernel:
		ps = append(ps, k.pb)
		if k.wino != nil {
			ps = append(ps, k.wino.pb...)
		}
	case *fcKernel:
		ps = append(ps, k.pb)
	case *depthwiseKernel:
		if k.expand != nil {
			ps = append(ps, k.expand.pb)
		}
	case *dwPointwise:
		ps = packedOf(packedOf(ps, k.dw), k.pw)
	}
	return ps
}

// packedWeights lists the packed float weights of m's kernels, each once.
func (m *Model) packedWeights() []*kernels.PackedB {
	var ps []*kernels.PackedB
	seen := make(map[*kernels.PackedB]bool)
	for _, nd := range m.nodes {
		for _, p := range packedOf(nil, nd.k) {
			if p != nil && !seen[p] {
				seen[p] = true
				ps = append(ps, p)
			}
		}
	}
	return ps
}

// moveWeightsHuge moves the packed weights of m's kernels into one
// huge-page block that m keeps (nothing moves when huge pages are off or
// the weights are fewer than a huge page). The weights are the same bits
// after the move. While they move, the old copies are still on the heap:
// loading peaks at twice the packed weights, each copy within the graph's
// pack budget.
func (m *Model) moveWeightsHuge() {
	if !hugePagesOn {
		return
	}
	ps := m.packedWeights()
	var lens []int
	for _, p := range ps {
		panels, bias := p.Floats()
		lens = append(lens, panels, bias)
	}
	h := newHugeBlock(hugeFloats(lens...))
	if h == nil {
		return
	}
	for _, p := range ps {
		p.Relocate(h.floats)
	}
	m.weights = h
}
