package jpegdec

import "image/color"

// colourSpace is how a frame's components map to colour, decided as libjpeg decides it.
type colourSpace uint8

const (
	colourUnset colourSpace = iota
	colourGrey
	colourYCbCr
	colourRGB
	colourCMYK
	colourYCCK
)

// colourSpace follows libjpeg's default_decompress_parms: three components are YCbCr when a
// JFIF marker is present, RGB when an Adobe marker says transform 0 or (without either marker)
// the component ids spell "RGB", YCbCr otherwise; four components are YCCK when an Adobe marker
// says transform 2 (or any non-zero value), CMYK otherwise.
func (d *decoder) colourSpace() colourSpace {
	switch len(d.comps) {
	case 1:
		return colourGrey
	case 3:
		switch {
		case d.jfif:
			return colourYCbCr
		case d.adobe:
			if d.adobeXform == 0 {
				return colourRGB
			}
			return colourYCbCr
		case d.comps[0].id == 'R' && d.comps[1].id == 'G' && d.comps[2].id == 'B':
			return colourRGB
		}
		return colourYCbCr
	case 4:
		if d.adobe && d.adobeXform != 0 {
			return colourYCCK
		}
		return colourCMYK
	}
	return colourUnset
}

// cmykToRGB is djpeg's conversion of (Adobe-style, inverted) CMYK to RGB for PPM output:
// each channel is round(ink·K/255). As integers: floor((2·c·k + 255) / 510); no value falls on a
// tie, so this equals libjpeg-turbo's double-precision rounding.
func cmykToRGB(c, m, y, k uint8) (uint8, uint8, uint8) {
	f := func(v uint8) uint8 { return uint8((2*int(v)*int(k) + 255) / 510) }
	return f(c), f(m), f(y)
}

// pixel converts one pixel's component samples to RGB in the decoder's colour space.
func (d *decoder) pixel(s [4]uint8) (uint8, uint8, uint8) {
	ycc := color.YCbCrToRGB
	if d.mode == ModeLibjpeg {
		ycc = ycbcrToRGBLibjpeg
	}
	switch d.colour {
	case colourGrey:
		return s[0], s[0], s[0]
	case colourRGB:
		return s[0], s[1], s[2]
	case colourCMYK:
		return cmykToRGB(s[0], s[1], s[2], s[3])
	case colourYCCK:
		// libjpeg converts YCC to RGB and inverts it, giving CMYK; K passes through.
		r, g, b := ycc(s[0], s[1], s[2])
		return cmykToRGB(255-r, 255-g, 255-b, s[3])
	}
	return ycc(s[0], s[1], s[2])
}
