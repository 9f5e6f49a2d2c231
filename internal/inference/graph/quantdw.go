package graph

import (
	"unsafe"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// The int8 3x3 depthwise convolution on a padded copy of its input.
//
// depthwiseRowsVec runs the vector kernel that reads int8 directly only on
// the interior of each output row and every border pixel on its own, with
// the taps inside the image; at MobileNet's late resolutions (8x8, 4x4)
// most pixels are border pixels. Here the input rows an output band reads
// are first copied into a buffer with the padding filled with the input's
// zero point, so every pixel's window lies inside the buffer and one
// kernel call computes a whole output row. A padded value equals the zero
// point, so its term (x - zp) * w is zero, exactly what TFLite's and ONNX
// Runtime's kernels add for padding: the outputs are the same integers.

// paddedOK reports whether depthwiseRowsPadded can run k: a 3x3 depthwise
// convolution whose int8 kernel exists here, with padding (else the
// interior path already covers every pixel) and an int8 zero point.
func (k *qconvKernel) paddedOK() bool {
	if k.dw == nil || k.kh != 3 || k.kw != 3 || !k.dw.HasInt8Pixels3x3() || k.inZP < -128 || k.inZP > 127 {
		return false
	}
	padB := (k.oh-1)*k.sh + k.kh - k.padT - k.h
	padR := (k.ow-1)*k.sw + k.kw - k.padL - k.w
	return k.padT > 0 || k.padL > 0 || padB > 0 || padR > 0
}

// choosePadded reports whether k should run on the padded path: wherever
// it can. The padded copy is about twice as fast at 32x32x144, 8x8x512
// and 4x4x1024; at 64x64x32 it was once 10% slower, and with the pair
// kernel for 32 channels it is now 8-30% faster there (12.8-14.1 against
// 15.3-19.8 ns per pixel), 20% faster at 64x64x16 and as fast at
// 112x112x32 (BenchmarkQDepthwise).
func (k *qconvKernel) choosePadded() bool {
	return k.paddedOK()
}

// depthwiseRowsPadded computes output rows [lo, hi) of one image.
func (k *qconvKernel) depthwiseRowsPadded(in, o []int8, lo, hi int) {
	if hi <= lo {
		return
	}
	if quantT4 && k.dw.HasT4() && k.sw <= 2 {
		k.depthwiseRowsT4(in, o, lo, hi)
		return
	}
	s := k.getScratch()
	defer k.scratch.Put(s)
	c := k.cin
	wp := (k.ow-1)*k.sw + k.kw // padded columns the windows cover
	rowP := wp * c
	nRows := (hi-1-lo)*k.sh + k.kh
	s.p = grow(s.p, nRows*rowP)
	p := s.p[:nRows*rowP]
	zp := int8(k.inZP)
	// Padded row r holds input row iy0+r; padded column x input column
	// x - padL.
	iy0 := lo*k.sh - k.padT
	x0, x1 := k.padL, min(k.padL+k.w, wp) // padded columns inside the image
	for r := 0; r < nRows; r++ {
		dst := p[r*rowP : (r+1)*rowP]
		iy := iy0 + r
		if iy < 0 || iy >= k.h || x1 <= x0 {
			fillI8(dst, zp)
			continue
		}
		fillI8(dst[:x0*c], zp)
		copy(dst[x0*c:x1*c], in[iy*k.w*c:][:(x1-x0)*c])
		fillI8(dst[x1*c:], zp)
	}
	if dwBlocksOuter {
		if !k.dw.Int8Rows3x3(o[lo*k.ow*c:], k.ow*c, c, p, [3]int{0, rowP, 2 * rowP}, k.sh*rowP, k.sw*c, k.ow, hi-lo) {
			panic("graph: int8 3x3 depthwise kernel unavailable after HasInt8Pixels3x3")
		}
		return
	}
	for oy := lo; oy < hi; oy++ {
		r := (oy - lo) * k.sh * rowP
		rows := [3]int{r, r + rowP, r + 2*rowP}
		if !k.dw.Int8Pixels3x3(o[oy*k.ow*c:], c, p, rows, k.sw*c, k.ow) {
			panic("graph: int8 3x3 depthwise kernel unavailable after HasInt8Pixels3x3")
		}
	}
}

// depthwiseRowsT4 is depthwiseRowsPadded on the T4 kernel: each input
// row the band reads is copied zero-point padded into one row buffer and
// put in T4 form (kernels.DWI8.T4Row), once for the three output rows
// that read it; the output bytes are those of Int8Pixels3x3. At V2's
// 4x4x960 layers the per-row cost of the 64-channel kernel made the int8
// depthwise slower than the float one.
func (k *qconvKernel) depthwiseRowsT4(in, o []int8, lo, hi int) {
	s := k.getScratch()
	defer k.scratch.Put(s)
	c := k.cin
	rowT := kernels.T4Groups(k.ow, k.sw) * 4 * c
	nRows := (hi-1-lo)*k.sh + k.kh
	cols := min(k.w, (k.ow-1)*k.sw+k.kw-k.padL) // input columns the windows read
	s.p = grow(s.p, rowT)
	s.t = grow(s.t, nRows*rowT)
	row := s.p[:rowT]
	zp := int8(k.inZP)
	if cols > 0 {
		fillI8(row[:k.padL*c], zp)
		fillI8(row[(k.padL+cols)*c:], zp)
	}
	iy0 := lo*k.sh - k.padT
	for r := 0; r < nRows; r++ {
		dst := s.t[r*rowT : (r+1)*rowT]
		iy := iy0 + r
		if iy < 0 || iy >= k.h || cols <= 0 {
			fillT4(dst, zp)
			continue
		}
		copy(row[k.padL*c:(k.padL+cols)*c], in[iy*k.w*c:][:cols*c])
		k.dw.T4Row(dst, row)
	}
	if t4BlocksOuter {
		if !k.dw.T4Rows3x3(o[lo*k.ow*c:], k.ow*c, c, s.t, [3]int{0, rowT, 2 * rowT}, k.sh*rowT, k.sw, k.ow, hi-lo) {
			panic("graph: int8 T4 depthwise kernel unavailable after HasT4")
		}
		return
	}
	for oy := lo; oy < hi; oy++ {
		r := (oy - lo) * k.sh * rowT
		if !k.dw.T4Pixels3x3(o[oy*k.ow*c:], c, s.t, [3]int{r, r + rowT, r + 2*rowT}, k.sw, k.ow) {
			panic("graph: int8 T4 depthwise kernel unavailable after HasT4")
		}
	}
}

// fillT4 sets d to a row of zero points zp in T4 form (each byte zp+128).
func fillT4(d []uint8, zp int8) {
	fillI8(unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(d))), len(d)), int8(uint8(zp)^0x80))
}

// dwBlocksOuter runs the padded path's rows with Int8Rows3x3 (the
// 64-channel blocks outer, all rows inner) instead of one Int8Pixels3x3
// per row: each block's weights and rescale (4.3 KiB) then stay in L1
// over the rows. 2.4-3.7% faster at 4x4x960 and 4x4x1024 (V2's and V1's
// last depthwise layers), 1.5-3.4% at 8x8x512 and 576, 1% at 16x16x384
// and 32x32x192 (BenchmarkQDepthwiseBlocksOuter, alternating). A switch
// for that benchmark.
var dwBlocksOuter = true

// fuseQuantPads folds an int8 PAD of the height and width axes into the
// depthwise convolution that alone reads its output, when the PAD's value
// is the convolution's input zero point: the convolution then reads the
// unpadded tensor with the PAD's amounts added to its own padding (where
// a zero-point input adds nothing, as padding does), and the PAD, a whole
// extra pass over the activation, is gone. Converters emit such
// PADs before MobileNet V2's stride-2 depthwise convolutions. It runs on
// the planned nodes, before slots are assigned.
func (m *Model) fuseQuantPads() {
	uses := make([]int, len(m.tensors))
	for _, nd := range m.nodes {
		for _, ti := range nd.ins {
			if ti >= 0 {
				uses[ti]++
			}
		}
	}
	producer := make(map[int]int, len(m.nodes))
	for i, nd := range m.nodes {
		producer[nd.out] = i
	}
	drop := make([]bool, len(m.nodes))
	for j := range m.nodes {
		nd := &m.nodes[j]
		k, ok := nd.k.(*qconvKernel)
		if !ok || !k.depthwise || len(nd.ins) == 0 || nd.ins[0] < 0 {
			continue
		}
		t := nd.ins[0]
		i, ok := producer[t]
		if !ok || drop[i] || uses[t] != 1 || t == m.output {
			continue
		}
		pk, ok := m.nodes[i].k.(*qpadKernel)
		if !ok {
			continue
		}
		p := &pk.p
		if p.before[0] != 0 || p.in[0] != p.out[0] || p.before[3] != 0 || p.in[3] != p.out[3] ||
			int32(pk.value) != k.inZP || p.out[1] != k.h || p.out[2] != k.w || p.in[3] != k.cin {
			continue
		}
		// Every depthwise path takes any padding; the padded one is
		// chosen anew for the new borders.
		k.h, k.w = p.in[1], p.in[2]
		k.padT, k.padL = k.padT+p.before[1], k.padL+p.before[2]
		k.padded = k.choosePadded()
		nd.ins = append([]int{m.nodes[i].ins[0]}, nd.ins[1:]...)
		drop[i] = true
	}
	m.nodes = withoutDropped(m.nodes, drop)
}
