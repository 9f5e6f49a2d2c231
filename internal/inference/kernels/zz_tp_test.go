package kernels

import (
	"runtime"
	"testing"
)

func zzPmadd(n int)
func zzPmaddub(n int)
func zzFma(n int)
func zzPmaddAdd(n int)
func zzBcast(n int, p *byte)

var zzbuf [64]byte

func TestZZTp(t *testing.T) {
	runtime.LockOSThread()
	for rep := 0; rep < 3; rep++ {
		for _, f := range []struct {
			name string
			fn   func(int)
			per  int
		}{{"pmaddwd", zzPmadd, 8}, {"pmaddubsw", zzPmaddub, 8}, {"fma", zzFma, 12}, {"pmaddwd+paddd(per pmadd)", zzPmaddAdd, 8}, {"bcast", func(n int) { zzBcast(n, &zzbuf[0]) }, 8}} {
			n := 20000000
			t0, _ := ThreadCPU()
			f.fn(n)
			t1, _ := ThreadCPU()
			t.Logf("%s: %.2f G instr/s", f.name, float64(n*f.per)/(t1-t0).Seconds()/1e9)
		}
	}
}
