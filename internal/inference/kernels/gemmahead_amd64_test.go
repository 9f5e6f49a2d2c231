//go:build amd64

package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// aheadPair is a layer and the one after it at batch 1: the first's GEMM
// reads the second's weights ahead.
type aheadPair struct {
	name       string
	m1, k1, n1 int
	m2, k2, n2 int
	hs1, hs2   bool
	res1       bool
}

// aheadPairs: MobileNet V3-Large's last 7x7 expansion before its squeeze
// and excite FC and before its 1280-wide head (after the pool), ResNet-50's
// last 7x7 expansion (with its residual) before the classifier.
var aheadPairs = []aheadPair{
	{name: "v3-7x7-se", m1: 49, k1: 160, n1: 960, m2: 1, k2: 960, n2: 240, hs1: true},
	{name: "v3-7x7-head", m1: 49, k1: 160, n1: 960, m2: 1, k2: 960, n2: 1280, hs1: true, hs2: true},
	{name: "r50-7x7-fc", m1: 49, k1: 512, n1: 2048, m2: 1, k2: 2048, n2: 1001, res1: true},
	{name: "v3-14x14-se", m1: 196, k1: 112, n1: 672, m2: 1, k2: 672, n2: 168, hs1: true},
	{name: "v3-14x14-se480", m1: 196, k1: 80, n1: 480, m2: 1, k2: 480, n2: 120, hs1: true},
}

// BenchmarkGemmReadAhead runs each pair of layers with their weights cold
// (the next of copies filling 32 MB, as in a whole model at batch 1) with
// the first reading the second's weights ahead ("ahead") and not ("off"),
// the modes taking turns call by call on the thread's CPU clock. med-us-*
// are the median first, second and both calls.
func BenchmarkGemmReadAhead(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512: the banded driver is not used")
	}
	for _, s := range aheadPairs {
		b.Run(s.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(5, 6))
			a1 := randSlice(rng, s.m1*s.k1)
			a2 := randSlice(rng, s.m2*s.k2)
			w1, bias1 := randSlice(rng, s.n1*s.k1), randSlice(rng, s.n1)
			w2, bias2 := randSlice(rng, s.n2*s.k2), randSlice(rng, s.n2)
			copies := max(2, (32<<20)/(4*(s.k1*s.n1+s.k2*s.n2)))
			p1s, p2s := make([]*PackedB, copies), make([]*PackedB, copies)
			for i := range p1s {
				p1s[i], p2s[i] = PackB(w1, s.n1, s.k1, bias1), PackB(w2, s.n2, s.k2, bias2)
				p1s[i].SetReadAhead(p2s[i], s.m1, s.m2)
			}
			c1, c2 := make([]float32, s.m1*s.n1), make([]float32, s.m2*s.n2)
			act1 := Act{Lo: 0, Hi: NoClampHi, HardSwish: s.hs1}
			act2 := Act{Lo: 0, Hi: NoClampHi, HardSwish: s.hs2}
			if s.res1 {
				act1.Res, act1.LdRes = randSlice(rng, s.m1*s.n1), s.n1
			}
			old := readAhead
			defer func() { readAhead = old }()
			// Every run takes the next copy of both layers' weights; the
			// first call is Run, the second Next.
			i := 0
			mode := func(name string, on bool) abbench.Side {
				return abbench.Side{Name: name,
					Setup: func() { readAhead = on },
					Run:   func() { GemmAct(s.m1, a1, s.k1, p1s[i], act1, c1, s.n1) },
					Next:  func() { GemmAct(s.m2, a2, s.k2, p2s[i], act2, c2, s.n2) },
					Done:  func(bool) { i = (i + 1) % copies }}
			}
			t := abbench.Alternate(b, abbench.ThreadCPU, mode("off", false), mode("ahead", true))
			t.Report(b, 0, abbench.Med, 1e6, "med-us-1st-%s")
			t.Report(b, 1, abbench.Med, 1e6, "med-us-2nd-%s")
			for j, md := range t.Names {
				b.ReportMetric(abbench.Med(t.Total(j))*1e6, "med-us-both-"+md)
			}
		})
	}
}

// TestGemmReadAheadSameSums: reading a later layer's weights ahead changes
// no sum: one image's late layers, shapes with partial panels and k not a
// multiple of four (every tile height: 13, 12, 8, 4 and 1 rows), and
// products of several bands whose later bands run tile-major, give bit
// for bit what they give without it; on these shapes the plan does read
// ahead (so this covers the kernels' second stream), and on the
// weight-bound 4x4 layers it does not.
func TestGemmReadAheadSameSums(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512: the banded driver is not used")
	}
	old := readAhead
	defer func() { readAhead = old }()
	rng := rand.New(rand.NewPCG(7, 8))
	next := PackB(randSlice(rng, 1024*1024), 1024, 1024, nil)
	// A small next chained to another (a squeeze and excite pair): the
	// read-ahead runs past the first into the second.
	small, after := PackB(randSlice(rng, 96*40), 40, 96, nil), PackB(randSlice(rng, 40*96), 96, 40, nil)
	small.SetReadAhead(after, 1, 1)
	for _, s := range []struct {
		m, k, n int
		ahead   bool
	}{
		{64, 512, 512, true}, {49, 160, 960, true}, {49, 2048, 512, true}, {104, 128, 256, true},
		{32, 100, 90, true}, {64, 7, 40, true}, {53, 96, 64, true}, {196, 112, 672, true}, {196, 80, 480, true},
		{250, 60, 100, true}, {16, 512, 1024, false}, {16, 1024, 1024, false}, {13, 64, 96, false},
		{64, 96, 96, true}, {196, 40, 96, true},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d", s.m, s.k, s.n), func(t *testing.T) {
			a := randSlice(rng, s.m*s.k)
			p := PackB(randSlice(rng, s.n*s.k), s.n, s.k, randSlice(rng, s.n))
			p.SetReadAhead(next, s.m, 1)
			if s.k < 100 {
				p.SetReadAhead(small, s.m, 1)
			}
			kc, mc := gemmBlocks(s.m, s.k, s.n)
			if kc != s.k {
				t.Fatalf("gemmBlocks(%d, %d, %d) = %d, %d: not one K block", s.m, s.k, s.n, kc, mc)
			}
			reads := false
			if mc == s.m {
				nt := 0
				for r := 0; r < s.m; r += tileRows(s.m - r) {
					nt++
				}
				first, _ := aheadPlan(s.m, p.Panels(), s.k, nt, len(p.next.panels), cacheL2)
				reads = first < p.Panels()
			} else {
				if !tilesOuter(mc, s.k, s.n) {
					t.Fatalf("%dx%dx%d: later bands not tile-major", s.m, s.k, s.n)
				}
				reads = true // aheadPlanTiles reads ahead whenever there are tiles (TestAheadPlanTiles)
			}
			if reads != s.ahead {
				t.Fatalf("reads ahead: %v, want %v", reads, s.ahead)
			}
			want, got := make([]float32, s.m*s.n), make([]float32, s.m*s.n)
			act := Act{Lo: -1, Hi: 2, HardSwish: s.m%2 == 1}
			readAhead = false
			GemmAct(s.m, a, s.k, p, act, want, s.n)
			readAhead = true
			GemmAct(s.m, a, s.k, p, act, got, s.n)
			if !slices.Equal(got, want) {
				t.Fatal("sums differ with the read-ahead on")
			}
		})
	}
}

// TestAheadPlanTiles: the last tiles read ahead the next weights up to a
// quarter of L2, no tile more than needed, none when there is nothing.
func TestAheadPlanTiles(t *testing.T) {
	const l2 = 2 << 20
	for _, c := range []struct{ calls, k, next int }{
		{195, 80, 480 * 128}, {273, 112, 672 * 192}, {10, 112, 672 * 192}, {100, 64, 1 << 20}, {0, 64, 100}, {50, 2, 100}, {50, 64, 0},
	} {
		start, bytes := aheadPlanTiles(c.calls, c.k, c.next, l2)
		if c.calls == 0 || c.k < 4 || c.next == 0 {
			if start != -1 {
				t.Errorf("%+v: reads ahead from tile %d", c, start)
			}
			continue
		}
		if start < 0 || start >= c.calls || bytes != c.k/4*128 {
			t.Fatalf("%+v: start %d, %d bytes a tile", c, start, bytes)
		}
		read := (c.calls - start) * bytes
		want := min(c.next*4, l2/4)
		if read-bytes >= want {
			t.Errorf("%+v: %d bytes read, a tile more than %d", c, read, want)
		}
		if read < want && start > 0 {
			t.Errorf("%+v: %d bytes read of %d with tiles to spare", c, read, want)
		}
	}
}

// TestAheadPlan: a product whose own weights keep the memory system busy
// reads nothing ahead; otherwise the step is between aheadMinStep and a
// line, the lines read and the panels they are read during fit aheadShare
// quarters of L2, cover the next weights when that fits, and stop within a
// panel's worth of them.
func TestAheadPlan(t *testing.T) {
	const l2 = 2 << 20
	for _, c := range []struct{ m, np, k, nt, next int }{
		{64, 16, 512, 6, 512 * 1024}, {16, 32, 512, 2, 1024 * 1024}, {16, 32, 1024, 2, 1024 * 1008}, {49, 30, 160, 4, 960 * 1280},
		{49, 16, 2048, 4, 2048 * 512}, {104, 8, 128, 8, 1000}, {32, 3, 100, 3, 100}, {64, 2, 7, 6, 5000}, {1, 32, 1024, 1, 1 << 20},
		{64, 0, 64, 6, 1000}, {64, 8, 64, 6, 0}, {64, 16, 4608, 6, 1 << 20},
	} {
		first, ras := aheadPlan(c.m, c.np, c.k, c.nt, c.next, l2)
		if first < 0 || first > c.np {
			t.Fatalf("%+v: first panel %d outside [0, %d]", c, first, c.np)
		}
		own := c.k * NR512 * 4
		bound := float64(c.m*c.k*NR512)*aheadBytesPerMAC <= float64(own)
		panels := c.np - first
		if panels == 0 {
			if !bound && c.np > 0 && c.next > 0 && ras >= aheadMinPass && own+c.nt*(c.k/4)*ras <= aheadShare*l2/4 {
				t.Errorf("%+v: nothing read ahead though a panel fits", c)
			}
			continue
		}
		if bound {
			t.Errorf("%+v: reads ahead though bound by its own weights", c)
		}
		if ras < aheadMinPass || ras > 128 {
			t.Errorf("%+v: %d bytes a pass, want %d to 128", c, ras, aheadMinPass)
		}
		perPanel := c.nt * (c.k / 4) * ras
		if panels*(own+perPanel) > aheadShare*l2/4 {
			t.Errorf("%+v: %d panels of %d own bytes + %d read ahead exceed %d", c, panels, own, perPanel, aheadShare*l2/4)
		}
		read := panels * perPanel
		if read-perPanel >= c.next*4 {
			t.Errorf("%+v: %d bytes read ahead, a panel's worth more than the next weights' %d", c, read, c.next*4)
		}
		if read < c.next*4 && panels < c.np && (panels+1)*(own+perPanel) <= aheadShare*l2/4 {
			t.Errorf("%+v: %d panels read ahead where %d fit", c, panels, panels+1)
		}
	}
}

// TestAheadWorth: the next layer is read ahead when it is bound by its
// weights at the rows it will run: one image's fully connected and 1x1
// layers after an 8x8 or 7x7 one, not a 4x4 layer or another 8x8 or 7x7
// one, and not the 1x1 layers of a batch of eight.
func TestAheadWorth(t *testing.T) {
	for _, c := range []struct {
		m, rows, nextRows int
		want              bool
	}{
		{64, 64, 1, true}, {49, 49, 1, true}, {16, 16, 1, true}, {98, 49, 1, true}, {64, 64, 4, true},
		{64, 64, 16, false}, {64, 64, 64, false}, {49, 49, 49, false}, {392, 49, 1, false}, {128, 64, 16, false},
	} {
		if got := aheadWorth(c.m, c.rows, c.nextRows); got != c.want {
			t.Errorf("aheadWorth(%d, %d, %d) = %v, want %v", c.m, c.rows, c.nextRows, got, c.want)
		}
	}
}
