package graph_test

import (
	"math"
	"slices"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// TestReadAheadLinks: in MobileNet V1 and V3-Large every GEMM layer that
// runs over a whole layer reads ahead the weights of the next node that has
// any (depthwise and pooling nodes passed over), the last 8x8 layer of V1
// among them; and a model run with the links gives bit for bit the
// classes it gives without them.
func TestReadAheadLinks(t *testing.T) {
	for _, c := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		t.Run(c.Arch, func(t *testing.T) {
			g, err := modelgen.MobileNet(c)
			if err != nil {
				t.Fatal(err)
			}
			m, err := tflite.Load(g.TFLite())
			if err != nil {
				t.Fatal(err)
			}
			links, weights := m.ReadAheadLinks()
			if len(links) < 5 {
				t.Fatalf("%d read-ahead links, want the late 1x1 layers linked", len(links))
			}
			for _, l := range links {
				i, j := l[0], l[1]
				want := -1
				for n := i + 1; n < len(weights); n++ {
					if weights[n] {
						want = n
						break
					}
				}
				if j != want {
					t.Errorf("node %d reads ahead node %d's weights, want node %d's", i, j, want)
				}
			}
			lastW := -1
			for n, has := range weights {
				if has {
					lastW = n
				}
			}
			if last := links[len(links)-1]; last[1] != lastW {
				t.Errorf("last link %v does not reach the last weights (node %d)", last, lastW)
			}
			h, w, ch := m.InputShape()
			in := make([]float32, h*w*ch)
			for i := range in {
				in[i] = float32(math.Sin(float64(i)))
			}
			m.SetThreads(1)
			with := make([]float32, m.NumClasses())
			if err := m.Run(in, 1, with); err != nil {
				t.Fatal(err)
			}
			m.UnlinkReadAhead()
			if l, _ := m.ReadAheadLinks(); len(l) != 0 {
				t.Fatalf("%d links left after UnlinkReadAhead", len(l))
			}
			without := make([]float32, m.NumClasses())
			if err := m.Run(in, 1, without); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(with, without) {
				t.Fatal("outputs differ with the read-ahead links")
			}
		})
	}
}
