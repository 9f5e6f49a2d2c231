//go:build ignore

// gen_dwavx2 writes dwavx2_amd64.s: the AVX2 3x3 depthwise row kernels
// dw3x3s1AVX2 and dw3x3s2AVX2 (see dwavx2.go). A row is swept four output
// pixels at a time (the last n%4 one by one), and for each group every
// vector of eight channels in turn: the group's loads read pixels side by
// side and its output is one run of memory, where dw3x3AVX2 walks the
// whole row for each channel vector (on 8x8x512 every pixel 2 KB from the
// next, all of them in the same few L1 sets). Each sum keeps the order of
// the path it replaces: dw3x3AVX2's, three partial sums per pixel, one
// per window column (the first from the bias, the other two from a
// product), each taking its column's taps top to bottom, then added left
// to right; at stride 2 across, Depthwise's, whose border pixels summed
// tap by tap (see edges). A window row's three
// weight vectors stay in registers while its input vectors are loaded
// once each and fed to every pixel that reads them. The padding column
// left of the first pixel (flags bit 0) and right of the last (bit 1) is
// never read: its taps are left out, which is what adding 0·w gives (up to
// the sign of a zero). HARD_SWISH (bit 2) is applied as the sums are
// stored, with hardSwishAVX2's operations. The chain kernels at stride 1
// (kernelChain: dw3x3s1cAVX2, dw3x3s1cx16AVX2, dw3x3s1cx16pAVX2, and
// kernelChainW's dw3x3s1cx16wAVX2 on packed weights) give up
// that order: each pixel's sum is one FMA chain from the bias through the
// nine taps in window order, eight of them at a time. Run with
// `go run gen_dwavx2.go` in this directory.
package main

import (
	"bytes"
	"fmt"
	"os"
)

var b bytes.Buffer

// The operands that differ between the kernels on the NHWC input and the
// padded-stride ones (kernelPadded): the output of pixel px, the bounds,
// the flags.
var (
	outOp        = func(px int) string { return off("DX", px) }
	loArg, hiArg = "lo+64(FP)", "hi+68(FP)"
	hsTest       = "TESTQ $4, R14"
)

func p(format string, args ...any)     { fmt.Fprintf(&b, "\t"+format+"\n", args...) }
func label(format string, args ...any) { fmt.Fprintf(&b, format+":\n", args...) }

// off is the operand k pixels (k*c*4 bytes) past base: R8, R9, R10 and R11
// hold one, three, five and seven pixels in bytes.
func off(base string, k int) string {
	switch k {
	case 0:
		return "(" + base + ")"
	case 1:
		return "(" + base + ")(R8*1)"
	case 2:
		return "(" + base + ")(R8*2)"
	case 3:
		return "(" + base + ")(R9*1)"
	case 4:
		return "(" + base + ")(R8*4)"
	case 5:
		return "(" + base + ")(R10*1)"
	case 6:
		return "(" + base + ")(R9*2)"
	case 7:
		return "(" + base + ")(R11*1)"
	case 8:
		return "(" + base + ")(R8*8)"
	case 9:
		return "(" + base + ")(R15*1)" // set by kernelChain's eight-pixel groups
	}
	panic(fmt.Sprint("no operand for ", k, " pixels"))
}

// acc is the register of pixel px's partial sum for window column j.
func acc(j, px int) string { return fmt.Sprintf("Y%d", 4*j+px) }

// edges gives, for a group of g pixels at stride s in variant e (bit 0:
// the first pixel's left column is padding, bit 1: the last pixel's right
// column, bit 2: a window row is outside the image), the taps left out and
// the pixels summed in tap order: at stride 2, where Depthwise computed
// border pixels tap by tap (dwTaps) and the interior on dw3x3AVX2, the
// edge pixels and every pixel of a border row keep Depthwise's order (its
// border sums were nearer ONNX Runtime's on EfficientNet-Lite0: the
// column order moved the oracle test's largest error from 8.9e-6 to
// 1.2e-5, over its 1e-5).
func edges(g, s, e int) (skip func(px, j int) bool, tap func(px int) bool) {
	left, right, rows := e&1 != 0, e&2 != 0, e&4 != 0
	skip = func(px, j int) bool {
		return left && px == 0 && j == 0 || right && px == g-1 && j == 2
	}
	tap = func(px int) bool {
		return s == 2 && (rows || left && px == 0 || right && px == g-1)
	}
	return skip, tap
}

// chunk writes the loop over channel vectors for a group of g pixels at
// stride s; left and right leave out the first pixel's left column and the
// last pixel's right column. It ends by jumping to next.
func chunk(name string, g, s, e int, next string) {
	skip, tap := edges(g, s, e)
	// a is the register of pixel px's sum for window column j: a pixel
	// summed in tap order has one.
	a := func(j, px int) string {
		if tap(px) {
			return acc(0, px)
		}
		return acc(j, px)
	}
	label("%s", name)
	p("VMOVUPS (DI), Y0")
	for px := 1; px < g; px++ {
		p("VMOVAPS Y0, Y%d", px)
	}
	for r, row := range []string{"AX", "BX", "CX"} {
		for j := range 3 {
			p("VMOVUPS %s, Y%d", off("SI", 3*r+j), 12+j)
		}
		for x := 0; x <= (g-1)*s+2; x++ {
			type use struct{ px, j int }
			var uses []use
			for px := range g {
				if j := x - px*s; j >= 0 && j < 3 && !skip(px, j) {
					uses = append(uses, use{px, j})
				}
			}
			if len(uses) == 0 {
				continue
			}
			p("VMOVUPS %s, Y15", off(row, x))
			for _, u := range uses {
				if u.j > 0 && r == 0 && !tap(u.px) {
					p("VMULPS Y15, Y%d, %s", 12+u.j, a(u.j, u.px))
				} else {
					p("VFMADD231PS Y15, Y%d, %s", 12+u.j, a(u.j, u.px))
				}
			}
		}
	}
	p("VBROADCASTSS %s, Y12", loArg)
	p("VBROADCASTSS %s, Y13", hiArg)
	for px := range g {
		if !tap(px) {
			p("VADDPS %s, Y%d, Y%d", acc(1, px), px, px)
			if !skip(px, 2) {
				p("VADDPS %s, Y%d, Y%d", acc(2, px), px, px)
			}
		}
		p("VMAXPS Y12, Y%d, Y%d", px, px)
		p("VMINPS Y13, Y%d, Y%d", px, px)
	}
	p(hsTest)
	p("JNZ %s_hs", name)
	for px := range g {
		p("VMOVUPS Y%d, %s", px, outOp(px))
	}
	p("JMP %s_adv", name)
	label("%s_hs", name)
	p("VXORPS Y15, Y15, Y15")
	for px := range g {
		t := fmt.Sprintf("Y%d", 4+px)
		p("VADDPS dwavx2three<>(SB), Y%d, %s", px, t)
		p("VMAXPS Y15, %s, %s", t, t)
		p("VMINPS dwavx2six<>(SB), %s, %s", t, t)
		p("VMULPS Y%d, %s, %s", px, t, t)
		p("VDIVPS dwavx2six<>(SB), %s, %s", t, t)
		p("VMOVUPS %s, %s", t, outOp(px))
	}
	label("%s_adv", name)
	for _, r := range []string{"AX", "BX", "CX", "SI", "DI", "DX"} {
		p("ADDQ $32, %s", r)
	}
	p("DECQ R12")
	p("JNZ %s", name)
	p("JMP %s", next)
}

// packedS2 has chunk16 and kernel write dw3x3s2x16wAVX2: dw3x3s2x16AVX2
// on weights packed sixteen channels by nine taps (PackDW3x3x16), with
// flags bits 4 and 5 saying the window's top and bottom rows are outside
// the image (their taps left out, the row never read; such a row is a
// border row, bit 3, whose pixels sum tap by tap, so the sums are the
// same up to the sign of a zero).
var packedS2 bool

// chunk16 is chunk for groups of g pixels (two or one) and sixteen
// channels, a whole cache line of each pixel: with a pixel stride of a
// multiple of 2 KB (512 or 1024 channels) every pixel of a window falls
// in the same one or two L1 sets, and eight-channel chunk halves of a
// line were evicted before the next chunk read the other half. The twelve
// partial sums fill the registers, so each tap's weights are loaded to
// one register and its inputs are read from memory.
func chunk16(name string, g, s, e int, next string) {
	skip, tap := edges(g, s, e)
	a := func(j, px, h int) string {
		if tap(px) {
			j = 0
		}
		return fmt.Sprintf("Y%d", (h*g+px)*3+j)
	}
	label("%s", name)
	for h := range 2 {
		p("VMOVUPS %d(DI), %s", 32*h, a(0, 0, h))
		for px := 1; px < g; px++ {
			p("VMOVAPS %s, %s", a(0, 0, h), a(0, px, h))
		}
	}
	for r, row := range []string{"AX", "BX", "CX"} {
		if packedS2 && r != 1 {
			p("TESTQ $%d, R14", map[int]int{0: 16, 2: 32}[r])
			p("JNZ %s_r%d", name, r)
		}
		for j := range 3 {
			for h := range 2 {
				if packedS2 {
					p("VMOVUPS %d(SI), Y12", 64*(3*r+j)+32*h)
				} else {
					p("VMOVUPS %d%s, Y12", 32*h, off("SI", 3*r+j))
				}
				for px := range g {
					if skip(px, j) {
						continue
					}
					op := "VFMADD231PS"
					if j > 0 && r == 0 && !tap(px) {
						op = "VMULPS"
					}
					p("%s %d%s, Y12, %s", op, 32*h, off(row, px*s+j), a(j, px, h))
				}
			}
		}
		if packedS2 && r != 1 {
			label("%s_r%d", name, r)
		}
	}
	p("VBROADCASTSS lo+64(FP), Y12")
	p("VBROADCASTSS hi+68(FP), Y13")
	for px := range g {
		for h := range 2 {
			o := a(0, px, h)
			if !tap(px) {
				p("VADDPS %s, %s, %s", a(1, px, h), o, o)
				if !skip(px, 2) {
					p("VADDPS %s, %s, %s", a(2, px, h), o, o)
				}
			}
			p("VMAXPS Y12, %s, %s", o, o)
			p("VMINPS Y13, %s, %s", o, o)
		}
	}
	p("TESTQ $4, R14")
	p("JNZ %s_hs", name)
	for px := range g {
		for h := range 2 {
			p("VMOVUPS %s, %d%s", a(0, px, h), 32*h, off("DX", px))
		}
	}
	p("JMP %s_adv", name)
	label("%s_hs", name)
	p("VXORPS Y15, Y15, Y15")
	for px := range g {
		for h := range 2 {
			x, t := a(0, px, h), fmt.Sprintf("Y%d", (h*g+px)*3+1)
			p("VADDPS dwavx2three<>(SB), %s, %s", x, t)
			p("VMAXPS Y15, %s, %s", t, t)
			p("VMINPS dwavx2six<>(SB), %s, %s", t, t)
			p("VMULPS %s, %s, %s", x, t, t)
			p("VDIVPS dwavx2six<>(SB), %s, %s", t, t)
			p("VMOVUPS %s, %d%s", t, 32*h, off("DX", px))
		}
	}
	label("%s_adv", name)
	for _, r := range []string{"AX", "BX", "CX", "SI", "DI", "DX"} {
		if r == "SI" && packedS2 {
			p("ADDQ $576, SI")
			continue
		}
		p("ADDQ $64, %s", r)
	}
	p("DECQ R12")
	p("JNZ %s", name)
	p("JMP %s", next)
}

// variantNames name the chunk loops by edges(e); stride 1 has the first
// four (its border rows sum as its others).
var variantNames = []string{"n", "l", "r", "lr", "tn", "tl", "tr", "tlr"}

func variantCount(s int) int { return 4 * s }

// rowsBit adds, at stride 2, flags bit 3 (a window row outside the image)
// to the variant in R15 as its bit 2.
func rowsBit(s int) {
	if s == 2 {
		p("MOVQ R14, R12")
		p("ANDQ $8, R12")
		p("SHRQ $1, R12")
		p("ORQ R12, R15")
	}
}

// variants writes the selection of a group's variant (R15: bit 0 left,
// bit 1 right, bit 2 a border row at stride 2) and its chunk loops.
func variants(fn string, g, s, v int, next string) {
	p("MOVQ w+32(FP), SI")
	p("MOVQ bias+40(FP), DI")
	p("MOVQ c+56(FP), R12")
	p("SHRQ $%d, R12", 2+v)
	for e := 1; e < variantCount(s); e++ {
		p("CMPQ R15, $%d", e)
		p("JEQ %s_g%d%s", fn, g, variantNames[e])
	}
	for e := range variantCount(s) {
		name := fmt.Sprintf("%s_g%d%s", fn, g, variantNames[e])
		if v == 2 {
			chunk16(name, g, s, e, next)
		} else {
			chunk(name, g, s, e, next)
		}
	}
}

// kernel writes the row kernel of stride s and v vectors of eight channels
// per chunk: groups of four pixels for one vector, of two for two, the
// last n mod g pixels one by one.
func kernel(s, v int) {
	fn := fmt.Sprintf("dw3x3s%dAVX2", s)
	g, c := 4, "a multiple of 8"
	if v == 2 {
		fn = fmt.Sprintf("dw3x3s%dx16AVX2", s)
		g, c = 2, "a multiple of 16"
	}
	if packedS2 {
		fn = "dw3x3s2x16wAVX2"
		fmt.Fprintf(&b, `
// func %s(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int)
// dw3x3s2x16AVX2 on weights packed sixteen channels by nine taps, flags bits 4 and
// 5: the top and bottom window rows are outside the image, never read (see
// gen_dwavx2.go's packedS2); registers as there.
TEXT ·%s(SB), NOSPLIT, $0-80
`, fn, fn)
	} else {
		fmt.Fprintf(&b, `
// func %s(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int)
// n output pixels of one 3x3 depthwise row at stride %d (see gen_dwavx2.go), %d at a
// time, %d channels at a time; r0..r2 point at the first pixel's window rows, at its
// left column, or with flags bit 0 at its middle one (the left one is padding); c is
// %s.
// AX, BX, CX: window rows; DX: output; SI, DI: weights, bias; R8..R11: 1, 3, 5, 7
// pixels in bytes; R12: chunks left; R13: groups or pixels left; R14: flags (bit 0
// cleared after the first group); R15: the group's edges.
TEXT ·%s(SB), NOSPLIT, $0-80
`, fn, s, g, 8*v, c, fn)
	}
	p("MOVQ c+56(FP), R8")
	p("SHLQ $2, R8")
	pixelStepMultiples()
	rowKernelPointers()
	p("MOVQ flags+72(FP), R14")
	p("TESTQ $1, R14")
	p("JZ %s_groups", fn)
	for _, r := range []string{"AX", "BX", "CX"} {
		p("SUBQ R8, %s", r)
	}
	label("%s_groups", fn)
	p("MOVQ n+48(FP), R13")
	p("SHRQ $%d, R13", g/2)
	p("JZ %s_tail", fn)
	label("%s_group", fn)
	p("MOVQ R14, R15")
	p("ANDQ $1, R15")
	p("CMPQ R13, $1")
	p("JNE %s_g%dsel", fn, g)
	p("TESTQ $%d, n+48(FP)", g-1)
	p("JNZ %s_g%dsel", fn, g)
	p("MOVQ R14, R12")
	p("ANDQ $2, R12")
	p("ORQ R12, R15")
	label("%s_g%dsel", fn, g)
	rowsBit(s)
	variants(fn, g, s, v, fmt.Sprintf("%s_g%dnext", fn, g))
	label("%s_g%dnext", fn, g)
	// The chunk loops moved the rows and output on by one pixel; the
	// rows go on by g*s-1 more, the output by g-1.
	reg := map[int]string{1: "R8", 3: "R9", 7: "R11"}
	for _, r := range []string{"AX", "BX", "CX"} {
		p("ADDQ %s, %s", reg[g*s-1], r)
	}
	p("ADDQ %s, DX", reg[g-1])
	p("ANDQ $-2, R14")
	p("DECQ R13")
	p("JNZ %s_group", fn)
	label("%s_tail", fn)
	p("MOVQ n+48(FP), R13")
	p("ANDQ $%d, R13", g-1)
	p("JZ %s_end", fn)
	label("%s_pixel", fn)
	p("MOVQ R14, R15")
	p("ANDQ $1, R15")
	p("CMPQ R13, $1")
	p("JNE %s_g1sel", fn)
	p("MOVQ R14, R12")
	p("ANDQ $2, R12")
	p("ORQ R12, R15")
	label("%s_g1sel", fn)
	rowsBit(s)
	variants(fn, 1, s, v, fn+"_g1next")
	label("%s_g1next", fn)
	if s == 2 {
		for _, r := range []string{"AX", "BX", "CX"} {
			p("ADDQ R8, %s", r)
		}
	}
	p("ANDQ $-2, R14")
	p("DECQ R13")
	p("JNZ %s_pixel", fn)
	label("%s_end", fn)
	p("VZEROUPPER")
	p("RET")
}

// kernelPadded writes dw3x3s{s}pAVX2, the four-pixel eight-channel kernel
// on rows and weights copied with a pixel stride of ps bytes (R8..R11 are
// multiples of ps; R14 and R15 hold one and three pixels of output, the
// flags live in the frame).
func kernelPadded(s int) {
	fn := fmt.Sprintf("dw3x3s%dpAVX2", s)
	fmt.Fprintf(&b, `
// func %s(out, r0, r1, r2, w, bias *float32, n, c, ps int, lo, hi float32, flags int)
// dw3x3s%dAVX2 on window rows and weights whose pixels (taps) are ps bytes apart
// (see dwavx2.go); bias and output as there.
// AX, BX, CX: window rows; DX: output; SI, DI: weights, bias; R8..R11: 1, 3, 5, 7
// input pixels in bytes; R12: chunks left; R13: groups or pixels left; R14, R15:
// 1, 3 output pixels in bytes; fl: flags (bit 0 cleared after the first group).
TEXT ·%s(SB), NOSPLIT, $8-88
`, fn, s, fn)
	outOp = func(px int) string {
		return [...]string{"(DX)", "(DX)(R14*1)", "(DX)(R14*2)", "(DX)(R15*1)"}[px]
	}
	loArg, hiArg, hsTest = "lo+72(FP)", "hi+76(FP)", "TESTQ $4, fl-8(SP)"
	p("MOVQ ps+64(FP), R8")
	pixelStepMultiples()
	p("MOVQ c+56(FP), R14")
	p("SHLQ $2, R14")
	p("LEAQ (R14)(R14*2), R15")
	rowKernelPointers()
	p("MOVQ flags+80(FP), R12")
	p("MOVQ R12, fl-8(SP)")
	p("TESTQ $1, R12")
	p("JZ %s_groups", fn)
	for _, r := range []string{"AX", "BX", "CX"} {
		p("SUBQ R8, %s", r)
	}
	label("%s_groups", fn)
	p("MOVQ n+48(FP), R13")
	p("SHRQ $2, R13")
	p("JZ %s_tail", fn)
	sel := func(g int, rightIf func(), next string) {
		p("MOVQ fl-8(SP), R12")
		p("ANDQ $1, R12")
		p("CMPQ R13, $1")
		p("JNE %s_g%dsel", fn, g)
		rightIf()
		p("TESTQ $2, fl-8(SP)")
		p("JZ %s_g%dsel", fn, g)
		p("ORQ $2, R12")
		label("%s_g%dsel", fn, g)
		if s == 2 {
			p("TESTQ $8, fl-8(SP)")
			p("JZ %s_g%dvar", fn, g)
			p("ORQ $4, R12")
		}
		label("%s_g%dvar", fn, g)
		p("MOVQ w+32(FP), SI")
		p("MOVQ bias+40(FP), DI")
		for e := 1; e < variantCount(s); e++ {
			p("CMPQ R12, $%d", e)
			p("JEQ %s_g%d%s_pre", fn, g, variantNames[e])
		}
		for e := range variantCount(s) {
			name := fmt.Sprintf("%s_g%d%s", fn, g, variantNames[e])
			label("%s_pre", name)
			p("MOVQ c+56(FP), R12")
			p("SHRQ $3, R12")
			chunk(name, g, s, e, next)
		}
	}
	label("%s_group", fn)
	sel(4, func() {
		p("TESTQ $3, n+48(FP)")
		p("JNZ %s_g4sel", fn)
	}, fn+"_g4next")
	label("%s_g4next", fn)
	// The chunk loops moved the rows c*4 bytes on and the output one
	// pixel: the rows go to the group 4*s pixels on, the output three
	// more pixels.
	for _, r := range []string{"AX", "BX", "CX"} {
		p("SUBQ R14, %s", r)
		p("LEAQ (%s)(R8*%d), %s", r, 4*s, r)
	}
	p("ADDQ R15, DX")
	p("ANDQ $-2, fl-8(SP)")
	p("DECQ R13")
	p("JNZ %s_group", fn)
	label("%s_tail", fn)
	p("MOVQ n+48(FP), R13")
	p("ANDQ $3, R13")
	p("JZ %s_end", fn)
	label("%s_pixel", fn)
	sel(1, func() {}, fn+"_g1next")
	label("%s_g1next", fn)
	for _, r := range []string{"AX", "BX", "CX"} {
		p("SUBQ R14, %s", r)
		p("LEAQ (%s)(R8*%d), %s", r, s, r)
	}
	p("ANDQ $-2, fl-8(SP)")
	p("DECQ R13")
	p("JNZ %s_pixel", fn)
	label("%s_end", fn)
	p("VZEROUPPER")
	p("RET")
}

// chainArgs are the operands that differ between the chain kernels on the
// NHWC input and on padded-stride copies: the output of pixel px, the
// bounds, the flags.
type chainArgs struct {
	out    func(px int) string
	lo, hi string
	flags  string
	// packed: the weights are laid out sixteen channels by nine taps
	// (PackDW3x3x16), a chunk's 576 bytes in one run; and flags bits 3
	// and 4 say the window's top and bottom rows are outside the image:
	// their taps are left out (the row pointer is never read).
	packed bool
}

// chunkChain writes the chunk loop of the chain kernels (kernelChain) for
// a group of g pixels at stride 1 and v vectors of eight channels: one
// accumulator per pixel and vector (g*v of them, at most eight), started
// from the bias, each tap added by one FMA in the order of the window,
// top row first, left to right. Each input vector is loaded once and fed
// to every pixel of the group that reads it; a window row's 3*v weight
// vectors stay in registers (Y8..Y13).
func chunkChain(name string, g, v, e int, ca chainArgs, next string) {
	skip, _ := edges(g, 1, e)
	a := func(px, h int) string { return fmt.Sprintf("Y%d", h*g+px) }
	wr := func(j, h int) string { return fmt.Sprintf("Y%d", 8+3*h+j) }
	label("%s", name)
	for h := range v {
		p("VMOVUPS %d(DI), %s", 32*h, a(0, h))
		for px := 1; px < g; px++ {
			p("VMOVAPS %s, %s", a(0, h), a(px, h))
		}
	}
	for r, row := range []string{"AX", "BX", "CX"} {
		if ca.packed && r != 1 {
			p("TESTQ $%d, %s", map[int]int{0: 8, 2: 16}[r], ca.flags)
			p("JNZ %s_r%d", name, r)
		}
		for j := range 3 {
			for h := range v {
				if ca.packed {
					p("VMOVUPS %d(SI), %s", 64*(3*r+j)+32*h, wr(j, h))
					continue
				}
				p("VMOVUPS %d%s, %s", 32*h, off("SI", 3*r+j), wr(j, h))
			}
		}
		for x := 0; x <= g+1; x++ {
			for h := range v {
				var pxs []int
				for px := range g {
					if j := x - px; j >= 0 && j < 3 && !skip(px, j) {
						pxs = append(pxs, px)
					}
				}
				if len(pxs) == 0 {
					continue
				}
				p("VMOVUPS %d%s, Y15", 32*h, off(row, x))
				for _, px := range pxs {
					p("VFMADD231PS Y15, %s, %s", wr(x-px, h), a(px, h))
				}
			}
		}
		if ca.packed && r != 1 {
			label("%s_r%d", name, r)
		}
	}
	p("VBROADCASTSS %s, Y14", ca.lo)
	p("VBROADCASTSS %s, Y15", ca.hi)
	for px := range g {
		for h := range v {
			p("VMAXPS Y14, %s, %s", a(px, h), a(px, h))
			p("VMINPS Y15, %s, %s", a(px, h), a(px, h))
		}
	}
	p("TESTQ $4, %s", ca.flags)
	p("JNZ %s_hs", name)
	for px := range g {
		for h := range v {
			p("VMOVUPS %s, %d%s", a(px, h), 32*h, ca.out(px))
		}
	}
	p("JMP %s_adv", name)
	label("%s_hs", name)
	p("VXORPS Y15, Y15, Y15")
	for i := range g * v {
		px, h := i%g, i/g
		x, t := a(px, h), fmt.Sprintf("Y%d", 8+i%4)
		p("VADDPS dwavx2three<>(SB), %s, %s", x, t)
		p("VMAXPS Y15, %s, %s", t, t)
		p("VMINPS dwavx2six<>(SB), %s, %s", t, t)
		p("VMULPS %s, %s, %s", x, t, t)
		p("VDIVPS dwavx2six<>(SB), %s, %s", t, t)
		p("VMOVUPS %s, %d%s", t, 32*h, ca.out(px))
	}
	label("%s_adv", name)
	for _, r := range []string{"AX", "BX", "CX", "SI", "DI", "DX"} {
		if r == "SI" && ca.packed {
			p("ADDQ $576, SI")
			continue
		}
		p("ADDQ $%d, %s", 32*v, r)
	}
	p("DECQ R12")
	p("JNZ %s", name)
	p("JMP %s", next)
}

// kernelChain writes dw3x3s1cAVX2 (v = 1: groups of eight pixels, eight
// channels at a time) or dw3x3s1cx16AVX2 (v = 2: four pixels, sixteen
// channels), then the row's last n mod 8 (or 4) pixels in groups of four,
// two and one; padded, dw3x3s1cx16pAVX2, the sixteen-channel one on rows
// and weights copied with a pixel stride of ps bytes (see kernelPadded).
// Their sums differ from dw3x3s1AVX2's: one chain per pixel from the bias
// through the nine taps in window order instead of three column partials
// added at the end (see chunkChain).
func kernelChain(v int, padded bool) { kernelChainW(v, padded, false) }

// kernelChainW is kernelChain, with packed dw3x3s1cx16wAVX2: the
// sixteen-channel kernel in place on weights packed sixteen channels by
// nine taps (PackDW3x3x16), whose chunk is one run of nine lines instead
// of nine lines 4c bytes apart (with 512 channels in the same two L1
// sets as the input's), and a window row outside the image left out
// (flags bits 3 and 4) rather than read from a zeroed row: the sums are
// the same up to the sign of a zero (x + 0·w is x). Tried and dropped: a
// whole-image kernel on the other loop order (for each sixteen channels
// every row, then every group; weights read once per image): in V1
// 1.0@128 at batch 1 it ran 0.58x on 8x8x512, 0.72x on 16x16x256 and
// 0.90x on 4x4x1024 (graph's switchNodesAB, 200 rounds): each step reads
// eighteen lines 4c bytes apart where the row kernels' streams run on
// line by line, which the prefetchers follow. Nor did these pay, on
// 8x8x512 hot (kernels, thread CPU, 400 rounds alternating) and in V1's
// layers (graph's switchNodesAB, 200 rounds): groups of two pixels
// instead of four (fourteen lines a step instead of twenty-two in the
// input's two L1 sets) 0.79x hot; a PREFETCHT0 of each input line 64, 128
// or 256 bytes on, with its load, 1.01-1.03x hot and 1.03x in the model
// (quartiles 0.88-1.20); sixteen channels of the whole row at a time (the
// groups of four, two and one in turn for each chunk, so that the weights
// and shared columns are read again at once): hot, 7x7x1152 and 7x7x960
// 1.4x, 14x14x480 and 14x14x576 1.07-1.1x, 8x8x512 and 16x16x256 0.82x;
// on rows not a multiple of four in the models (100 rounds, load 9) V2's
// plain depthwise layers 0.995x (q1-q3 0.82-1.13), Lite0's 0.96x.
func kernelChainW(v int, padded, packed bool) {
	fn, g0 := "dw3x3s1cAVX2", 8
	if v == 2 {
		fn, g0 = "dw3x3s1cx16AVX2", 4
	}
	ca := chainArgs{out: func(px int) string { return off("DX", px) }, lo: "lo+64(FP)", hi: "hi+68(FP)", flags: "R14", packed: packed}
	if packed {
		fn = "dw3x3s1cx16wAVX2"
		fmt.Fprintf(&b, `
// func %s(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int)
// dw3x3s1cx16AVX2 on weights packed sixteen channels by nine taps (see
// gen_dwavx2.go's kernelChainW), flags bits 3 and 4: the top and bottom window
// rows are outside the image (r0, r2 never read); registers as there.
TEXT ·%s(SB), NOSPLIT, $0-80
`, fn, fn)
	} else if padded {
		fn = "dw3x3s1cx16pAVX2"
		ca = chainArgs{out: func(px int) string {
			return [...]string{"(DX)", "(DX)(R14*1)", "(DX)(R14*2)", "(DX)(R15*1)"}[px]
		}, lo: "lo+72(FP)", hi: "hi+76(FP)", flags: "fl-8(SP)"}
		fmt.Fprintf(&b, `
// func %s(out, r0, r1, r2, w, bias *float32, n, c, ps int, lo, hi float32, flags int)
// dw3x3s1cx16AVX2 on window rows and weights whose pixels (taps) are ps bytes apart
// (see dwavx2.go); bias and output as there.
// AX, BX, CX: window rows; DX: output; SI, DI: weights, bias; R8..R11: 1, 3, 5, 7
// input pixels in bytes; R12: the group's edges, then chunks left; R13: groups
// left; R14, R15: 1, 3 output pixels in bytes; fl: flags (bit 0 cleared after the
// first group).
TEXT ·%s(SB), NOSPLIT, $8-88
`, fn, fn)
	} else if !packed {
		fmt.Fprintf(&b, `
// func %s(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int)
// n output pixels of one 3x3 depthwise row at stride 1 (see gen_dwavx2.go's
// chunkChain), %d at a time, %d channels at a time; arguments as dw3x3s1AVX2's.
// AX, BX, CX: window rows; DX: output; SI, DI: weights, bias; R8..R11: 1, 3, 5, 7
// pixels in bytes, R15 9 in the chunk loops of eight pixels; R12: the group's
// edges, then chunks left; R13: groups left; R14: flags (bit 0 cleared after the
// first group).
TEXT ·%s(SB), NOSPLIT, $0-80
`, fn, g0, 8*v, fn)
	}
	if padded {
		p("MOVQ ps+64(FP), R8")
	} else {
		p("MOVQ c+56(FP), R8")
		p("SHLQ $2, R8")
	}
	pixelStepMultiples()
	rowKernelPointers()
	if padded {
		p("MOVQ c+56(FP), R14")
		p("SHLQ $2, R14")
		p("LEAQ (R14)(R14*2), R15")
		p("MOVQ flags+80(FP), R12")
		p("MOVQ R12, fl-8(SP)")
	} else {
		p("MOVQ flags+72(FP), R14")
	}
	p("TESTQ $1, %s", ca.flags)
	p("JZ %s_groups", fn)
	for _, r := range []string{"AX", "BX", "CX"} {
		p("SUBQ R8, %s", r)
	}
	label("%s_groups", fn)
	p("MOVQ n+48(FP), R13")
	p("SHRQ $%d, R13", map[int]int{8: 3, 4: 2}[g0])
	p("JZ %s_tail%d", fn, g0/2)
	in := map[int]string{1: "R8", 3: "R9", 7: "R11"}
	outReg := in
	if padded {
		outReg = map[int]string{1: "R14", 3: "R15"}
	}
	// piece writes the variant selection and chunk loops of a group of g
	// pixels, last when (n mod g) == 0, and moves the rows and output on
	// past it (the chunk loops moved them c*4 bytes).
	piece := func(g int, loop bool) {
		p("MOVQ %s, R12", ca.flags)
		p("ANDQ $1, R12")
		if loop {
			p("CMPQ R13, $1")
			p("JNE %s_g%dsel", fn, g)
		}
		if g > 1 {
			p("TESTQ $%d, n+48(FP)", g-1)
			p("JNZ %s_g%dsel", fn, g)
		}
		p("TESTQ $2, %s", ca.flags)
		p("JZ %s_g%dsel", fn, g)
		p("ORQ $2, R12")
		label("%s_g%dsel", fn, g)
		p("MOVQ w+32(FP), SI")
		p("MOVQ bias+40(FP), DI")
		next := fmt.Sprintf("%s_g%dnext", fn, g)
		for e := 1; e < 4; e++ {
			p("CMPQ R12, $%d", e)
			p("JEQ %s_g%d%s_pre", fn, g, variantNames[e])
		}
		for e := range 4 {
			name := fmt.Sprintf("%s_g%d%s", fn, g, variantNames[e])
			label("%s_pre", name)
			p("MOVQ c+56(FP), R12")
			p("SHRQ $%d, R12", 2+v)
			if g == 8 {
				p("LEAQ (R8)(R8*8), R15")
			}
			chunkChain(name, g, v, e, ca, next)
		}
		label("%s", next)
		for _, r := range []string{"AX", "BX", "CX"} {
			if padded {
				p("SUBQ R14, %s", r)
				p("LEAQ (%s)(R8*%d), %s", r, g, r)
			} else if g > 1 {
				p("ADDQ %s, %s", in[g-1], r)
			}
		}
		if g > 1 {
			p("ADDQ %s, DX", outReg[g-1])
		}
		p("ANDQ $-2, %s", ca.flags)
	}
	label("%s_group", fn)
	piece(g0, true)
	p("DECQ R13")
	p("JNZ %s_group", fn)
	for g := g0 / 2; g >= 1; g /= 2 {
		label("%s_tail%d", fn, g)
		p("TESTQ $%d, n+48(FP)", g)
		if g > 1 {
			p("JZ %s_tail%d", fn, g/2)
		} else {
			p("JZ %s_end", fn)
		}
		piece(g, false)
	}
	label("%s_end", fn)
	p("VZEROUPPER")
	p("RET")
}

func main() {
	fmt.Fprintln(&b, "// Code generated by gen_dwavx2.go; DO NOT EDIT.")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "//go:build amd64")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, `#include "textflag.h"`)
	fmt.Fprintln(&b)
	for i := 0; i < 8; i++ {
		fmt.Fprintf(&b, "DATA dwavx2three<>+%d(SB)/4, $0x40400000\n", 4*i)
	}
	fmt.Fprintln(&b, "GLOBL dwavx2three<>(SB), RODATA|NOPTR, $32")
	for i := 0; i < 8; i++ {
		fmt.Fprintf(&b, "DATA dwavx2six<>+%d(SB)/4, $0x40c00000\n", 4*i)
	}
	fmt.Fprintln(&b, "GLOBL dwavx2six<>(SB), RODATA|NOPTR, $32")
	for _, v := range []int{1, 2} {
		kernel(1, v)
		kernel(2, v)
	}
	kernelPadded(1)
	kernelPadded(2)
	kernelChain(1, false)
	kernelChain(2, false)
	kernelChain(2, true)
	kernelChainW(2, false, true)
	packedS2 = true
	kernel(2, 2)
	packedS2 = false
	if err := os.WriteFile("dwavx2_amd64.s", b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// pixelStepMultiples sets R9, R10 and R11 to 3, 5 and 7 times the pixel
// step in R8, the row kernels' offsets of their third, fifth and seventh
// pixels.
func pixelStepMultiples() {
	p("LEAQ (R8)(R8*2), R9")
	p("LEAQ (R8)(R8*4), R10")
	p("LEAQ (R9)(R8*4), R11")
}

// rowKernelPointers loads the row kernels' output pointer (DX) and their
// three window rows (AX, BX, CX).
func rowKernelPointers() {
	p("MOVQ out+0(FP), DX")
	p("MOVQ r0+8(FP), AX")
	p("MOVQ r1+16(FP), BX")
	p("MOVQ r2+24(FP), CX")
}
