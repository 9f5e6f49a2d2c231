package imageprep

import (
	"fmt"
	"math"
)

// axisPlan is tf.image.resize's bilinear interpolation along one axis: for each output index,
// the lower and upper source coordinates and the weight of the upper one. Samples lists the
// distinct source coordinates read, ascending; lo and hi index into it.
type axisPlan struct {
	samples []int
	lo, hi  []int32
	lerp    []float32
}

// planAxis computes TensorFlow's half-pixel-centre bilinear weights for resizing in pixels to
// out pixels (ResizeBilinear with half_pixel_centers=True, align_corners=False), in float32 as
// TensorFlow computes them.
func planAxis(in, out int) axisPlan {
	scale := float32(in) / float32(out)
	p := axisPlan{lo: make([]int32, out), hi: make([]int32, out), lerp: make([]float32, out)}
	lower := make([]int, out)
	upper := make([]int, out)
	for i := range out {
		src := float32(float32(float32(i)+0.5)*scale) - 0.5
		f := float32(math.Floor(float64(src)))
		lower[i] = max(int(f), 0)
		upper[i] = min(int(math.Ceil(float64(src))), in-1)
		p.lerp[i] = src - f
	}
	// Coordinates are non-decreasing in i, so a merge keeps samples sorted and unique.
	index := map[int]int32{}
	add := func(v int) int32 {
		if k, ok := index[v]; ok {
			return k
		}
		k := int32(len(p.samples))
		p.samples = append(p.samples, v)
		index[v] = k
		return k
	}
	for i := range out {
		p.lo[i] = add(lower[i])
		p.hi[i] = add(upper[i])
	}
	return p
}

// grid holds the 8-bit RGB values of the source pixels a resize reads: row-major over
// rows.samples × cols.samples, three bytes per pixel.
type grid struct {
	rows, cols axisPlan
	rgb        []uint8
}

func newGrid(srcW, srcH, dstW, dstH int) *grid {
	g := &grid{rows: planAxis(srcH, dstH), cols: planAxis(srcW, dstW)}
	g.rgb = make([]uint8, len(g.rows.samples)*len(g.cols.samples)*3)
	return g
}

// inputScale maps a 0–255 value to the model's input range as v/div + add.
type inputScale struct{ div, add float32 }

func parseInputRange(s string) (inputScale, error) {
	switch s {
	case "", "0,1":
		return inputScale{div: 255, add: 0}, nil
	case "-1,1":
		return inputScale{div: 127.5, add: -1}, nil
	case "0,255":
		return inputScale{div: 1, add: 0}, nil
	}
	return inputScale{}, fmt.Errorf("input range %q: want \"0,1\", \"-1,1\" or \"0,255\"", s)
}

// resize writes the bilinear resize of g into dst (dstH×dstW×3, NHWC without the batch), scaled
// to the input range. The interpolation follows TensorFlow's order of operations in float32.
func (g *grid) resize(dst []float32, sc inputScale) {
	nc := len(g.cols.samples)
	outW := len(g.cols.lo)
	for y := range g.rows.lo {
		top := g.rgb[int(g.rows.lo[y])*nc*3:]
		bot := g.rgb[int(g.rows.hi[y])*nc*3:]
		yl := g.rows.lerp[y]
		row := dst[y*outW*3 : (y+1)*outW*3]
		for x := range outW {
			l := int(g.cols.lo[x]) * 3
			r := int(g.cols.hi[x]) * 3
			xl := g.cols.lerp[x]
			for c := range 3 {
				tl, tr := float32(top[l+c]), float32(top[r+c])
				bl, br := float32(bot[l+c]), float32(bot[r+c])
				t := tl + float32((tr-tl)*xl)
				b := bl + float32((br-bl)*xl)
				v := t + float32((b-t)*yl)
				row[x*3+c] = float32(v/sc.div) + sc.add
			}
		}
	}
}
