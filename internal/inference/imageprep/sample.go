package imageprep

import (
	"image"
	"image/color"
)

// sampleImage writes the RGB values of a decoded image at rows × cols into rgb, the way
// TensorFlow's decoders with channels=3 produce them: alpha is dropped (non-premultiplied
// colour kept), grey is replicated, 16-bit samples keep their high byte.
func sampleImage(img image.Image, rows, cols []int, rgb []uint8) {
	b := img.Bounds()
	i := 0
	for _, sy := range rows {
		y := b.Min.Y + sy
		for _, sx := range cols {
			x := b.Min.X + sx
			rgb[i], rgb[i+1], rgb[i+2] = pixelRGB(img, x, y)
			i += 3
		}
	}
}

func pixelRGB(img image.Image, x, y int) (r, g, b uint8) {
	switch m := img.(type) {
	case *image.YCbCr:
		c := m.YCbCrAt(x, y)
		return color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
	case *image.Gray:
		v := m.GrayAt(x, y).Y
		return v, v, v
	case *image.Gray16:
		v := uint8(m.Gray16At(x, y).Y >> 8)
		return v, v, v
	case *image.NRGBA:
		c := m.NRGBAAt(x, y)
		return c.R, c.G, c.B
	case *image.NRGBA64:
		c := m.NRGBA64At(x, y)
		return uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8)
	case *image.Paletted:
		c := color.NRGBAModel.Convert(m.At(x, y)).(color.NRGBA)
		return c.R, c.G, c.B
	case *image.CMYK:
		c := m.CMYKAt(x, y)
		return color.CMYKToRGB(c.C, c.M, c.Y, c.K)
	}
	// Premultiplied or other models: undo the premultiplication so alpha is dropped, not composited.
	c := color.NRGBA64Model.Convert(img.At(x, y)).(color.NRGBA64)
	return uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8)
}
