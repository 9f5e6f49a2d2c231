package imageprep

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPlanAxisMatchesTensorFlowHalfPixel(t *testing.T) {
	// Hand-computed from src = (dst+0.5)*in/out - 0.5, lower = max(floor(src),0),
	// upper = min(ceil(src),in-1), lerp = src - floor(src).
	type w struct {
		lo, hi int
		lerp   float32
	}
	tests := []struct {
		name    string
		in, out int
		want    []w
	}{
		{"halve 4 to 2", 4, 2, []w{{0, 1, 0.5}, {2, 3, 0.5}}},
		{"double 2 to 4", 2, 4, []w{{0, 0, 0.75}, {0, 1, 0.25}, {0, 1, 0.75}, {1, 1, 0.25}}},
		{"3 to 2", 3, 2, []w{{0, 1, 0.25}, {1, 2, 0.75}}},
		{"identity 3", 3, 3, []w{{0, 0, 0}, {1, 1, 0}, {2, 2, 0}}},
		// scale 3.3333333: src = 1.1666666, 4.5, 7.833333.
		{"10 to 3", 10, 3, []w{{1, 2, 0.16666663}, {4, 5, 0.5}, {7, 8, 0.8333330}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := planAxis(tc.in, tc.out)
			var got []w
			for i := range tc.out {
				got = append(got, w{p.samples[p.lo[i]], p.samples[p.hi[i]], p.lerp[i]})
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(w{}), cmp.Comparer(func(a, b float32) bool {
				d := a - b
				return d < 1e-6 && d > -1e-6
			})); diff != "" {
				t.Fatalf("weights (-want +got):\n%s", diff)
			}
			for i := 1; i < len(p.samples); i++ {
				if p.samples[i] <= p.samples[i-1] {
					t.Fatalf("samples not ascending: %v", p.samples)
				}
			}
		})
	}
}

func TestResizeValues(t *testing.T) {
	// A 2x1 image [0, 100] (all channels) resized to 4x1: weights from the "double" case above.
	g := newGrid(2, 1, 4, 1)
	copy(g.rgb, []uint8{0, 0, 0, 100, 100, 100})
	got := make([]float32, 4*3)
	g.resize(got, inputScale{div: 1})
	want := []float32{0, 0, 0, 25, 25, 25, 75, 75, 75, 100, 100, 100}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("resize (-want +got):\n%s", diff)
	}
	// 2x2 -> 1x1 averages the four pixels: src = 0.5 on both axes.
	g = newGrid(2, 2, 1, 1)
	copy(g.rgb, []uint8{0, 10, 20, 40, 50, 60, 80, 90, 100, 120, 130, 140})
	got = make([]float32, 3)
	g.resize(got, inputScale{div: 1})
	if diff := cmp.Diff([]float32{60, 70, 80}, got); diff != "" {
		t.Fatalf("2x2 to 1x1 (-want +got):\n%s", diff)
	}
}

func TestInputRange(t *testing.T) {
	tests := []struct {
		in      string
		v, want float32
	}{
		{"", 255, 1}, {"0,1", 51, 0.2}, {"-1,1", 0, -1}, {"-1,1", 255, 1}, {"0,255", 7, 7},
	}
	for _, tc := range tests {
		sc, err := parseInputRange(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := float32(tc.v/sc.div) + sc.add; got != tc.want {
			t.Errorf("range %q: %v -> %v, want %v", tc.in, tc.v, got, tc.want)
		}
	}
	if _, err := parseInputRange("0,2"); err == nil {
		t.Error("range 0,2 accepted")
	}
}
