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
	slotOf  []int  // tensor index -> workspace slot, -1 for constants and the input
	slotLen []int  // floats per slot
	work    int64  // estimated multiply-adds per image
	split   int    // nodes before split run image by image in a sub-batch, the rest batched
	cross   []bool // tensor index -> computed before split and read from split on
	tail    int    // nodes from tail on run once on the whole batch after the sub-batches (tail.go)
	tailIn  []int  // tensors the tail reads from the sub-batches
	tailBuf []bool // tensor index -> kept in the tail's buffers

	threads atomic.Int32
	timer   atomic.Pointer[nodeTimer] // per-operator timing, nil (off) unless SetNodeTiming

	mu       sync.Mutex
	free     []*workspace // idle workspaces, kept across GCs (a sync.Pool would drop them)
	tailFree []*tailBufs  // idle tail buffers

	weights *hugeBlock // the packed weights, when on huge pages (hugemem.go)
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
	team    *team // the workers of a batched Run, when they help each other
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
// a larger batch runs sub-batches of images on separate goroutines
// (throughput).
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
	// The kernels read the packed weights through raw pointers into a
	// huge-page block, which is unmapped once m is unreachable (hugemem.go).
	defer runtime.KeepAlive(m)
	threads := m.threadCount()
	if batch == 1 {
		m.runImages(in, out, 1, threads, nil, nil, 0)
		return nil
	}
	// Across images: each worker runs sub-batches on one thread. (Running
	// a whole batch on all threads at once, the early layers' images spread
	// over them and each late operator split between them, measured 10-25 %
	// slower on V1, V3-Large and ResNet-50 at batch 8 on 2 quiet cores: the
	// threads wait for each other at every operator.)
	workers := min(threads, batch)
	sub := min(maxSubBatch, (batch+workers-1)/workers)
	var next atomic.Int32
	// A worker out of sub-batches helps the others with their operators
	// (team.go), unless operators are being timed one thread at a time.
	var tm *team
	if workers > 1 && m.timer.Load() == nil && teamHelp {
		tm = newTeam(workers)
	}
	// More than one sub-batch: the tail runs once on the whole batch.
	var tb *tailBufs
	if batchTail && m.tailBuf != nil && batch > sub {
		tb = m.getTail(batch)
		defer m.putTail(tb)
	}
	work := func() {
		for {
			i := (int(next.Add(1)) - 1) * sub
			if i >= batch {
				break
			}
			n := min(sub, batch-i)
			m.runImages(in[i*per:(i+n)*per], out[i*m.classes:(i+n)*m.classes], n, 1, tm, tb, i)
		}
		if tm != nil {
			tm.help()
		}
	}
	// The calling goroutine is one of the workers: one goroutine fewer to
	// start and wake per run (measured at batch 8 on 2 threads against a
	// goroutine per worker, in process and alternating: 2-5 % less wall
	// time per image on V1 and V3-Large, CPU time 0-1 % less).
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Go(work)
	}
	work()
	wg.Wait()
	if tb != nil {
		m.runTail(tb, batch, threads, out)
	}
	return nil
}

// imageShare returns where image img of n keeps each tensor while it runs
// alone through the nodes before the split: the tensors read after the
// split in the sub-batch's workspace ws, laid out as the batched operators
// read them (no two of them share a slot, as all are live at the split),
// the others in the one-image workspace own, which every image of the
// sub-batch reuses.
func (m *Model) imageShare(ws, own *workspace, in []float32, n, img int) func(int) []float32 {
	per := len(in) / n
	return func(ti int) []float32 {
		t := m.tensors[ti]
		switch {
		case t.Const:
			return t.Float
		case ti == m.input:
			return in[img*per : (img+1)*per]
		case m.cross[ti]:
			size := t.Size()
			return ws.slots[m.slotOf[ti]][img*size : (img+1)*size]
		default:
			return own.slots[m.slotOf[ti]][:t.Size()]
		}
	}
}

// batchBuf returns where the n images of in keep each tensor when
// operators run on all of them at once: back to back in ws.
func (m *Model) batchBuf(ws *workspace, in []float32, n int) func(int) []float32 {
	return func(ti int) []float32 {
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
}

// getWorkspace returns the smallest idle workspace for n images,
// allocating one when none fits.
func (m *Model) getWorkspace(n int) *workspace {
	m.mu.Lock()
	best := -1
	for i, ws := range m.free {
		if ws.images >= n && (best < 0 || ws.images < m.free[best].images) {
			best = i
		}
	}
	if best >= 0 {
		ws := m.free[best]
		m.free = append(m.free[:best], m.free[best+1:]...)
		m.mu.Unlock()
		return ws
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

// runImages runs n images layer by layer: the nodes before the split image
// by image, the rest on all n at once, each operator with threads threads.
// A worker of a batched Run passes its team, whose idle workers then
// share its operators. With tail buffers tb, the nodes from m.tail on are
// left to runTail: the sub-batch, images img to img+n of the batch, hands
// it what it reads instead of writing out.
func (m *Model) runImages(in, out []float32, n, threads int, tm *team, tb *tailBufs, img int) {
	ws := m.getWorkspace(n)
	defer m.putWorkspace(ws)
	e := &env{threads: threads, batch: n, team: tm}
	buf := m.batchBuf(ws, in, n)
	timer := m.timer.Load()
	start := 0
	if n > 1 && m.split > 0 {
		// The early layers, whose activations dwarf their weights, run image
		// by image in one image's workspace, the same buffers for every
		// image, so they stay in cache; only the tensors read after the
		// split go to the sub-batch's workspace.
		own := m.getWorkspace(1)
		defer m.putWorkspace(own)
		one := &env{threads: threads, batch: 1, team: tm}
		for img := 0; img < n; img++ {
			m.runNodes(timer, one, 0, m.split, m.imageShare(ws, own, in, n, img))
		}
		start = m.split
	}
	// The late layers, whose weights dwarf their activations, run on the
	// whole sub-batch so each weight is read once for all its images.
	if tb != nil {
		m.runNodes(timer, e, start, m.tail, buf)
		m.toTail(tb, buf, n, img)
		return
	}
	m.runNodes(timer, e, start, len(m.nodes), buf)
	copy(out, buf(m.output))
}

// runNodes runs nodes [from, to) of m, reading and writing the tensors buf
// gives, and times each one when t is not nil (Model.SetNodeTiming).
func (m *Model) runNodes(t *nodeTimer, e *env, from, to int, buf func(int) []float32) {
	var ins [4][]float32
	shared := *e // e with the team's idle workers counted as its threads
	for i := from; i < to; i++ {
		nd := &m.nodes[i]
		args := nodeArgs(ins[:0], nd.ins, buf)
		o := buf(nd.out)
		if h := e.team.helpers(); h > 0 {
			shared.threads = e.threads + h
			nd.k.run(&shared, args, o)
			continue
		}
		if t == nil {
			nd.k.run(e, args, o)
			continue
		}
		t.timeNode(i, nd, e, args, o)
	}
}

// nodeArgs appends the buffers of a node's inputs to args (nil for an
// absent optional input).
func nodeArgs(args [][]float32, tis []int, buf func(int) []float32) [][]float32 {
	for _, ti := range tis {
		if ti < 0 {
			args = append(args, nil)
			continue
		}
		args = append(args, buf(ti))
	}
	return args
}

// fuseLimit is the first node whose weights outnumber its output: the
// depthwise and 1x1 pairs before it fuse (fuseDepthwisePointwise), those
// from it on stay apart. Later pairs run on small images with heavy 1x1
// weights, which a fused pair rereads band by band: fusing them up to the
// batching split instead measured 1-2 % slower at batch 1 on V1, V2 and
// V3-Large, and no faster at batch 8.
func (m *Model) fuseLimit() int {
	for i, nd := range m.nodes {
		w := 0
		for _, ti := range nd.ins {
			if ti >= 0 && m.tensors[ti].Const {
				w += m.tensors[ti].Size()
			}
		}
		if w > m.tensors[nd.out].Size() {
			return i
		}
	}
	return len(m.nodes)
}

// planSplit sets split (splitPoint) and marks the tensors that cross it.
// Graphs with int8 activations (packed four to a slot float, so an
// image's part need not start on a float) run batched throughout.
func (m *Model) planSplit() {
	for i, t := range m.tensors {
		if !t.Const && i != m.input && t.DType != Float32 {
			return
		}
	}
	m.setSplit(m.splitPoint())
}

// setSplit makes node i the first that runs on whole sub-batches and marks
// the tensors that cross the split.
func (m *Model) setSplit(i int) {
	m.split = i
	m.cross = make([]bool, len(m.tensors))
	m.cross[m.output] = true
	for _, nd := range m.nodes[m.split:] {
		for _, ti := range nd.ins {
			if ti >= 0 && ti != m.input && !m.tensors[ti].Const {
				m.cross[ti] = true // read after the split, so computed before it or batched anyway
			}
		}
	}
	m.planTail()
}

// splitPoint chooses the first node to run on whole sub-batches by what
// each node moves per image: on a sub-batch it reads its weights once for
// all the images, but holds every image's activations (inputs and output)
// at once, which then spill from cache; image by image, the reverse. So
// node i costs its activation floats a(i) batched and its weight floats
// w(i) image by image, and the split s costs the sum of w(i) before s and
// of a(i) from s on. splitPoint returns the last s of least cost
// (len(m.nodes) when batching nothing is cheapest). Unlike stopping at the
// first node whose weights outweigh its output, a weight-heavy node early
// on (a squeeze-and-excitation gate) does not batch the large activations
// after it. (Measured against that rule, in process, CPU per image at
// batch 8 on 2 threads: V3-Large 1.7-2.7 % less, V1 and V2 within 1 %.)
func (m *Model) splitPoint() int {
	best, at, cost := 0, len(m.nodes), 0
	for i := len(m.nodes) - 1; i >= 0; i-- {
		nd := m.nodes[i]
		w, a := 0, m.tensors[nd.out].Size()
		for _, ti := range nd.ins {
			switch {
			case ti < 0:
			case m.tensors[ti].Const:
				w += m.tensors[ti].Size()
			default:
				a += m.tensors[ti].Size()
			}
		}
		// cost is what batching nodes i.. costs beyond running them image
		// by image.
		if cost += a - w; cost < best {
			best, at = cost, i
		}
	}
	return at
}
