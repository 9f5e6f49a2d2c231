//go:build cspipe_bench

package graph_test

import (
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// BenchmarkBatchTail runs V1 1.0@128, V3-Large@224 and ResNet-50@224 at
// batch 8 on two threads with the batch's tail (tail.go) on ("new") and
// off ("old"), alternating run by run on the wall clock (switchWall), and
// reports the quartiles of the per-pair ratios old/new. Run with
// `go test -tags cspipe_bench -run '^$' -bench BatchTail`.
func BenchmarkBatchTail(b *testing.B) {
	set := func(on bool) { graph.SetBatchTail(on) }
	for _, cfg := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "resnet50-v1", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		b.Run(cfg.Arch, func(b *testing.B) {
			m := loadModel(b, cfg)
			switchWall(b, m, 8, set)
		})
	}
}
