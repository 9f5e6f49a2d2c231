// Package tflite loads float32 TFLite models (MobileNet V1/V2 and graphs
// built from the same operators) and runs them on NHWC float32 images.
//
// The FlatBuffers file is read with bounds-checked accessors of our own;
// anything the engine cannot run exactly — an operator, tensor type, shape,
// padding or dilation it does not support — is refused by Load with an error
// naming it, so Run never meets an unknown case.
package tflite

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

	tensors []*tensor
	nodes   []planned
	input   int
	output  int
	slotOf  []int // tensor index -> workspace slot, -1 for constants and the input
	slotLen []int // floats per slot
	work    int64 // estimated multiply-adds per image

	threads atomic.Int32
	pool    sync.Pool // *workspace
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
// spread one image over.
type env struct {
	threads int
}

// workspace holds the activation buffers of one image in flight.
type workspace struct {
	slots [][]float32
}

// Load parses and plans a TFLite model. Errors are permanent: the same bytes
// always fail the same way.
func Load(b []byte) (*Model, error) {
	m, err := load(b)
	if err != nil {
		return nil, errclass.Permanent(fmt.Errorf("loading tflite model: %w", err))
	}
	return m, nil
}

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
	if batch == 1 || threads == 1 {
		for i := 0; i < batch; i++ {
			m.runImage(in[i*per:(i+1)*per], out[i*m.classes:(i+1)*m.classes], threads)
		}
		return nil
	}
	workers := min(threads, batch)
	var next atomic.Int32
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= batch {
					return
				}
				m.runImage(in[i*per:(i+1)*per], out[i*m.classes:(i+1)*m.classes], 1)
			}
		})
	}
	wg.Wait()
	return nil
}

func (m *Model) getWorkspace() *workspace {
	if ws, ok := m.pool.Get().(*workspace); ok {
		return ws
	}
	ws := &workspace{slots: make([][]float32, len(m.slotLen))}
	for i, n := range m.slotLen {
		ws.slots[i] = make([]float32, n)
	}
	return ws
}

func (m *Model) runImage(in, out []float32, threads int) {
	ws := m.getWorkspace()
	defer m.pool.Put(ws)
	e := &env{threads: threads}
	buf := func(ti int) []float32 {
		t := m.tensors[ti]
		switch {
		case t.konst:
			return t.data
		case ti == m.input:
			return in
		default:
			return ws.slots[m.slotOf[ti]][:t.size()]
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
