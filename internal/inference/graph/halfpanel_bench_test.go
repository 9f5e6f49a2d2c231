//go:build cspipe_bench && amd64

package graph_test

import (
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// BenchmarkHalfPanelModel runs whole models at batch 1 (and 8) on one thread
// with a last weight panel of N mod 32 real columns run in place by the
// 16-column tiles (at most 16) or the masked 32-column ones ("new") and by
// the 32-column tiles through a staging tile ("old"; kernels.SetHalfPanel,
// kernels.SetMaskedTail), in turns run by run on the thread's CPU clock,
// one model (nodeSwitchAB, switchAB). With -v, at batch 1, it logs the nodes that differ by 2 µs or
// more. Run with
// `go test -tags cspipe_bench -run '^$' -bench HalfPanelModel -benchtime 300x -v`.
func BenchmarkHalfPanelModel(b *testing.B) {
	for _, c := range []modelgen.Config{
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "efficientnet-lite0", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		b.Run(c.Arch, func(b *testing.B) {
			m := loadModel(b, c)
			b.Run("batch1", func(b *testing.B) { nodeSwitchAB(b, m, setLastPanel, "new", "old") })
			// Batch 8 on one thread: with two, the layers this changes
			// split their rows, so each thread runs the same tiles.
			b.Run("batch8", func(b *testing.B) { switchAB(b, m, 8, setLastPanel) })
			// The masked 32-column tiles alone (17 to 31 columns).
			b.Run("masked/batch1", func(b *testing.B) { nodeSwitchAB(b, m, kernels.SetMaskedTail, "masked", "staged") })
		})
	}
}

// setLastPanel switches both ways of running a partial last panel.
func setLastPanel(on bool) {
	kernels.SetHalfPanel(on)
	kernels.SetMaskedTail(on)
}
