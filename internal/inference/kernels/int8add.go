package kernels

// AddI8 is the quantized ADD as TFLite's interpreter computes it: both
// operands minus their zero points times integer multipliers with Shift
// fraction bits, summed, shifted right once rounding up, plus the output
// zero point, clamped.
type AddI8 struct {
	AZP, BZP, AM, BM int32
	Shift            int
	ZP, Lo, Hi       int32
}

// One is the scalar definition for one pair.
func (p *AddI8) One(a, b int8) int8 {
	x, y := int64(int32(a)-p.AZP), int64(int32(b)-p.BZP)
	r := int32((x*int64(p.AM) + y*int64(p.BM) + int64(1)<<(p.Shift-1)) >> p.Shift)
	return int8(min(max(r+p.ZP, p.Lo), p.Hi))
}

// fits32 reports whether every sum fits in int32 (operands are at most 255
// in magnitude after the zero point), which the vector kernel needs.
func (p *AddI8) fits32() bool {
	if p.Shift < 1 || p.Shift > 30 {
		return false
	}
	abs := func(v int32) int64 { return max(int64(v), -int64(v)) }
	return 255*(abs(p.AM)+abs(p.BM))+int64(1)<<(p.Shift-1) < 1<<31
}

// Run computes out[i] for i < len(out).
func (p *AddI8) Run(out, a, b []int8) {
	n := len(out)
	a, b = a[:n], b[:n]
	v := 0
	if useInt8SIMD() && n >= 8 && p.fits32() {
		v = n / 8 * 8
		addI8(&out[0], &a[0], &b[0], v, p)
	}
	for i := v; i < n; i++ {
		out[i] = p.One(a[i], b[i])
	}
}

// RunGeneric is Run on the portable path.
func (p *AddI8) RunGeneric(out, a, b []int8) {
	for i := range out {
		out[i] = p.One(a[i], b[i])
	}
}
