//go:build !amd64

package kernels

func hardSwish512(p *float32, n int) { panic("kernels: no AVX-512 path on this architecture") }

func div6x512(p *float32, n int) { panic("kernels: no AVX-512 path on this architecture") }
