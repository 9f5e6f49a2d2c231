//go:build amd64 && cspipe_bench

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// BenchmarkGemmSmallKAhead compares, alternating call by call by the
// thread's CPU clock, GemmSmallK ("old") on the K=128 pair products with
// gemmSmallKAheadAVX2 streaming nothing ("tile": the kernel swap alone)
// and streaming 768 lines a call (48 KB, a band's input rows) from a 64
// MB buffer walked through, so the lines are far ("stream": the cost of
// the prefetches without their use). Run with
// `go test -tags cspipe_bench -run '^$' -bench GemmSmallKAhead`.
func BenchmarkGemmSmallKAhead(b *testing.B) {
	if !hasAVX2FMA || hasAVX512 {
		b.Skip("the AVX2 tile runs on AVX2 without AVX-512 only")
	}
	far := make([]float32, 16<<20)
	at := 0
	for _, sh := range [][3]int{{96, 128, 128}, {128, 128, 128}, {64, 128, 256}} {
		m, k, n := sh[0], sh[1], sh[2]
		b.Run(fmt.Sprintf("%dx%dx%d", m, k, n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(5, 6))
			a := randSlice(rng, m*k)
			pb := PackB(randSlice(rng, n*k), n, k, randSlice(rng, n))
			c := make([]float32, m*n)
			if !smallKAheadTakes(m, pb) {
				b.Skip("not taken")
			}
			t := abbench.Alternate(b, abbench.ThreadCPU,
				abbench.Side{Name: "old", Run: func() { GemmSmallK(m, a, k, pb, 0, 6, c, n) }},
				abbench.Side{Name: "tile", Run: func() { gemmSmallKAheadAVX2(m, a, k, pb, 0, 6, c, n, nil) }},
				abbench.Side{Name: "stream", Run: func() {
					if at+768*16 > len(far) {
						at = 0
					}
					gemmSmallKAheadAVX2(m, a, k, pb, 0, 6, c, n, far[at:at+768*16])
					at += 768 * 16
				}})
			t.Report(b, 0, abbench.Med, 1e6, "%s-us")
			b.ReportMetric(abbench.Med(t.Ratios(0, 0, 1)), "tile-speedup-med")
			b.ReportMetric(abbench.Med(t.Ratios(0, 0, 2)), "stream-speedup-med")
		})
	}
}
