package graph

import "github.com/cspipe/cspipe/internal/inference/kernels"

// The batch's tail: the last operators of a model, whose activations are
// one vector an image (from the global pooling's output on: the
// classifier, its reshape and the softmax), run once on the whole batch
// after the workers of a batched Run are done with their sub-batches, each
// operator split between the threads (env.parallelFor), instead of once per
// sub-batch on one thread. The classifier's weights (4 MB on the
// MobileNets, 8 MB on ResNet-50), which every sub-batch read again for its
// few rows, bound by memory, are then read once a batch, each thread
// streaming its share of the columns.

// batchTail turns the tail on. It is measured on the AVX2 path only, at
// batch 8 on two threads on a loaded Zen 3 (BenchmarkBatchTail, wall
// clock, old/new per pair): V1 1.0@128 medians 1.016 and 1.008 (200 and
// 300 pairs), V3-Large 0.947 and 1.023 (60, 100), ResNet-50 1.022 and
// 0.985 (150, 25), quartiles about 0.9-1.1: within the noise; the CPU time
// of both threads per image 2 % less on V1 (5.84 ms against 5.97) and 3 %
// on V3-Large (9.08 against 9.36). The AVX-512 path keeps the tail in the
// sub-batches until it is measured there.
var batchTail = kernels.Path() == "avx2"

// flat reports whether tensor ti is one vector an image: all its
// dimensions but the last are 1.
func (m *Model) flat(ti int) bool {
	t := m.tensors[ti]
	return len(t.Shape) > 0 && t.Size() == t.Shape[len(t.Shape)-1]
}

// tailMinWeights is the fewest weight floats worth a tail: below, reading
// the weights once per sub-batch costs less than the wait for the slowest
// worker before the tail starts.
const tailMinWeights = 1 << 18

// planTail sets tail (tailPoint) and the tensors the tail reads from the
// sub-batches (tailIn) or keeps in its own buffers (tailBuf, nil without a
// tail). setSplit calls it: the tail starts at the split or after it, so
// what it reads from the sub-batches is in their workspaces laid out image
// after image.
func (m *Model) planTail() {
	m.tail = m.tailPoint()
	m.tailIn, m.tailBuf = nil, nil
	m.mu.Lock()
	m.tailFree = nil // buffers for an earlier plan
	m.mu.Unlock()
	if m.tail == len(m.nodes) {
		return
	}
	m.tailBuf = make([]bool, len(m.tensors))
	for i, nd := range m.nodes[m.tail:] {
		m.tailBuf[nd.out] = true
		for _, ti := range nd.ins {
			if ti < 0 || m.tensors[ti].Const || m.tailBuf[ti] {
				continue
			}
			if !m.producedBefore(ti, m.tail+i) {
				continue
			}
			m.tailBuf[ti] = true
			m.tailIn = append(m.tailIn, ti)
		}
	}
}

// producedBefore reports whether tensor ti is written by a node before
// node i.
func (m *Model) producedBefore(ti, i int) bool {
	for _, nd := range m.nodes[:i] {
		if nd.out == ti {
			return true
		}
	}
	return false
}

// tailPoint returns the first node of the tail: the longest run of nodes
// at the end of the model, from the split on, whose activations are flat
// and that writes the output, when its weights reach tailMinWeights;
// len(m.nodes) (no tail) otherwise.
func (m *Model) tailPoint() int {
	n := len(m.nodes)
	if n == 0 || m.nodes[n-1].out != m.output {
		return n
	}
	t, weights := n, 0
	for i := n - 1; i >= m.split; i-- {
		nd := m.nodes[i]
		if !m.flat(nd.out) {
			break
		}
		small, w := true, 0
		for _, ti := range nd.ins {
			switch {
			case ti < 0:
			case m.tensors[ti].Const:
				w += m.tensors[ti].Size()
			case ti == m.input || !m.flat(ti):
				small = false
			}
		}
		if !small {
			break
		}
		t, weights = i, weights+w
	}
	if weights < tailMinWeights {
		return n
	}
	return t
}

// tailBufs holds the tail's activations for a batch of images: tensor ti's
// in t[ti], the images back to back.
type tailBufs struct {
	images int
	t      [][]float32
}

// getTail returns idle tail buffers for n images, allocating them when
// none fit.
func (m *Model) getTail(n int) *tailBufs {
	m.mu.Lock()
	for i, tb := range m.tailFree {
		if tb.images >= n {
			m.tailFree = append(m.tailFree[:i], m.tailFree[i+1:]...)
			m.mu.Unlock()
			return tb
		}
	}
	m.mu.Unlock()
	tb := &tailBufs{images: n, t: make([][]float32, len(m.tensors))}
	for ti, on := range m.tailBuf {
		if on {
			tb.t[ti] = make([]float32, m.tensors[ti].Size()*n)
		}
	}
	return tb
}

// putTail returns tb for reuse; at most two stay cached.
func (m *Model) putTail(tb *tailBufs) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.tailFree) < 2 {
		m.tailFree = append(m.tailFree, tb)
	}
}

// toTail copies what the tail reads of the n images of a sub-batch,
// starting at image img of the batch, from the sub-batch's tensors (buf).
func (m *Model) toTail(tb *tailBufs, buf func(int) []float32, n, img int) {
	for _, ti := range m.tailIn {
		size := m.tensors[ti].Size()
		copy(tb.t[ti][img*size:(img+n)*size], buf(ti)[:n*size])
	}
}

// runTail runs the tail on all n images of tb with threads threads and
// copies the output to out.
func (m *Model) runTail(tb *tailBufs, n, threads int, out []float32) {
	buf := func(ti int) []float32 {
		t := m.tensors[ti]
		if t.Const {
			return t.Float
		}
		return tb.t[ti][:t.Size()*n]
	}
	m.runNodes(m.timer.Load(), &env{threads: threads, batch: n}, m.tail, len(m.nodes), buf)
	copy(out, buf(m.output))
}
