package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSqueezeExciteRows: the spatial MEAN and the multiply (or add) of an
// image by one row of channels, the kernels.SumRows and MulRows/AddRows
// paths, give bit for bit what the per-pixel loops gave (a float32 sum
// per channel from zero in pixel order, then the division; each element
// times or plus its channel's value), with the row as either operand, over
// channel counts with and without a tail of 8, images of one pixel and
// more, batch 1 and 3, one and two threads.
func TestSqueezeExciteRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, s := range []struct{ h, w, c int }{{1, 1, 8}, {3, 5, 7}, {4, 4, 33}, {7, 7, 72}, {5, 6, 120}} {
		for _, op := range []Op{OpMul, OpAdd} {
			for _, rowFirst := range []bool{false, true} {
				name := fmt.Sprintf("%dx%dx%d/%v/rowFirst=%v", s.h, s.w, s.c, op, rowFirst)
				b, err := NewBuilder("in", s.h, s.w, s.c, 1<<22)
				if err != nil {
					t.Fatal(err)
				}
				x := b.Input()
				pooled, err := b.Add(Node{Op: OpMean, Inputs: []int{x}, Axes: []int{1, 2}, KeepDims: true}, "squeeze")
				if err != nil {
					t.Fatal(err)
				}
				ins := []int{x, pooled}
				if rowFirst {
					ins = []int{pooled, x}
				}
				y, err := b.Add(Node{Op: op, Inputs: ins}, "excite")
				if err != nil {
					t.Fatal(err)
				}
				m, err := b.Finish(y)
				if err != nil {
					t.Fatal(err)
				}
				per := s.h * s.w * s.c
				for _, run := range []struct{ batch, threads int }{{1, 1}, {3, 1}, {3, 2}} {
					in := randFloats(rng, run.batch*per)
					want := make([]float32, run.batch*per)
					for i := 0; i < run.batch; i++ {
						img, dst := in[i*per:(i+1)*per], want[i*per:(i+1)*per]
						mean := make([]float32, s.c)
						for p := 0; p < s.h*s.w; p++ {
							for j := range mean {
								mean[j] += img[p*s.c+j]
							}
						}
						for j := range mean {
							mean[j] /= float32(s.h * s.w)
						}
						for e := range dst {
							if op == OpMul {
								dst[e] = img[e] * mean[e%s.c]
							} else {
								dst[e] = img[e] + mean[e%s.c]
							}
						}
					}
					got := make([]float32, run.batch*per)
					m.SetThreads(run.threads)
					if err := m.Run(in, run.batch, got); err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got, want) {
						t.Fatalf("%s batch %d threads %d: differs from the per-pixel loops", name, run.batch, run.threads)
					}
				}
			}
		}
	}
}
