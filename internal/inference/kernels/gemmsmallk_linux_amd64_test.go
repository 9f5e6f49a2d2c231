//go:build linux && amd64

package kernels

import (
	"fmt"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"unsafe"
)

// guarded returns n floats that end where an inaccessible page begins, so
// that reading or writing one float past them faults; free unmaps them.
func guarded(t *testing.T, n int) (v []float32, free func()) {
	t.Helper()
	page := os.Getpagesize()
	size := (n*4+page-1)/page*page + page
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mprotect(mem[size-page:], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	all := unsafe.Slice((*float32)(unsafe.Pointer(&mem[0])), (size-page)/4)
	return all[len(all)-n:], func() { syscall.Munmap(mem) }
}

// TestGemmSmallKGuarded: with a last panel of fewer than 32 columns, the
// small-K kernels neither read the residual nor write the output past
// their last row's N columns (each ends at an inaccessible page here:
// a read or write past it faults), and the sums are GemmAct's.
func TestGemmSmallKGuarded(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 19))
	for _, s := range []struct{ m, k, n int }{{13, 16, 40}, {12, 24, 8}, {7, 40, 72}, {36, 5, 120}} {
		t.Run(fmt.Sprintf("%dx%dx%d", s.m, s.k, s.n), func(t *testing.T) {
			a := randSlice(rng, s.m*s.k)
			pb := PackB(randSlice(rng, s.n*s.k), s.n, s.k, randSlice(rng, s.n))
			res, freeRes := guarded(t, s.m*s.n)
			defer freeRes()
			copy(res, randSlice(rng, s.m*s.n))
			got, freeC := guarded(t, s.m*s.n)
			defer freeC()
			want := make([]float32, s.m*s.n)
			act := Act{Lo: -2, Hi: 3, HardSwish: true, Res: res, LdRes: s.n}
			GemmSmallKAct(s.m, a, s.k, pb, act, got, s.n)
			GemmAct(s.m, a, s.k, pb, act, want, s.n)
			if i := bitDiff(got, want); i >= 0 {
				t.Fatalf("c[%d] = %v, GemmAct %v", i, got[i], want[i])
			}
		})
	}
}
