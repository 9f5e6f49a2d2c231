package jpegdec

import (
	"fmt"
	"image/color"
	"io"
	"math"
)

// Sample decodes data and writes the 8-bit RGB values of the pixels at rows × cols (ascending
// or not, each within the image) into rgb, row-major, three bytes per pixel. The caller checks
// the image's size (Config) before calling: memory grows with the number of 8×8 blocks.
func Sample(data []byte, rows, cols []int, rgb []uint8) error {
	return decode(data, rows, cols, rgb, false)
}

// SampleDC is Sample on the 1/8-scale image whose pixel (x, y) is the mean of the 8×8 block
// (x, y) of the full image, computed from DC coefficients alone; rows and cols are coordinates
// in that image, whose size is DCSize of the full one.
func SampleDC(data []byte, rows, cols []int, rgb []uint8) error {
	return decode(data, rows, cols, rgb, true)
}

// DCSize is the size of the 1/8-scale image of a width×height JPEG.
func DCSize(width, height int) (int, int) { return (width + 7) / 8, (height + 7) / 8 }

func decode(data []byte, rows, cols []int, rgb []uint8, dcOnly bool) error {
	if len(rgb) != len(rows)*len(cols)*3 {
		return fmt.Errorf("jpegdec: rgb buffer has %d bytes, want %d", len(rgb), len(rows)*len(cols)*3)
	}
	d := &decoder{data: data, dcOnly: dcOnly}
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
	d.allocate(rows, cols)
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
	planes := make([][]uint8, len(d.comps))
	for i := range d.comps {
		planes[i] = make([]uint8, len(rows)*len(cols))
		if dcOnly {
			d.planeDC(&d.comps[i], rows, cols, planes[i])
		} else {
			d.plane(&d.comps[i], rows, cols, planes[i])
		}
	}
	for i := range planes[0] {
		if len(planes) == 1 {
			v := planes[0][i]
			rgb[3*i], rgb[3*i+1], rgb[3*i+2] = v, v, v
			continue
		}
		rgb[3*i], rgb[3*i+1], rgb[3*i+2] = color.YCbCrToRGB(planes[0][i], planes[1][i], planes[2][i])
	}
	return nil
}

var errTruncated = io.ErrUnexpectedEOF

// allocate sizes the per-block state and picks the kept blocks: those holding a sampled pixel.
func (d *decoder) allocate(rows, cols []int) {
	for i := range d.comps {
		c := &d.comps[i]
		n := c.bw * c.bh
		c.dc = make([]int32, n)
		if d.dcOnly {
			continue
		}
		if d.progressive {
			c.nz = make([]uint64, n)
		}
		c.keptRow, c.nkr = keep(rows, c.v, d.vmax, c.bh)
		c.keptCol, c.nkc = keep(cols, c.h, d.hmax, c.bw)
		c.coef = make([]int16, c.nkr*c.nkc*64)
	}
}

// keep maps each block index along one axis to a slot if a sampled pixel falls in it.
func keep(samples []int, f, fmax, blocks int) ([]int32, int) {
	slot := make([]int32, blocks)
	for i := range slot {
		slot[i] = -1
	}
	n := 0
	for _, s := range samples {
		b := s * f / fmax / 8
		if slot[b] < 0 {
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

// plane computes component c's samples at rows × cols by an inverse DCT evaluated only at those
// positions of the kept blocks. weighted[x][k] folds the horizontal basis and the quantiser
// together, and all-zero coefficient rows (most high frequencies) are skipped.
func (d *decoder) plane(c *component, rows, cols []int, out []uint8) {
	q := &d.quant[c.tq]
	var weighted [8][64]float64
	for x := range 8 {
		for k := range 64 {
			weighted[x][k] = idctBasis[x][k%8] * float64(q[k])
		}
	}
	for i, y := range rows {
		cy := y * c.v / d.vmax
		by, yin := cy/8, cy%8
		for j, x := range cols {
			cx := x * c.h / d.hmax
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
			out[i*len(cols)+j] = clampPixel(s)
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

// planeDC computes component c's 1/8-scale samples from DC coefficients.
func (d *decoder) planeDC(c *component, rows, cols []int, out []uint8) {
	q0 := float64(d.quant[c.tq][0])
	for i, y := range rows {
		by := y * c.v / d.vmax
		for j, x := range cols {
			bx := x * c.h / d.hmax
			out[i*len(cols)+j] = clampPixel(float64(c.dc[by*c.bw+bx]) * q0 / 8)
		}
	}
}
