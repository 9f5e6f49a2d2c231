package graph

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/cspipe/cspipe/internal/errclass"
)

// Model is a loaded, planned graph. It is immutable after Load apart from
// the thread count, and safe for concurrent use.
type Model struct {
	inH, inW, inC int
	classes       int

	tensors []*Tensor
	nodes   []planned
	input   int
	output  int
	slotOf  []int // tensor index -> workspace slot, -1 for constants and the input
	slotLen []int // floats per slot
	work    int64 // estimated multiply-adds per image

	threads atomic.Int32

	mu   sync.Mutex
	free []*workspace // idle workspaces, kept across GCs (a sync.Pool would drop them)
}

// planned is one operator ready to run.
type planned struct {
	name string
	k    kernel
	ins  []int // tensor indices; -1 for an absent optional input
	out  int
}

// kernel runs one operator on one image.
type kernel interface {
	run(e *env, ins [][]float32, out []float32)
}

// env is what a kernel may use while running: the number of threads it may
// spread the work over and the number of images laid out back to back in
// every activation.
type env struct {
	threads int
	batch   int
}

// maxSubBatch is how many images one goroutine runs layer by layer
// together, so each layer's weights are read once for all of them.
const maxSubBatch = 4

// workspace holds the activation buffers of up to images images in flight.
type workspace struct {
	images int
	slots  [][]float32
}

// Work is the planner's estimate of multiply-adds per image.
func (m *Model) Work() int64 { return m.work }

// InputShape returns the height, width and channels of one input image.
func (m *Model) InputShape() (h, w, c int) { return m.inH, m.inW, m.inC }

// NumClasses returns the number of output values per image.
func (m *Model) NumClasses() int { return m.classes }

// SetThreads sets how many goroutines one Run call may use; t <= 0 means
// GOMAXPROCS. A batch of one image is split inside the image (latency);
// larger batches run whole images on separate goroutines (throughput).
func (m *Model) SetThreads(t int) { m.threads.Store(int32(max(t, 0))) }

func (m *Model) threadCount() int {
	if t := int(m.threads.Load()); t > 0 {
		return t
	}
	return runtime.GOMAXPROCS(0)
}

// ErrShape reports input or output slices whose length does not match the
// model and batch size.
var ErrShape = errors.New("tensor length mismatch")

// Run runs batch images laid out NHWC in in (batch*h*w*c floats) and writes
// batch*NumClasses outputs to out.
func (m *Model) Run(in []float32, batch int, out []float32) error {
	per := m.inH * m.inW * m.inC
	if batch <= 0 || len(in) != batch*per || len(out) != batch*m.classes {
		return errclass.Permanent(fmt.Errorf("running model: batch %d needs %d input and %d output floats, got %d and %d: %w",
			batch, batch*per, batch*m.classes, len(in), len(out), ErrShape))
	}
	threads := m.threadCount()
	if batch == 1 {
		m.runImages(in, out, 1, threads)
		return nil
	}
	// Across images: each worker runs sub-batches on one thread.
	workers := min(threads, batch)
	sub := min(maxSubBatch, (batch+workers-1)/workers)
	var next atomic.Int32
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for {
				i := (int(next.Add(1)) - 1) * sub
				if i >= batch {
					return
				}
				n := min(sub, batch-i)
				m.runImages(in[i*per:(i+n)*per], out[i*m.classes:(i+n)*m.classes], n, 1)
			}
		})
	}
	wg.Wait()
	return nil
}

// getWorkspace returns an idle workspace for n images, allocating one when
// none fits.
func (m *Model) getWorkspace(n int) *workspace {
	m.mu.Lock()
	for i, ws := range m.free {
		if ws.images >= n {
			m.free = append(m.free[:i], m.free[i+1:]...)
			m.mu.Unlock()
			return ws
		}
	}
	m.mu.Unlock()
	ws := &workspace{images: n, slots: make([][]float32, len(m.slotLen))}
	for i, size := range m.slotLen {
		ws.slots[i] = make([]float32, size*n)
	}
	return ws
}

// putWorkspace returns ws for reuse; at most maxIdle stay cached.
func (m *Model) putWorkspace(ws *workspace) {
	const maxIdle = 8
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.free) < maxIdle {
		m.free = append(m.free, ws)
	}
}

// runImages runs n <= maxSubBatch images layer by layer.
func (m *Model) runImages(in, out []float32, n, threads int) {
	ws := m.getWorkspace(n)
	defer m.putWorkspace(ws)
	e := &env{threads: threads, batch: n}
	buf := func(ti int) []float32 {
		t := m.tensors[ti]
		switch {
		case t.Const:
			return t.Float
		case ti == m.input:
			return in
		default:
			return ws.slots[m.slotOf[ti]][:t.Size()*n]
		}
	}
	var ins [4][]float32
	for _, n := range m.nodes {
		args := ins[:0]
		for _, ti := range n.ins {
			if ti < 0 {
				args = append(args, nil)
				continue
			}
			args = append(args, buf(ti))
		}
		n.k.run(e, args, buf(n.out))
	}
	copy(out, buf(m.output))
}
