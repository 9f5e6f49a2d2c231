//go:build amd64

package kernels

// streamRead512 and streamRead512PF are the plain sequential reads the
// huge-page and GEMV benchmarks compare the weight-streaming kernels with
// (streamread_amd64.s): they sum n floats (a multiple of 64) into the 16
// floats at out, the second prefetching ahead bytes in front of its reads.
// streamReadAVX2 is streamRead512 on AVX2 (8 floats at out), and
// panelRead6AVX2 reads six weight panels side by side as the one-row AVX2
// GEMV kernel does (BenchmarkGemvAVX2Bound: the kernel's bound).
//
//go:noescape
func streamRead512(p *float32, n int, out *float32)

//go:noescape
func streamRead512PF(p *float32, n int, out *float32, ahead int)

//go:noescape
func streamReadAVX2(p *float32, n int, out *float32)

//go:noescape
func panelRead6AVX2(p *float32, k int, pstride int, out *float32)
