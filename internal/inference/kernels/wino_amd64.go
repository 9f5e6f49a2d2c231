//go:build amd64

package kernels

// winoInputAVX512 and winoInputAVX2 are WinoInput for n channels, a
// multiple of 16 or 8; strides in bytes. Implemented in wino_amd64.s
// (written by gen_wino.go).
//
//go:noescape
func winoInputAVX512(dst *float32, ld int, src *float32, rs, cs, n int)

//go:noescape
func winoInputAVX2(dst *float32, ld int, src *float32, rs, cs, n int)

// winoOutputAVX512 and winoOutputAVX2 are WinoOutput for n channels, a
// multiple of 16 or 8, pixels cs bytes apart; strides in bytes.
//
//go:noescape
func winoOutputAVX512(out *float32, rs, cs int, m *float32, ld int, bias *float32, n int, lo, hi float32)

//go:noescape
func winoOutputAVX2(out *float32, rs, cs int, m *float32, ld int, bias *float32, n int, lo, hi float32)

// wino4InputAVX512, wino4InputAVX2, wino4OutputAVX512 and
// wino4OutputAVX2 are Wino4Input and Wino4Output for n channels, a
// multiple of 16 or 8; strides in bytes; tmp holds 36 vectors.
//
//go:noescape
func wino4InputAVX512(dst *float32, ld int, src *float32, rs, cs, n int, tmp *float32)

//go:noescape
func wino4InputAVX2(dst *float32, ld int, src *float32, rs, cs, n int, tmp *float32)

//go:noescape
func wino4OutputAVX512(out *float32, rs, cs int, m *float32, ld int, bias *float32, n int, lo, hi float32, tmp *float32)

//go:noescape
func wino4OutputAVX2(out *float32, rs, cs int, m *float32, ld int, bias *float32, n int, lo, hi float32, tmp *float32)
