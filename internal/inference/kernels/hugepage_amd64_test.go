//go:build amd64

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// hugeCopy returns a copy of p whose panels and bias live in one mapping
// advised for huge pages, and the function that unmaps it (nil when the
// mapping failed).
func hugeCopy(p *PackedB) (*PackedB, func()) {
	n := len(p.panels) + len(p.bias)
	ptr, size := MapHuge(4 * n)
	if ptr == nil {
		return nil, nil
	}
	all := unsafe.Slice((*float32)(ptr), n)
	q := *p
	q.panels, q.bias = all[:len(p.panels):len(p.panels)], all[len(p.panels):]
	copy(q.panels, p.panels)
	copy(q.bias, p.bias)
	return &q, func() { UnmapHuge(ptr, size) }
}

// BenchmarkHugePagesGemv runs MobileNet V3-Large's classifier tail at
// batch 1, the few-row kernel the graph uses for 1x1 convolutions on one
// pixel (960→1280, then 1280→1001: 10 MB of weights), with the packed
// weights in Go's heap (4 KB pages) and in a mapping advised for
// transparent huge pages. The two take turns call by call, and each call
// is timed on the thread's CPU clock, so a busy machine slows both alike
// and preemption does not count; go-us and huge-us are the medians per
// call, huge/go their ratio (below 1: huge pages faster). "hot" reads the
// same weights every call (from L3, as a model run after run does: they
// do not fit the 2 MB L2); "cold" rotates through copies filling 256 MB.
// hugeKB is the process's AnonHugePages once the huge copies are written:
// 0 would mean the kernel gave 4 KB pages anyway.
func BenchmarkHugePagesGemv(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512: the few-row kernel is not used")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	type layer struct{ k, n int }
	shapes := []struct {
		name   string
		layers []layer
	}{
		{"960x1280", []layer{{960, 1280}}},
		{"1280x1001", []layer{{1280, 1001}}},
		{"tail", []layer{{960, 1280}, {1280, 1001}}},
	}
	for _, s := range shapes {
		bytes := 0
		for _, l := range s.layers {
			bytes += 4 * l.k * l.n
		}
		a := randSlice(rng, 1280)
		c := make([]float32, 1280)
		for _, temp := range []string{"hot", "cold"} {
			copies := 1
			if temp == "cold" {
				copies = max(2, (256<<20)/bytes)
			}
			// sets[0][i] holds copy i of every layer in Go's heap,
			// sets[1][i] the same in huge pages.
			var sets [2][][]*PackedB
			var unmaps []func()
			for range copies {
				var g, h []*PackedB
				for _, l := range s.layers {
					p := PackB(randSlice(rng, l.k*l.n), l.n, l.k, randSlice(rng, l.n))
					q, unmap := hugeCopy(p)
					if q == nil {
						b.Skip("mmap failed")
					}
					unmaps = append(unmaps, unmap)
					g, h = append(g, p), append(h, q)
				}
				sets[0], sets[1] = append(sets[0], g), append(sets[1], h)
			}
			kb, _ := AnonHugePagesKB()
			b.Run(s.name+"/"+temp, func(b *testing.B) {
				// Every round reads the next copy, the same for both
				// (Setup counts the runs).
				i, runs := 0, 0
				mem := func(name string, v int) abbench.Side {
					return abbench.Side{Name: name, Setup: func() {
						i = runs / 2 % copies
						runs++
					}, Run: func() {
						for j, l := range s.layers {
							Gemm(1, a, l.k, sets[v][i][j], NoClampLo, NoClampHi, c, l.n)
						}
					}}
				}
				t := abbench.Alternate(b, abbench.ThreadCPU, mem("go", 0), mem("huge", 1))
				t.Report(b, 0, abbench.Med, 1e6, "%s-us")
				b.ReportMetric(t.MedRatio(0, 1, 0), "huge/go")
				t.ReportRate(b, 0, abbench.Med, float64(bytes)/1e9, "%s-GB/s")
				b.ReportMetric(float64(kb), "hugeKB")
			})
			for _, u := range unmaps {
				u()
			}
		}
	}
}

// BenchmarkStreamRead asks whether the batch-1 GEMV leaves bandwidth
// unused: it times the V3-Large classifier tail (960→1280 then 1280→1001,
// 10 MB of packed weights, hot: from L3 every call) against a plain
// front-to-back AVX-512 read of the same panels, without and with software
// prefetch at several distances, all from Go's heap and from huge pages.
// The variants take turns call by call on the thread's CPU clock; each
// reports its median per call ("<variant>-us") and the rate over the
// weights ("<variant>-GB/s"). The "L2" case reads 1 MB, the rate from L2.
func BenchmarkStreamRead(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var out [16]float32
	a := randSlice(rng, 1280)
	c := make([]float32, 1280)
	type layer struct{ k, n int }
	layers := []layer{{960, 1280}, {1280, 1001}}
	var mems [2][]*PackedB
	bytes := 0
	for _, l := range layers {
		p := PackB(randSlice(rng, l.k*l.n), l.n, l.k, randSlice(rng, l.n))
		q, unmap := hugeCopy(p)
		if q == nil {
			b.Skip("mmap failed")
		}
		defer unmap()
		mems[0], mems[1] = append(mems[0], p), append(mems[1], q)
		bytes += 4 * len(p.panels)
	}
	memName := [2]string{"go", "huge"}
	type variant struct {
		name string
		run  func(ps []*PackedB)
	}
	variants := []variant{{"gemv", func(ps []*PackedB) {
		for j, l := range layers {
			Gemm(1, a, l.k, ps[j], NoClampLo, NoClampHi, c, l.n)
		}
	}}}
	for _, ahead := range []int{0, 1024, 2048, 4096} {
		variants = append(variants, variant{fmt.Sprintf("read-pf%d", ahead), func(ps []*PackedB) {
			for _, p := range ps {
				if ahead == 0 {
					streamRead512(&p.panels[0], len(p.panels)&^63, &out[0])
				} else {
					streamRead512PF(&p.panels[0], len(p.panels)&^63, &out[0], ahead)
				}
			}
		}})
	}
	l2 := randSlice(rng, 1<<18)
	b.Run("L3", func(b *testing.B) {
		var sides []abbench.Side
		for _, v := range variants {
			for m := range 2 {
				sides = append(sides, abbench.Side{Name: v.name + "/" + memName[m], Run: func() { v.run(mems[m]) }})
			}
		}
		t := abbench.Alternate(b, abbench.ThreadCPU, sides...)
		t.Report(b, 0, abbench.Med, 1e6, "%s-us")
		t.ReportRate(b, 0, abbench.Med, float64(bytes)/1e9, "%s-GB/s")
	})
	b.Run("L2", func(b *testing.B) {
		for b.Loop() {
			streamRead512(&l2[0], len(l2), &out[0])
		}
		b.ReportMetric(float64(4*len(l2))*float64(b.N)/b.Elapsed().Seconds()/1e9, "read-GB/s")
	})
}
