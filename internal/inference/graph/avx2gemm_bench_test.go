//go:build cspipe_bench && amd64

package graph_test

import (
	"fmt"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// BenchmarkAVX2GemmModel runs whole models on one thread with the AVX2
// GEMM driver ("new", kernels.SetAVX2Blocked) and the panel-major 6×16
// loop ("old"), alternating run by run on the thread's CPU clock
// (switchAB), at batch 1 and 8. Only meaningful on the AVX2 path (a CPU
// without AVX-512, or CSPIPE_KERNELS=avx2). Run with `go test -tags
// cspipe_bench -run '^$' -bench AVX2GemmModel`.
func BenchmarkAVX2GemmModel(b *testing.B) {
	if kernels.Path() != "avx2" {
		b.Skip("not the AVX2 path")
	}
	for _, c := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "resnet50-v1", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		m := loadModel(b, c)
		for _, batch := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/batch%d", c.Arch, batch), func(b *testing.B) { switchAB(b, m, batch, kernels.SetAVX2Blocked) })
		}
	}
}

// BenchmarkAVX2PanelModel runs whole models with one of the AVX2 GEMM
// driver's switches for the read of the next panel's weights on and off
// (kernels.SetAVX2Prefetch: the read at all, "pf" and "nopf";
// SetAVX2PrefetchSpread: spread over a band's first row tiles, "spread" and
// "first"; SetAVX2PrefetchFine: as little as 16 bytes a pass, "fine", or a
// line, "line"; SetAVX2PrefetchAhead: 2 to 4 panels ahead against one,
// "aheadN"; SetAVX2KC: K blocks of 128 to 512, "kcN" against "kcauto";
// SetAVX2Quad: bands of 16 rows in four 4-row tiles, "quad", or 6+6+4,
// "six"), in turns run by run: at batch 1 on the thread's CPU clock,
// with -v the per-node times that differ (nodeSwitchAB), and at batch 8 on
// two threads by the wall clock (switchWall, "speedup" the on side's). Run
// with `go test -tags cspipe_bench -run '^$' -bench AVX2PanelModel -v`
// (V1's spread alone: -bench 'AVX2PanelModel/spread/^v1$/').
func BenchmarkAVX2PanelModel(b *testing.B) {
	if kernels.Path() != "avx2" {
		b.Skip("not the AVX2 path")
	}
	for _, sw := range []struct {
		on, off string
		set     func(bool)
	}{
		{"pf", "nopf", kernels.SetAVX2Prefetch},
		{"spread", "first", kernels.SetAVX2PrefetchSpread},
		{"fine", "line", kernels.SetAVX2PrefetchFine},
		{"ahead2", "ahead1", aheadSwitch(2)},
		{"ahead3", "ahead1", aheadSwitch(3)},
		{"ahead4", "ahead1", aheadSwitch(4)},
		{"kc128", "kcauto", kcSwitch(128)},
		{"quad", "six", kernels.SetAVX2Quad},
		{"kc256", "kcauto", kcSwitch(256)},
		{"kc512", "kcauto", kcSwitch(512)},
	} {
		for _, c := range []modelgen.Config{
			{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
			{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
			{Arch: "resnet50-v1", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		} {
			m := loadModel(b, c)
			b.Run(sw.on+"/"+c.Arch+"/batch1", func(b *testing.B) { nodeSwitchAB(b, m, sw.set, sw.on, sw.off) })
			b.Run(sw.on+"/"+c.Arch+"/batch8x2", func(b *testing.B) { switchWall(b, m, 8, sw.set) })
		}
	}
}

// aheadSwitch sets the read of the next panels' weights d panels ahead
// (on) or one (off, the default).
func aheadSwitch(d int) func(bool) {
	return func(on bool) {
		kernels.SetAVX2PrefetchAhead(1)
		if on {
			kernels.SetAVX2PrefetchAhead(d)
		}
	}
}

// kcSwitch sets the AVX2 driver's K block to kc (on) or lets it pick (off).
func kcSwitch(kc int) func(bool) {
	return func(on bool) {
		kernels.SetAVX2KC(0)
		if on {
			kernels.SetAVX2KC(kc)
		}
	}
}
