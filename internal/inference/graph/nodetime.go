package graph

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// NodeTime is the time one planned operator took, summed over the runs
// since timing was switched on.
type NodeTime struct {
	Name   string        `json:"name"`   // the operator's name in the model file
	Kernel string        `json:"kernel"` // the planned kernel, e.g. "conv", "depthwise+conv"
	Output string        `json:"output"` // the output tensor's name
	Shape  []int         `json:"shape"`  // the output tensor's shape for one image
	MACs   int64         `json:"macs"`   // the planner's multiply-adds per image
	Calls  int           `json:"calls"`  // kernel calls (a sub-batch of images is one call)
	Images int           `json:"images"` // images those calls ran
	Total  time.Duration `json:"total_ns"`
	// CPU is the CPU time of the calls that ran on one thread (CPUImages
	// images), read from that thread's clock: unlike Total it leaves out
	// time the thread was preempted by other processes. Calls that spread
	// over threads are not in it (their helpers' time is not the caller's).
	CPU       time.Duration `json:"cpu_ns"`
	CPUImages int           `json:"cpu_images"`
}

// nodeTimer accumulates per-operator times while Model.SetNodeTiming is on.
type nodeTimer struct {
	mu      sync.Mutex
	total   []time.Duration
	calls   []int
	imgs    []int
	cpu     []time.Duration
	cpuImgs []int
}

// SetNodeTiming switches per-operator timing on (and clears what was
// gathered) or off. It is for profiling: while on, every operator of every
// Run is timed with the monotonic clock; while off (the default) Run pays
// one pointer load per sub-batch and one nil test per operator.
func (m *Model) SetNodeTiming(on bool) {
	if !on {
		m.timer.Store(nil)
		return
	}
	n := len(m.nodes)
	m.timer.Store(&nodeTimer{total: make([]time.Duration, n), calls: make([]int, n), imgs: make([]int, n),
		cpu: make([]time.Duration, n), cpuImgs: make([]int, n)})
}

// NodeTimes returns the times gathered since SetNodeTiming(true), one entry
// per planned operator in execution order; nil when timing is off.
func (m *Model) NodeTimes() []NodeTime {
	t := m.timer.Load()
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]NodeTime, len(m.nodes))
	for i, nd := range m.nodes {
		ot := m.tensors[nd.out]
		out[i] = NodeTime{Name: nd.name, Kernel: kernelName(nd.k), Output: ot.Name, Shape: ot.Shape,
			MACs:  nodeMACs(nd.k, ot.Size()),
			Calls: t.calls[i], Images: t.imgs[i], Total: t.total[i], CPU: t.cpu[i], CPUImages: t.cpuImgs[i]}
	}
	return out
}

// nodeMACs is the multiply-adds per image of a planned kernel k with out
// output values. A fused kernel counts those of all the operators it
// runs, each as it counts standing alone (its outputs times
// costPerOutput): the int8 blocks, the float depthwise+1x1 pairs (and
// their residual ADD), a 1x1 convolution with a residual ADD folded in,
// and a depthwise convolution computing its 1x1 expansion, so that node
// times and Work count the same work whichever operators fused.
func nodeMACs(k kernel, out int) int64 {
	switch k := k.(type) {
	case hardSwishAfter:
		return nodeMACs(k.k, out)
	case *qblockKernel:
		return k.macs()
	case *dwPointwise:
		return k.macs()
	case *depthwiseKernel:
		if x := k.expand; x != nil {
			p := &k.p
			return int64(p.OH)*int64(p.OW)*int64(k.cout)*int64(p.KH*p.KW) + int64(x.h)*int64(x.w)*int64(x.cout)*int64(x.cin)
		}
	case *convKernel:
		if k.residual {
			return int64(out) * int64(costPerOutput(k)+1) // the ADD's one a value
		}
	}
	return int64(out) * int64(costPerOutput(k))
}

// macs returns the multiply-adds of one image of the fused pair k: the
// depthwise's (with its expansion, if any), the 1x1 convolution's and,
// with a residual, the ADD's one a value.
func (k *dwPointwise) macs() int64 {
	p := &k.dw.p
	dw := int64(p.OH) * int64(p.OW) * int64(k.dw.cout)
	pw := int64(p.OH) * int64(p.OW) * int64(k.pw.cout)
	n := nodeMACs(k.dw, int(dw)) + pw*int64(costPerOutput(k.pw))
	if k.res > 0 {
		n += pw
	}
	return n
}

// add records one call of node i on images images that took d, and cpu
// of its thread's time when cpuOK.
func (t *nodeTimer) add(i, images int, d, cpu time.Duration, cpuOK bool) {
	t.mu.Lock()
	t.total[i] += d
	t.calls[i]++
	t.imgs[i] += images
	if cpuOK {
		t.cpu[i] += cpu
		t.cpuImgs[i] += images
	}
	t.mu.Unlock()
}

// timeNode runs node nd as node i of m with e, ins and out and records its
// time in t. A call on one thread is also timed by that thread's CPU
// clock, the goroutine locked to its thread meanwhile so the two readings
// come from one clock.
func (t *nodeTimer) timeNode(i int, nd *planned, e *env, ins [][]float32, out []float32) {
	if e.threads != 1 {
		t0 := time.Now()
		nd.k.run(e, ins, out)
		t.add(i, e.batch, time.Since(t0), 0, false)
		return
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := time.Now()
	c0, ok0 := kernels.ThreadCPU()
	nd.k.run(e, ins, out)
	c1, ok1 := kernels.ThreadCPU()
	d := time.Since(t0)
	t.add(i, e.batch, d, c1-c0, ok0 && ok1 && c1 >= c0)
}

// kernelName is a short name of a planned kernel for profiles.
func kernelName(k kernel) string {
	switch k := k.(type) {
	case hardSwishAfter:
		return kernelName(k.k) + "+hardswish"
	case *convKernel:
		if k.wino != nil {
			return fmt.Sprintf("conv(winograd F%d)", k.wino.m) // MACs stay the direct convolution's
		}
	case *depthwiseKernel:
		s := "depthwise"
		if k.expand != nil {
			s = "conv+depthwise"
		}
		if k.hs {
			s += "(hardswish)"
		}
		return s
	case *dwPointwise:
		s := "depthwise+conv"
		if k.dw.hs {
			s = "depthwise(hardswish)+conv"
		}
		if k.res > 0 {
			s += "+add"
		}
		return s
	}
	s := fmt.Sprintf("%T", k)
	s = strings.TrimPrefix(s, "*")
	s = strings.TrimPrefix(s, "graph.")
	return strings.TrimSuffix(s, "Kernel")
}
