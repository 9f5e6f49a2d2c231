//go:build cspipe_bench

package graph_test

import (
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// BenchmarkStemAVX2Model runs V1 1.0@128 and V3-Large@224 with the AVX2
// stem kernel on ("new") and off ("old"), alternating run by run: at
// batch 1 on one thread by the thread's CPU clock (switchAB) and at batch
// 8 on two threads by the wall clock (switchWall).
func BenchmarkStemAVX2Model(b *testing.B) {
	set := func(on bool) { kernels.SetStemAVX2(on) }
	for _, cfg := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		m := loadModel(b, cfg)
		b.Run(cfg.Arch+"/batch1", func(b *testing.B) { switchAB(b, m, 1, set) })
		b.Run(cfg.Arch+"/batch8-threads2", func(b *testing.B) { switchWall(b, m, 8, set) })
	}
}
