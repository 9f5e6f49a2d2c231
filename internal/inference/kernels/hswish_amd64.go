//go:build amd64

package kernels

// The AVX-512 HARD_SWISH of hswish_amd64.s.
//
//go:noescape
func hardSwish512(p *float32, n int)

//go:noescape
func div6x512(p *float32, n int)
