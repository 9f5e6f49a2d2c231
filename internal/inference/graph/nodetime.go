package graph

import (
	"fmt"
	"strings"
	"sync"
	"time"
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
}

// nodeTimer accumulates per-operator times while Model.SetNodeTiming is on.
type nodeTimer struct {
	mu    sync.Mutex
	total []time.Duration
	calls []int
	imgs  []int
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
	m.timer.Store(&nodeTimer{total: make([]time.Duration, n), calls: make([]int, n), imgs: make([]int, n)})
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
			MACs:  int64(ot.Size()) * int64(costPerOutput(nd.k)),
			Calls: t.calls[i], Images: t.imgs[i], Total: t.total[i]}
	}
	return out
}

// add records one call of node i on images images.
func (t *nodeTimer) add(i, images int, d time.Duration) {
	t.mu.Lock()
	t.total[i] += d
	t.calls[i]++
	t.imgs[i] += images
	t.mu.Unlock()
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
