package graph

import (
	"fmt"
	"slices"
	"testing"
)

// TestDWPWAheadSmallK: fused depthwise+1x1 pairs whose 1x1 runs on
// kernels.GemmSmallKAhead (K above pairMaxK, inputs of smallKAheadMin
// bytes and more) give the unfused operators' bits with the next band's
// rows prefetched (dwpwAheadSmallK) and not: odd widths and heights,
// strides 1 and 2, outputs of whole and partial 16-column panels, K not a
// multiple of four steps, a band of one row and the default bands, batch 1
// and 2, one and two threads.
func TestDWPWAheadSmallK(t *testing.T) {
	defer func(b, p int) { fusedBandBytes, fusedMinPixels = b, p }(fusedBandBytes, fusedMinPixels)
	defer func(v bool) { dwpwAheadSmallK = v }(dwpwAheadSmallK)
	for _, s := range []struct{ h, w, cin, stride, cout int }{
		{33, 31, 128, 1, 128}, {32, 32, 128, 2, 256}, {23, 25, 144, 2, 32}, {29, 27, 96, 1, 48}, {27, 29, 90, 1, 40}, {31, 23, 98, 2, 64},
	} {
		if 4*s.h*s.w*s.cin < smallKAheadMin {
			t.Fatalf("%+v: input below smallKAheadMin", s)
		}
		build := dwpwPairGraph(s.h, s.w, s.cin, s.stride, s.cout)
		const batch = 2
		per := s.h * s.w * s.cin
		in, want := unfusedPairRef(t, build, batch, per, 7)
		for _, minPix := range []int{0, 1} { // default bands; bands of one row
			restore := SetFusedBands(fusedBandBytes, fusedMinPixels)
			if minPix > 0 {
				fusedBandBytes, fusedMinPixels = 1, minPix
			}
			m, err := Plan(build())
			restore()
			if err != nil {
				t.Fatal(err)
			}
			f, ok := m.nodes[0].k.(*dwPointwise)
			if !ok || f.pairGemm() {
				t.Fatalf("%+v: planned %q (on GemmPair: %v), want the fused pair on GemmSmallK", s, kernelName(m.nodes[0].k), ok)
			}
			dwpwAheadSmallK = true
			if f.dw.p.OH > f.band && len(f.smallKAhead(in[:per], f.band, f.dw.p.OH)) == 0 {
				t.Fatalf("%+v: no rows to prefetch after the first band", s)
			}
			for _, ahead := range []bool{true, false} {
				dwpwAheadSmallK = ahead
				for _, tc := range []struct{ batch, threads int }{{1, 1}, {1, 2}, {batch, 1}, {batch, 2}} {
					name := fmt.Sprintf("%dx%dx%d-s%d-%d/minpix%d/ahead=%v/batch%d/threads%d", s.h, s.w, s.cin, s.stride, s.cout, minPix, ahead, tc.batch, tc.threads)
					m.SetThreads(tc.threads)
					got := make([]float32, tc.batch*m.NumClasses())
					if err := m.Run(in[:tc.batch*per], tc.batch, got); err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got, want[:len(got)]) {
						for i := range got {
							if got[i] != want[i] {
								t.Fatalf("%s: output %d = %g, unfused %g", name, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}
