//go:build !amd64

package kernels

const hasScatter3Asm = false

func scatter3Asm(dst, src *float32, n, stride int) {
	panic("kernels: no scatter3Asm on this architecture")
}
