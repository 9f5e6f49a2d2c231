package jpegdec

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestMutatedInputs feeds randomly damaged fixtures (bytes overwritten, tails cut) to the
// decoder: it must return (an error or pixels) quickly and never panic.
func TestMutatedInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range []string{"baseline_420.jpg", "progressive_420.jpg", "progressive_restart_420.jpg", "grey.jpg",
		"arithmetic.jpg", "arith_progressive_411.jpg", "arith_restart_1x4.jpg", "mixed_221112.jpg",
		"cmyk_adobe.jpg", "ycck_2x2.jpg"} {
		src := readFixture(t, name)
		for it := 0; it < 150; it++ { // 10 files × 150: the race-enabled run stays short
			data := append([]byte(nil), src...)
			for k := rng.IntN(8) + 1; k > 0; k-- {
				data[rng.IntN(len(data))] = byte(rng.IntN(256))
			}
			if rng.IntN(4) == 0 {
				data = data[:rng.IntN(len(data))]
			}
			start := time.Now()
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("%s iter %d panic: %v", name, it, r)
					}
				}()
				w, h, err := Config(data)
				if err != nil || w*h > 1<<16 {
					return
				}
				mode := Mode(it % 2)
				_ = Sample(data, []int{0, h / 2, h - 1}, []int{0, w / 3, w - 1}, make([]uint8, 27), mode)
				dw, dh := DCSize(w, h)
				_ = SampleDC(data, []int{dh - 1}, []int{0, dw - 1}, make([]uint8, 6), mode)
			}()
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%s iteration %d took %v", name, it, d)
			}
		}
	}
}
