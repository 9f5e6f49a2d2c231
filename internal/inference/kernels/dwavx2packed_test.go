package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestDepthwisePacked checks DepthwisePacked on PackDW3x3x16's weights bit
// for bit (up to the sign of a zero) against DepthwiseBlocked(HardSwish)
// on the weights as they are, which it replaces where DWPackedTakes: images
// of 1x1 to 10x10 and 16x16, 3x5, 9x9, V1's 16x16x256, 8x8x512 and
// 4x4x1024, 16 to 1024 channels, SAME and VALID padding, strides 1 and 2
// across and 1 or 2 down, bounds that bind, none, and HARD_SWISH, output rows
// split as threads split them (rows outside the range untouched), and an
// input marked hot or not (DepthwiseBlocked then reads 2 KB pixels from
// padded-stride copies, with the same sums). It also checks the packing and that other shapes are
// declined.
func TestDepthwisePacked(t *testing.T) {
	if !hasAVX2FMA || hasAVX512 {
		t.Skip("the AVX2 row kernels run on AVX2 without AVX-512")
	}
	rng := rand.New(rand.NewPCG(61, 62))
	type shape struct{ h, w, c, sh, sw int }
	var shapes []shape
	for s := 1; s <= 10; s++ {
		shapes = append(shapes, shape{s, s, 32 + 16*(s%3), 1, 1}, shape{s, 11 - s, 48, 1 + s%2, 1},
			shape{s, s, 16 + 16*(s%3), 2, 2}, shape{11 - s, s, 32, 1 + s%2, 2})
	}
	shapes = append(shapes, shape{16, 16, 256, 1, 1}, shape{8, 8, 512, 1, 1}, shape{4, 4, 1024, 1, 1},
		shape{3, 5, 64, 1, 1}, shape{9, 9, 32, 2, 1}, shape{7, 7, 512, 1, 1}, shape{2, 2, 1024, 1, 1}, shape{16, 16, 32, 2, 1},
		shape{16, 16, 256, 2, 2}, shape{8, 8, 512, 2, 2}, shape{9, 9, 64, 2, 2}, shape{2, 3, 16, 2, 2}, shape{1, 1, 16, 2, 2})
	for _, s := range shapes {
		for _, pad := range []string{"same", "valid"} {
			p := DWParams{H: s.h, W: s.w, C: s.c, KH: 3, KW: 3, SH: s.sh, SW: s.sw, Lo: -0.5, Hi: 0.75}
			if pad == "same" {
				p.OH, p.OW = (s.h+s.sh-1)/s.sh, (s.w+s.sw-1)/s.sw
				p.PadT, p.PadL = max((p.OH-1)*s.sh+3-s.h, 0)/2, max((p.OW-1)*s.sw+3-s.w, 0)/2
			} else {
				if s.h < 3 || s.w < 3 {
					continue
				}
				p.OH, p.OW = (s.h-3)/s.sh+1, (s.w-3)/s.sw+1
			}
			in := randSlice(rng, s.h*s.w*s.c)
			w := randSlice(rng, 9*s.c)
			bias := randSlice(rng, s.c)
			wp := PackDW3x3x16(w, s.c)
			for k := range s.c / 16 {
				for tap := range 9 {
					for j := range 16 {
						if wp[(9*k+tap)*16+j] != w[tap*s.c+16*k+j] {
							t.Fatalf("PackDW3x3x16(c %d): channel %d tap %d misplaced", s.c, 16*k+j, tap)
						}
					}
				}
			}
			for _, act := range []string{"bounds", "none", "hardswish"} {
				for _, hot := range []bool{true, false} {
					name := fmt.Sprintf("%dx%dx%d/s%dx%d/%s/%s/hot=%v", s.h, s.w, s.c, s.sh, s.sw, pad, act, hot)
					q := p
					q.Hot = hot
					if act != "bounds" {
						q.Lo, q.Hi = NoClampLo, NoClampHi
					}
					hs := act == "hardswish"
					if !DWPackedTakes(&q) {
						t.Fatalf("%s: DWPackedTakes declined", name)
					}
					n := q.OH * q.OW * s.c
					want := make([]float32, n)
					if hs {
						DepthwiseBlockedHardSwish(&q, in, w, bias, want, 0, q.OH, nil)
					} else {
						DepthwiseBlocked(&q, in, w, bias, want, 0, q.OH, nil)
					}
					for _, split := range [][2]int{{0, q.OH}, {0, q.OH / 2}, {q.OH / 2, q.OH}, {q.OH - 1, q.OH}} {
						got := make([]float32, n+8)
						sentinel := float32(math.NaN())
						for i := range got {
							got[i] = sentinel
						}
						DepthwisePacked(&q, in, wp, bias, got[:n], split[0], split[1], hs)
						row := q.OW * s.c
						for i := range got {
							inside := i < n && i >= split[0]*row && i < split[1]*row
							switch {
							case inside && got[i] != want[i]:
								t.Fatalf("%s rows %v: at %d (pixel %d channel %d) %v, want %v", name, split, i, i/s.c, i%s.c, got[i], want[i])
							case !inside && !math.IsNaN(float64(got[i])):
								t.Fatalf("%s rows %v: wrote %d outside its rows", name, split, i)
							}
						}
					}
				}
			}
		}
	}
	for _, p := range []DWParams{
		{H: 8, W: 8, C: 24, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 8, OW: 8, Hot: true}, // channels
		{H: 8, W: 8, C: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 8, OW: 8, Hot: true}, // dwChain: eight at a time
		{H: 8, W: 8, C: 24, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 0, PadL: 0, OH: 4, OW: 4, Hot: true}, // stride 2, channels
		{H: 8, W: 8, C: 64, KH: 3, KW: 3, SH: 1, SW: 3, PadT: 1, PadL: 1, OH: 8, OW: 3, Hot: true}, // stride 3
		{H: 8, W: 8, C: 64, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, OH: 8, OW: 8, Hot: true}, // 5x5
		{H: 4, W: 4, C: 32, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 2, PadL: 1, OH: 6, OW: 4, Hot: true}, // a middle row above the image
		{H: 4, W: 4, C: 32, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 0, PadL: 1, OH: 4, OW: 4, Hot: true}, // a middle row below it
	} {
		if DWPackedTakes(&p) {
			t.Errorf("DWPackedTakes(%+v): took it", p)
		}
	}
}
