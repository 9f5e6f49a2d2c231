package graph_test

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/inference/abbench"
	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/oracle"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// hugeModel plans the model of arch, width and size with its packed
// weights on huge pages or not.
func hugeModel(tb testing.TB, arch string, width float64, size int, huge bool) *graph.Model {
	tb.Helper()
	g, err := modelgen.MobileNet(modelgen.Config{Arch: arch, Width: width, Size: size, Classes: 1001, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	defer graph.SetHugePages(graph.SetHugePages(huge))
	m, err := tflite.Load(g.TFLite())
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// TestHugePagesSameResults plans V1, V3-Large and ResNet-50 (its 3x3
// layers on Winograd) with huge pages and without, and requires every
// packed weight matrix of the first in its huge-page block (none of the
// second's), and the same output bits at batch 1 on one thread and batch 3
// on two.
func TestHugePagesSameResults(t *testing.T) {
	for _, c := range []struct {
		arch     string
		width    float64
		size     int
		wantWino bool
	}{
		{"v1", 1, 128, false}, {"v3-large", 1, 224, false}, {"resnet50-v1", 0.5, 224, true},
	} {
		t.Run(c.arch, func(t *testing.T) {
			off, on := hugeModel(t, c.arch, c.width, c.size, false), hugeModel(t, c.arch, c.width, c.size, true)
			onHuge, total, winoOnHuge, wino := graph.HugeWeights(on)
			if total == 0 || onHuge != total || winoOnHuge != wino || (wino > 0) != c.wantWino {
				t.Fatalf("huge model: %d of %d packed weights and %d of %d Winograd weights on huge pages", onHuge, total, winoOnHuge, wino)
			}
			if n, _, w, _ := graph.HugeWeights(off); n != 0 || w != 0 {
				t.Fatalf("model planned with huge pages off has %d packed and %d Winograd weights in a block", n, w)
			}
			h, w, ch := on.InputShape()
			for _, r := range []struct{ batch, threads int }{{1, 1}, {3, 2}} {
				in := oracle.RandomImages(3, r.batch*h*w*ch)
				var outs [2][]float32
				for i, m := range []*graph.Model{off, on} {
					m.SetThreads(r.threads)
					outs[i] = make([]float32, r.batch*m.NumClasses())
					if err := m.Run(in, r.batch, outs[i]); err != nil {
						t.Fatal(err)
					}
				}
				for i := range outs[0] {
					if math.Float32bits(outs[0][i]) != math.Float32bits(outs[1][i]) {
						t.Fatalf("batch %d, %d threads: output %d is %v on huge pages, %v without", r.batch, r.threads, i, outs[1][i], outs[0][i])
					}
				}
			}
		})
	}
}

// hugeVMABytes sums the sizes of the process's mappings advised for huge
// pages (VmFlags "hg" in /proc/self/smaps): the kernel's view of what the
// blocks hold, independent of the package's own count.
func hugeVMABytes(t *testing.T) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	var total, size int64
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "Size:":
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			size = kb << 10
		case len(f) >= 1 && f[0] == "VmFlags:" && slices.Contains(f[1:], "hg"):
			total += size
		}
	}
	return total
}

// TestHugePagesReleased loads, runs (at batch 1 and 3) and drops models in
// a loop and requires each to map a huge-page block and all of them to be
// unmapped once the models are garbage: by the package's count and by the
// kernel's list of mappings.
func TestHugePagesReleased(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("huge-page blocks are mapped on Linux only")
	}
	settle := func() {
		for range 50 {
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
		}
	}
	settle()
	base, baseVMA := graph.HugeMappedBytes(), hugeVMABytes(t)
	for i := range 4 {
		m := hugeModel(t, "v1", 1, 128, true)
		h, w, c := m.InputShape()
		for _, batch := range []int{1, 3} {
			out := make([]float32, batch*m.NumClasses())
			if err := m.Run(oracle.RandomImages(uint64(i), batch*h*w*c), batch, out); err != nil {
				t.Fatal(err)
			}
		}
		if got := graph.HugeMappedBytes(); got <= base {
			t.Fatalf("model %d: %d bytes mapped, no more than the %d before it", i, got, base)
		}
		if got := hugeVMABytes(t); got <= baseVMA {
			t.Fatalf("model %d: %d bytes of mappings advised for huge pages, no more than the %d before it", i, got, baseVMA)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for graph.HugeMappedBytes() != base || hugeVMABytes(t) != baseVMA {
		if time.Now().After(deadline) {
			t.Fatalf("after the models are dropped: %d bytes mapped (%d before), %d in mappings advised for huge pages (%d before)",
				graph.HugeMappedBytes(), base, hugeVMABytes(t), baseVMA)
		}
		settle()
	}
}

// BenchmarkHugePagesModel runs whole models with their packed weights on
// huge pages ("huge") and on Go's heap ("go"), the two
// taking turns run by run, and reports each one's median CPU time per
// image (the process's, so both threads of a two-thread run count and
// time other processes take does not) and the median of the per-pair
// ratios huge/go (below 1: huge pages faster).
func BenchmarkHugePagesModel(b *testing.B) {
	for _, c := range []struct {
		arch             string
		size, batch, thr int
	}{
		{"v3-large", 224, 1, 1}, {"resnet50-v1", 224, 1, 1}, {"resnet50-v1", 224, 8, 2}, {"v1", 128, 8, 2},
	} {
		b.Run(fmt.Sprintf("%s/b%d-t%d", c.arch, c.batch, c.thr), func(b *testing.B) {
			models := [2]*graph.Model{hugeModel(b, c.arch, 1, c.size, false), hugeModel(b, c.arch, 1, c.size, true)}
			in, out := abInput(models[0], c.batch), make([]float32, c.batch*models[0].NumClasses())
			for _, m := range models {
				m.SetThreads(c.thr)
			}
			t := abbench.Alternate(b, abbench.ProcessCPU,
				graph.ABModelSide(b, "go", models[0], c.batch, in, out, nil),
				graph.ABModelSide(b, "huge", models[1], c.batch, in, out, nil))
			t.Report(b, 0, abbench.Med, 1e3/float64(c.batch), "%s-cpu-ms/img")
			b.ReportMetric(abbench.Med(t.Ratios(0, 1, 0)), "huge/go")
		})
	}
}
