package imageprep

import (
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
)

// A streaming PNG decoder for non-interlaced images: it inflates and unfilters one row at a
// time, keeping only the current and previous row, and converts the pixels the resize reads.
// Its RGB values are image/png's with TensorFlow's channels=3 rules (as sampleImage applies
// them): grey replicated, low bit depths scaled to 8 bits, 16-bit samples' high byte, palette
// indices beyond the palette black, alpha and tRNS ignored.

// errInterlaced says the PNG is Adam7-interlaced: rows arrive in seven passes, so the caller
// decodes it whole instead.
var errInterlaced = errors.New("interlaced PNG")

// pngFormatError is an invalid PNG.
type pngFormatError string

func (e pngFormatError) Error() string { return "invalid png: " + string(e) }

type pngChunks struct {
	data []byte
	pos  int
}

// next returns the next chunk's type and payload after checking its CRC.
func (c *pngChunks) next() (string, []byte, error) {
	if c.pos+8 > len(c.data) {
		return "", nil, io.ErrUnexpectedEOF
	}
	n := binary.BigEndian.Uint32(c.data[c.pos:])
	if n > 0x7fffffff || int(n) > len(c.data)-c.pos-12 {
		if n > 0x7fffffff {
			return "", nil, pngFormatError("chunk length")
		}
		return "", nil, io.ErrUnexpectedEOF
	}
	body := c.data[c.pos+4 : c.pos+8+int(n)]
	if crc32.ChecksumIEEE(body) != binary.BigEndian.Uint32(c.data[c.pos+8+int(n):]) {
		return "", nil, pngFormatError("chunk checksum")
	}
	c.pos += 12 + int(n)
	return string(body[:4]), body[4:], nil
}

// peek returns the type of the next chunk without consuming it.
func (c *pngChunks) peek() string {
	if c.pos+8 > len(c.data) {
		return ""
	}
	return string(c.data[c.pos+4 : c.pos+8])
}

// idatReader concatenates the payloads of consecutive IDAT chunks.
type idatReader struct {
	chunks *pngChunks
	cur    []byte
	err    error
}

func (r *idatReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.chunks.peek() != "IDAT" {
			return 0, io.EOF
		}
		_, r.cur, r.err = r.chunks.next()
		if r.err != nil {
			return 0, r.err
		}
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

type pngHeader struct {
	width, height int
	depth, colour uint8
	interlaced    bool
	channels      int
}

func parseIHDR(p []byte) (pngHeader, error) {
	if len(p) != 13 {
		return pngHeader{}, pngFormatError("IHDR length")
	}
	h := pngHeader{width: int(binary.BigEndian.Uint32(p)), height: int(binary.BigEndian.Uint32(p[4:])),
		depth: p[8], colour: p[9], interlaced: p[12] == 1}
	if p[10] != 0 || p[11] != 0 || p[12] > 1 {
		return h, pngFormatError("IHDR compression, filter or interlace method")
	}
	if h.width <= 0 || h.height <= 0 || h.width > 0x7fffffff || h.height > 0x7fffffff {
		return h, pngFormatError("IHDR dimensions")
	}
	depths := map[uint8][]uint8{0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}
	ok, known := depths[h.colour]
	if !known || !slices.Contains(ok, h.depth) {
		return h, pngFormatError(fmt.Sprintf("colour type %d with bit depth %d", h.colour, h.depth))
	}
	h.channels = map[uint8]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[h.colour]
	return h, nil
}

// samplePNG decodes a non-interlaced PNG and writes the RGB values at rows × cols (any order,
// each within the image) into rgb, row-major. It returns errInterlaced for interlaced files.
func samplePNG(data []byte, rows, cols []int, rgb []uint8) error {
	c := &pngChunks{data: data, pos: 8}
	typ, p, err := c.next()
	if err != nil {
		return err
	}
	if typ != "IHDR" {
		return pngFormatError("first chunk is not IHDR")
	}
	h, err := parseIHDR(p)
	if err != nil {
		return err
	}
	if h.interlaced {
		return errInterlaced
	}
	var palette []byte
	for c.peek() != "IDAT" {
		typ, p, err := c.next()
		if err != nil {
			return err
		}
		switch typ {
		case "PLTE":
			if len(p)%3 != 0 || len(p) == 0 || len(p) > 3*256 {
				return pngFormatError("PLTE length")
			}
			if h.colour == 0 || h.colour == 4 {
				return pngFormatError("PLTE for a grey image")
			}
			palette = p
		case "tRNS":
			// Transparency only sets alpha, which channels=3 drops; check it as image/png does.
			if h.colour == 4 || h.colour == 6 || h.colour == 0 && len(p) != 2 || h.colour == 2 && len(p) != 6 ||
				h.colour == 3 && len(p) > len(palette)/3 {
				return pngFormatError("tRNS")
			}
		case "IEND":
			return pngFormatError("no image data")
		}
	}
	if h.colour == 3 && palette == nil {
		return pngFormatError("missing palette")
	}
	zr, err := zlib.NewReader(&idatReader{chunks: c})
	if err != nil {
		return pngEOF(err)
	}
	defer zr.Close()

	// Needed rows in stream order, each with its index in rows.
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return rows[a] - rows[b] })
	bitsPP := int(h.depth) * h.channels
	rowBytes := (h.width*bitsPP + 7) / 8
	bpp := max(1, bitsPP/8)
	cur, prev := make([]byte, 1+rowBytes), make([]byte, 1+rowBytes)
	next := 0
	for y := range h.height {
		if _, err := io.ReadFull(zr, cur); err != nil {
			return pngEOF(err)
		}
		if err := unfilter(cur[0], cur[1:], prev[1:], bpp); err != nil {
			return err
		}
		for next < len(order) && rows[order[next]] == y {
			i := order[next]
			h.convertRow(cur[1:], palette, cols, rgb[i*len(cols)*3:(i+1)*len(cols)*3])
			next++
		}
		cur, prev = prev, cur
	}
	// The zlib stream must end here (which also verifies its checksum), then the file at IEND.
	if n, err := zr.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		if n != 0 || err == nil {
			return pngFormatError("too much pixel data")
		}
		return pngEOF(err)
	}
	for {
		typ, _, err := c.next()
		if err != nil {
			return err
		}
		if typ == "IEND" {
			return nil
		}
	}
}

// pngEOF reports a stream that ends early as truncation.
func pngEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func unfilter(f byte, cur, prev []byte, bpp int) error {
	switch f {
	case 0:
	case 1: // Sub
		for i := bpp; i < len(cur); i++ {
			cur[i] += cur[i-bpp]
		}
	case 2: // Up
		for i := range cur {
			cur[i] += prev[i]
		}
	case 3: // Average
		for i := range bpp {
			cur[i] += prev[i] / 2
		}
		for i := bpp; i < len(cur); i++ {
			cur[i] += uint8((int(cur[i-bpp]) + int(prev[i])) / 2)
		}
	case 4: // Paeth
		for i := range cur {
			var a, c int
			if i >= bpp {
				a, c = int(cur[i-bpp]), int(prev[i-bpp])
			}
			cur[i] += paeth(a, int(prev[i]), c)
		}
	default:
		return pngFormatError("bad filter type")
	}
	return nil
}

func paeth(a, b, c int) uint8 {
	p := a + b - c
	pa, pb, pc := abs(p-a), abs(p-b), abs(p-c)
	switch {
	case pa <= pb && pa <= pc:
		return uint8(a)
	case pb <= pc:
		return uint8(b)
	}
	return uint8(c)
}

func abs(v int) int { return max(v, -v) }

// convertRow writes the RGB values of the pixels at cols of one unfiltered row.
func (h *pngHeader) convertRow(row, palette []byte, cols []int, out []uint8) {
	d := int(h.depth)
	for j, x := range cols {
		var r, g, b uint8
		switch {
		case d < 8: // grey or palette index, packed from the most significant bit
			bit := x * d
			v := int(row[bit/8]>>(8-d-bit%8)) & (1<<d - 1)
			if h.colour == 3 {
				r, g, b = paletteRGB(palette, v)
			} else {
				r = uint8(v * 255 / (1<<d - 1))
				g, b = r, r
			}
		case h.colour == 3:
			r, g, b = paletteRGB(palette, int(row[x]))
		default:
			step := d / 8 // bytes per sample; the first is the high byte
			px := row[x*h.channels*step:]
			switch h.colour {
			case 0, 4:
				r = px[0]
				g, b = r, r
			default:
				r, g, b = px[0], px[step], px[2*step]
			}
		}
		out[3*j], out[3*j+1], out[3*j+2] = r, g, b
	}
}

// paletteRGB is palette entry i, or opaque black beyond the palette (as image/png reads it).
func paletteRGB(p []byte, i int) (uint8, uint8, uint8) {
	if 3*i+2 >= len(p) {
		return 0, 0, 0
	}
	return p[3*i], p[3*i+1], p[3*i+2]
}
