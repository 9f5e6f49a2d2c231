package jpegdec

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// Mode selects whose pixels Sample reproduces.
type Mode int

const (
	// ModeLibjpeg reproduces libjpeg(-turbo) with its default settings, the decoder behind
	// TensorFlow's decode_jpeg: the integer "islow" inverse DCT, "fancy" (triangle-filter)
	// chroma upsampling and libjpeg's colour-conversion rounding.
	ModeLibjpeg Mode = iota
	// ModeStdlib reproduces Go's image/jpeg up to inverse-DCT rounding: a floating-point
	// inverse DCT, chroma replicated, image/color's conversion.
	ModeStdlib
)

// Sample decodes data and writes the 8-bit RGB values of the pixels at rows × cols (ascending
// or not, each within the image) into rgb, row-major, three bytes per pixel, as mode's decoder
// would produce them. The caller checks the image's size (Config) before calling: memory
// grows with the number of 8×8 blocks.
func Sample(data []byte, rows, cols []int, rgb []uint8, mode Mode) error {
	return decode(data, rows, cols, rgb, false, mode)
}

// SampleDC is Sample on the 1/8-scale image whose pixel (x, y) is the mean of the 8×8 block
// (x, y) of the full image, computed from DC coefficients alone; rows and cols are coordinates
// in that image, whose size is DCSize of the full one. Chroma is taken from the block covering
// the pixel; mode selects the colour conversion.
func SampleDC(data []byte, rows, cols []int, rgb []uint8, mode Mode) error {
	return decode(data, rows, cols, rgb, true, mode)
}

// DCSize is the size of the 1/8-scale image of a width×height JPEG.
func DCSize(width, height int) (int, int) { return (width + 7) / 8, (height + 7) / 8 }

func decode(data []byte, rows, cols []int, rgb []uint8, dcOnly bool, mode Mode) error {
	if len(rgb) != len(rows)*len(cols)*3 {
		return fmt.Errorf("jpegdec: rgb buffer has %d bytes, want %d", len(rgb), len(rows)*len(cols)*3)
	}
	d := newDecoder(data, dcOnly, mode)
	if err := d.readUntilFrame(); err != nil {
		return err
	}
	w, h := d.width, d.height
	if dcOnly {
		w, h = DCSize(w, h)
	}
	for _, y := range rows {
		if y < 0 || y >= h {
			return fmt.Errorf("jpegdec: row %d outside the image", y)
		}
	}
	for _, x := range cols {
		if x < 0 || x >= w {
			return fmt.Errorf("jpegdec: column %d outside the image", x)
		}
	}
	d.plan(rows, cols)
	for {
		eoi, err := d.step()
		if err != nil {
			return err
		}
		if eoi {
			break
		}
	}
	for i := range d.comps {
		if !d.quantSet[d.comps[i].tq] {
			return FormatError("missing quantisation table")
		}
	}
	for i := range d.comps {
		c := &d.comps[i]
		c.values = make([]uint8, len(c.rows.coords)*len(c.cols.coords))
		switch {
		case dcOnly:
			d.planeDC(c)
		case mode == ModeLibjpeg:
			d.planeISLOW(c)
		default:
			d.plane(c)
		}
	}
	d.assemble(rows, cols, rgb)
	return nil
}

// axis lists the coordinates of one component needed along one axis (ascending, unique) and
// maps each coordinate to its index.
type axis struct {
	coords []int
	index  []int32 // by coordinate; -1 when not needed
}

func newAxis(size int) axis {
	a := axis{index: make([]int32, size)}
	for i := range a.index {
		a.index[i] = -1
	}
	return a
}

func (a *axis) add(v int) {
	if a.index[v] < 0 {
		a.index[v] = 0
		a.coords = append(a.coords, v)
	}
}

// finish sorts the coordinates and numbers them.
func (a *axis) finish() {
	slices.Sort(a.coords)
	for i, v := range a.coords {
		a.index[v] = int32(i)
	}
}

// fancyAxes reports whether libjpeg interpolates component c horizontally and vertically.
// libjpeg-turbo picks one upsampler per component from the ratio of the largest sampling
// factors to the component's: triangle-filter ("fancy") interpolation for exactly 2:1
// horizontally (h2v1), vertically (h1v2) or both (h2v2), except that a component at most two
// samples wide is replicated when the ratio is 2:1 horizontally; any other integral ratio
// (3:1, 4:1, 2:1 with 4:1, ...) replicates samples.
func (d *decoder) fancyAxes(c *component) (h, v bool) {
	if d.dcOnly || d.mode != ModeLibjpeg {
		return false, false
	}
	wide := c.cw > 2
	h2, hEq := 2*c.h == d.hmax, c.h == d.hmax
	v2, vEq := 2*c.v == d.vmax, c.v == d.vmax
	switch {
	case h2 && vEq:
		return wide, false
	case hEq && v2:
		return false, true
	case h2 && v2:
		return wide, wide
	}
	return false, false
}

// plan picks, for each component, the sample coordinates the output needs (with libjpeg's
// interpolation neighbours), then sizes the per-block state and picks the kept blocks: those
// holding a needed sample.
func (d *decoder) plan(rows, cols []int) {
	for i := range d.comps {
		c := &d.comps[i]
		c.cw = (d.width*c.h + d.hmax - 1) / d.hmax
		c.ch = (d.height*c.v + d.vmax - 1) / d.vmax
		if d.dcOnly {
			c.cw, c.ch = c.bw, c.bh
		}
		fh, fv := d.fancyAxes(c)
		c.rows = planAxis(rows, c.v, d.vmax, c.ch, fv, d.dcOnly)
		c.cols = planAxis(cols, c.h, d.hmax, c.cw, fh, d.dcOnly)
		n := c.bw * c.bh
		c.dc = make([]int32, n)
		if d.dcOnly {
			continue
		}
		if d.progressive {
			c.nz = make([]uint64, n)
		}
		c.keptRow, c.nkr = keep(c.rows.coords, c.bh)
		c.keptCol, c.nkc = keep(c.cols.coords, c.bw)
		c.coef = make([]int16, c.nkr*c.nkc*64)
	}
}

// planAxis maps output coordinates to a component's sample coordinates along one axis; with
// fancy, each output also needs the neighbouring sample it is interpolated with. In DC mode a
// coordinate is a block index.
func planAxis(out []int, f, fmax, size int, fancy, dcOnly bool) axis {
	a := newAxis(size)
	for _, o := range out {
		if dcOnly {
			a.add(o * f / fmax)
			continue
		}
		s := o * f / fmax
		a.add(s)
		if fancy {
			a.add(neighbour(o, s, size))
		}
	}
	a.finish()
	return a
}

// neighbour is the second sample a 2:1 upsampled output o (over sample s) is interpolated
// with: the one before for even outputs, after for odd ones, clamped to the edges.
func neighbour(o, s, size int) int {
	if o%2 == 0 {
		return max(s-1, 0)
	}
	return min(s+1, size-1)
}

// keep maps each block index along one axis to a slot if a needed sample falls in it.
func keep(coords []int, blocks int) ([]int32, int) {
	slot := make([]int32, blocks)
	for i := range slot {
		slot[i] = -1
	}
	n := 0
	for _, s := range coords {
		if b := s / 8; slot[b] < 0 {
			slot[b] = int32(n)
			n++
		}
	}
	return slot, n
}

// idctBasis[x][u] is C(u)/2·cos((2x+1)uπ/16), C(0) = 1/√2: the 1-D inverse DCT weights.
var idctBasis = func() (t [8][8]float64) {
	for x := range 8 {
		for u := range 8 {
			cu := 1.0
			if u == 0 {
				cu = 1 / math.Sqrt2
			}
			t[x][u] = cu / 2 * math.Cos(float64(2*x+1)*float64(u)*math.Pi/16)
		}
	}
	return t
}()

func clampPixel(v float64) uint8 {
	v = math.Round(v) + 128
	return uint8(min(max(v, 0), 255))
}

// plane computes component c's samples at its needed coordinates by a floating-point inverse
// DCT evaluated only there. weighted[x][k] folds the horizontal basis and the quantiser
// together, and all-zero coefficient rows (most high frequencies) are skipped.
func (d *decoder) plane(c *component) {
	q := &d.quant[c.tq]
	var weighted [8][64]float64
	for x := range 8 {
		for k := range 64 {
			weighted[x][k] = idctBasis[x][k%8] * float64(q[k])
		}
	}
	nc := len(c.cols.coords)
	for i, cy := range c.rows.coords {
		by, yin := cy/8, cy%8
		for j, cx := range c.cols.coords {
			bx, xin := cx/8, cx%8
			coef := c.kept(by, bx)
			wx := &weighted[xin]
			s := idctBasis[yin][0] * (wx[0]*float64(c.dc[by*c.bw+bx]) + dot7(wx[1:8], coef[1:8]))
			for v := 1; v < 8; v++ {
				r := coef[v*8 : v*8+8 : v*8+8]
				if r[0]|r[1]|r[2]|r[3]|r[4]|r[5]|r[6]|r[7] == 0 {
					continue
				}
				s += idctBasis[yin][v] * dot8(wx[v*8:v*8+8], r)
			}
			c.values[i*nc+j] = clampPixel(s)
		}
	}
}

func dot7(w []float64, c []int16) float64 {
	var s float64
	for u := range 7 {
		s += w[u] * float64(c[u])
	}
	return s
}

func dot8(w []float64, c []int16) float64 {
	var s float64
	for u := range 8 {
		s += w[u] * float64(c[u])
	}
	return s
}

// planeISLOW computes component c's samples with libjpeg's integer inverse DCT, evaluated only
// at the needed samples. Each 1-D pass of islow is linear with integer weights and rounds only
// at its end, so one output of a pass is an exact integer dot product (islowMat) and a sample
// needs only its row of the first pass, over the block's non-zero coefficients: the result is
// bit for bit what the full butterfly gives. Blocks are visited once; the rows and columns
// needed in a block share its list of non-zero coefficients.
func (d *decoder) planeISLOW(c *component) {
	q := &d.quant[c.tq]
	// mq[y][p] folds the quantiser into the column pass: output y of coefficient p.
	var mq [8][64]int64
	for y := range 8 {
		for p := range 64 {
			mq[y][p] = islowMat[y][p>>3] * int64(q[p])
		}
	}
	rows, cols := c.rows.coords, c.cols.coords
	nc := len(cols)
	var pos [64]uint8
	var val [64]int64
	for i0 := 0; i0 < len(rows); {
		by := rows[i0] / 8
		i1 := i0 + 1
		for i1 < len(rows) && rows[i1]/8 == by {
			i1++
		}
		for j0 := 0; j0 < nc; {
			bx := cols[j0] / 8
			j1 := j0 + 1
			for j1 < nc && cols[j1]/8 == bx {
				j1++
			}
			coef := c.kept(by, bx)
			np := 0
			if c.nz != nil {
				// Progressive: the mask of coefficients ever made non-zero (zig-zag) covers them all.
				// Coefficients are kept without a branch on their value, which is close to
				// random: each is written at np and counted only when non-zero.
				for m := c.nz[by*c.bw+bx] &^ 1; m != 0; m &= m - 1 {
					p := unzig[bits.TrailingZeros64(m)]
					v := int32(coef[p])
					pos[np&63], val[np&63] = uint8(p), int64(v)
					np += int(uint32(v|-v) >> 31)
				}
			} else {
				for p := 1; p < 64; p++ {
					v := int32(coef[p])
					pos[np&63], val[np&63] = uint8(p), int64(v)
					np += int(uint32(v|-v) >> 31)
				}
			}
			dc := int64(c.dc[by*c.bw+bx])
			if np == 0 {
				// DC only: both passes give every sample the same value.
				v := clamp8(descale(descale(dc*mq[0][0], islowConstBits-islowPass1Bits)*islowMat[0][0], islowConstBits+islowPass1Bits+3) + 128)
				for i := i0; i < i1; i++ {
					out := c.values[i*nc+j0 : i*nc+j1]
					for j := range out {
						out[j] = v
					}
				}
				j0 = j1
				continue
			}
			for i := i0; i < i1; i++ {
				m := &mq[rows[i]&7]
				var ws [8]int64
				ws[0] = dc * m[0]
				for t := range np {
					p := pos[t]
					ws[p&7] += m[p] * val[t]
				}
				const d1 = islowConstBits - islowPass1Bits
				w0, w1, w2, w3 := descale(ws[0], d1), descale(ws[1], d1), descale(ws[2], d1), descale(ws[3], d1)
				w4, w5, w6, w7 := descale(ws[4], d1), descale(ws[5], d1), descale(ws[6], d1), descale(ws[7], d1)
				out := c.values[i*nc : (i+1)*nc]
				for j := j0; j < j1; j++ {
					w := &islowMat[cols[j]&7]
					s := w[0]*w0 + w[1]*w1 + w[2]*w2 + w[3]*w3 + w[4]*w4 + w[5]*w5 + w[6]*w6 + w[7]*w7
					out[j] = clamp8(descale(s, islowConstBits+islowPass1Bits+3) + 128)
				}
			}
			j0 = j1
		}
		i0 = i1
	}
}

// planeDC computes component c's 1/8-scale samples from DC coefficients.
func (d *decoder) planeDC(c *component) {
	q0 := float64(d.quant[c.tq][0])
	nc := len(c.cols.coords)
	for i, by := range c.rows.coords {
		for j, bx := range c.cols.coords {
			c.values[i*nc+j] = clampPixel(float64(c.dc[by*c.bw+bx]) * q0 / 8)
		}
	}
}

// upsampler holds, for one component, where each output row and column finds its samples:
// the own sample and the neighbour libjpeg's fancy upsampling interpolates with (the same
// when the component is replicated), as offsets into c.values.
type upsampler struct {
	c          *component
	fx, fy     bool
	row0, row1 []int32 // per output row: offset of the sample row and of its neighbour
	col0, col1 []int32 // per output column: index of the sample column and of its neighbour
}

func (d *decoder) newUpsampler(c *component, rows, cols []int) upsampler {
	u := upsampler{c: c}
	u.fx, u.fy = d.fancyAxes(c)
	nc := int32(len(c.cols.coords))
	u.row0, u.row1 = make([]int32, len(rows)), make([]int32, len(rows))
	for i, y := range rows {
		sy := y * c.v / d.vmax
		ny := sy
		if u.fy {
			ny = neighbour(y, sy, c.ch)
		}
		u.row0[i], u.row1[i] = c.rows.index[sy]*nc, c.rows.index[ny]*nc
	}
	u.col0, u.col1 = make([]int32, len(cols)), make([]int32, len(cols))
	for j, x := range cols {
		sx := x * c.h / d.hmax
		nx := sx
		if u.fx {
			nx = neighbour(x, sx, c.cw)
		}
		u.col0[j], u.col1[j] = c.cols.index[sx], c.cols.index[nx]
	}
	return u
}

// row writes the component's values along output row i (output y) at every output column
// (cols): its own samples, replicated, or (ModeLibjpeg) interpolated from two or four samples
// as libjpeg's fancy upsampling does.
func (u *upsampler) row(i, y int, cols []int, out []uint8) {
	v := u.c.values
	r0, r1 := u.row0[i], u.row1[i]
	col0, col1 := u.col0[:len(out)], u.col1[:len(out)]
	cols = cols[:len(out)]
	switch {
	case u.fy && u.fx: // h2v2: 3:1 vertically, then 3:1 horizontally, rounding 8 or 7 by parity
		for j, x := range cols {
			c0, c1 := col0[j], col1[j]
			this := 3*int32(v[r0+c0]) + int32(v[r1+c0])
			next := 3*int32(v[r0+c1]) + int32(v[r1+c1])
			out[j] = uint8((3*this + next + 8 - int32(x&1)) >> 4)
		}
	case u.fx: // h2v1
		for j, x := range cols {
			out[j] = uint8((3*int32(v[r0+col0[j]]) + int32(v[r0+col1[j]]) + 1 + int32(x&1)) >> 2)
		}
	case u.fy: // h1v2
		bias := 1 + int32(y&1)
		for j := range out {
			c0 := col0[j]
			out[j] = uint8((3*int32(v[r0+c0]) + int32(v[r1+c0]) + bias) >> 2)
		}
	default:
		for j := range out {
			out[j] = v[r0+col0[j]]
		}
	}
}

// assemble converts the components' samples at rows × cols to RGB, one output row at a time.
func (d *decoder) assemble(rows, cols []int, rgb []uint8) {
	nc := len(cols)
	ups := make([]upsampler, len(d.comps))
	lines := make([][]uint8, len(d.comps))
	for k := range d.comps {
		ups[k] = d.newUpsampler(&d.comps[k], rows, cols)
		lines[k] = make([]uint8, nc)
	}
	ycc := d.colour == colourYCbCr && d.mode == ModeLibjpeg && len(lines) == 3
	for i, y := range rows {
		for k := range ups {
			ups[k].row(i, y, cols, lines[k])
		}
		out := rgb[i*nc*3 : (i+1)*nc*3]
		if ycc {
			l0, l1, l2 := lines[0][:nc], lines[1][:nc], lines[2][:nc]
			for j := range l0 {
				out[3*j], out[3*j+1], out[3*j+2] = ycbcrToRGBLibjpeg(l0[j], l1[j], l2[j])
			}
			continue
		}
		var s [4]uint8
		for j := range nc {
			for k := range lines {
				s[k] = lines[k][j]
			}
			out[3*j], out[3*j+1], out[3*j+2] = d.pixel(s)
		}
	}
}
