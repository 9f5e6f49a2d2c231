//go:build amd64

package kernels

// hasScatter3Asm: scatter3Asm uses only base x86-64 moves.
const hasScatter3Asm = true

// scatter3Asm is Scatter3 (n > 0, stride >= 3). Implemented in
// scatter3_amd64.s.
//
//go:noescape
func scatter3Asm(dst, src *float32, n, stride int)
