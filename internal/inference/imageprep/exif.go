package imageprep

import (
	"bytes"
	"encoding/binary"
)

// Orientation is an EXIF orientation (tag 0x0112): how the stored pixels must be transformed to
// be shown upright. 1 is upright; 2–8 mirror and/or rotate (see sourceOf).
type Orientation uint8

// transposes reports whether the upright image's rows are the stored image's columns.
func (o Orientation) transposes() bool { return o >= 5 && o <= 8 }

// sourceOf maps upright pixel (x, y) to the stored pixel it shows, for a stored image of w×h.
func (o Orientation) sourceOf(x, y, w, h int) (int, int) {
	switch o {
	case 2: // mirrored left-right
		return w - 1 - x, y
	case 3: // rotated 180°
		return w - 1 - x, h - 1 - y
	case 4: // mirrored top-bottom
		return x, h - 1 - y
	case 5: // transposed: stored row 0 is the left column, stored column 0 the top row
		return y, x
	case 6: // stored row 0 is the right column (the camera was turned 90° clockwise)
		return y, h - 1 - x
	case 7: // transversed: stored row 0 is the right column, stored column 0 the bottom row
		return w - 1 - y, h - 1 - x
	case 8: // stored row 0 is the left column, stored column 0 the bottom row
		return w - 1 - y, x
	}
	return x, y
}

// exifOrientation reads the orientation tag from IFD0 of a TIFF-structured EXIF block (with or
// without the "Exif\0\0" prefix). Anything missing or malformed reads as upright: orientation is
// a hint, never a reason to refuse a photo.
func exifOrientation(b []byte) Orientation {
	b = bytes.TrimPrefix(b, []byte("Exif\x00\x00"))
	if len(b) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(b[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 1
	}
	ifd := int(bo.Uint32(b[4:8]))
	if ifd < 8 || ifd+2 > len(b) {
		return 1
	}
	n := int(bo.Uint16(b[ifd:]))
	for i := range n {
		e := ifd + 2 + 12*i
		if e+12 > len(b) {
			break
		}
		// Tag 0x0112, type SHORT (3), count 1: the value sits in the first two bytes of the field.
		if bo.Uint16(b[e:]) == 0x0112 && bo.Uint16(b[e+2:]) == 3 && bo.Uint32(b[e+4:]) == 1 {
			if v := bo.Uint16(b[e+8:]); v >= 1 && v <= 8 {
				return Orientation(v)
			}
			return 1
		}
	}
	return 1
}

// jpegOrientation finds the first APP1 Exif segment before the first frame header.
func jpegOrientation(data []byte) Orientation {
	p := 2
	for p+4 <= len(data) {
		if data[p] != 0xFF {
			return 1
		}
		m := data[p+1]
		switch {
		case m == 0xFF:
			p++
			continue
		case m == 0xD8 || m == 0x01 || m >= 0xD0 && m <= 0xD7:
			p += 2
			continue
		case m == 0xDA || m == 0xD9 || m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			return 1 // a scan or frame: EXIF comes before these
		}
		n := int(data[p+2])<<8 | int(data[p+3])
		if n < 2 || p+2+n > len(data) {
			return 1
		}
		if seg := data[p+4 : p+2+n]; m == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00")) {
			return exifOrientation(seg[6:])
		}
		p += 2 + n
	}
	return 1
}

// pngOrientation reads an eXIf chunk placed before the image data.
func pngOrientation(data []byte) Orientation {
	p := 8
	for p+8 <= len(data) {
		n := int(binary.BigEndian.Uint32(data[p:]))
		typ := string(data[p+4 : p+8])
		if n < 0 || n > len(data)-p-12 || typ == "IDAT" {
			return 1
		}
		if typ == "eXIf" {
			return exifOrientation(data[p+8 : p+8+n])
		}
		p += 12 + n
	}
	return 1
}

// webpOrientation reads the EXIF chunk of an extended (VP8X) WebP.
func webpOrientation(data []byte) Orientation {
	p := 12
	for p+8 <= len(data) {
		n := int(binary.LittleEndian.Uint32(data[p+4:]))
		if n < 0 || n > len(data)-p-8 {
			return 1
		}
		if string(data[p:p+4]) == "EXIF" {
			return exifOrientation(data[p+8 : p+8+n])
		}
		p += 8 + n + n&1
	}
	return 1
}
