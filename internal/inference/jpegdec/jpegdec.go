// Package jpegdec is a JPEG decoder built for resizing photos down to a model's input. Instead of
// a full image it produces the RGB values at a given set of pixel rows and columns (what a
// bilinear resize reads), or a 1/8-scale image made of the blocks' DC coefficients.
//
// It entropy-decodes every scan (baseline, extended and progressive, Huffman or arithmetic
// coded, restart intervals anywhere) but keeps coefficients only for the blocks that contain a
// requested pixel; for the others it keeps a 64-bit mask of non-zero coefficients, which
// progressive refinement scans need. The inverse DCT and colour conversion run only for
// requested pixels. Memory is therefore about 10 bytes per 8×8 block plus the kept blocks,
// instead of a full coefficient buffer and a full image. In DC mode the AC scans of progressive
// files are skipped without decoding.
//
// Where the time goes on large progressive photos is the entropy decoding of the refinement
// scans, which no output can skip. For blocks that are not kept, a refinement symbol's target
// is found on the non-zero mask (short runs in branch-free steps, long ones by a select) and
// the correction bits it passes are dropped as one count; kept blocks take their correction
// bits up to 32 at a time. Values close to random (DC difference sizes, signs, short runs,
// which coefficients are non-zero) are handled without branches, and the hot loops keep the
// bit buffer in locals and refill it inline. On amd64 with BMI2, the AC scans of progressive
// files (first passes and refinements, kept blocks or not) run in assembly a block row at a
// time (refine_amd64.s, first_amd64.s: PDEP finds a refinement symbol's target for any run);
// it takes the usual symbols and hands anything else (stuffed bytes, markers, long codes,
// invalid data) back to the Go loops at a symbol boundary, so errors and the reader's state
// are the Go code's, which stays the portable path and the reference the tests compare the
// assembly with. BenchmarkSamplePhotos and BenchmarkExactVsDjpeg measure this on the sample
// photos; scripts/jpegdec-ab.sh compares two revisions. The islow
// inverse DCT is evaluated only at the requested samples, as exact integer dot products over a
// block's non-zero coefficients (see planeISLOW), which is bit for bit libjpeg's butterfly.
//
// Two output modes. ModeLibjpeg reproduces libjpeg-turbo at its default settings, the decoder
// behind TensorFlow's decode_jpeg, bit for bit: its integer "islow" inverse DCT, its upsampler
// choice per component (triangle-filter "fancy" interpolation for exactly 2:1 ratios, with the
// same edge handling and rounding; replication for 3:1, 4:1 and other integral ratios) and its
// colour conversions. The tests check this against djpeg on every pixel of files cjpeg writes
// in each layout. ModeStdlib reproduces Go's image/jpeg up to inverse-DCT rounding: chroma
// replicated, image/color's conversion.
//
// Supported: 8-bit sequential and progressive JPEGs, Huffman or arithmetic coded, with one
// (grey), three (YCbCr or RGB, chosen from the JFIF/Adobe markers and component ids as libjpeg
// chooses) or four (CMYK or YCCK) components, any sampling factors 1–4 whose ratios to the
// largest are integral, in interleaved, partly interleaved or single-component scans. CMYK is
// converted to RGB as djpeg does for PPM output (each channel ink·K/255, rounded; Adobe-style
// inverted CMYK). Errors wrapping ErrUnsupported are what libjpeg-turbo 2.1 refuses too:
// 12-bit samples, lossless and hierarchical frames, fractional sampling ratios, two components.
package jpegdec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrUnsupported is wrapped by errors for valid files this decoder does not handle.
var ErrUnsupported = errors.New("jpeg feature not supported by this decoder")

// FormatError is an invalid file.
type FormatError string

func (e FormatError) Error() string { return "invalid jpeg: " + string(e) }

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, args...)...)
}

type component struct {
	id     uint8
	h, v   int // sampling factors
	tq     uint8
	bw, bh int // blocks per line and lines in the MCU-padded grid
	// dc holds every block's DC coefficient (not dequantised).
	dc []int32
	// nz holds every block's mask of non-zero coefficients (bit k: zig-zag index k); progressive only.
	nz []uint64
	// keptRow/keptCol map a block row/column to its slot among kept blocks, or -1.
	keptRow, keptCol []int32
	nkr, nkc         int
	coef             []int16 // kept blocks, 64 coefficients each in natural order
	// cw, ch are the component's size in samples (in blocks in DC mode); rows and cols the
	// sample coordinates the output needs, values the samples there (rows × cols).
	cw, ch     int
	rows, cols axis
	values     []uint8
}

// decoder holds the state of one decode.
type decoder struct {
	data          []byte
	pos           int
	width, height int
	progressive   bool
	comps         []component
	hmax, vmax    int
	mcusX, mcusY  int
	quant         [4][64]uint16 // natural order
	quantSet      [4]bool
	dcHuff        [4]huffTable
	acHuff        [4]huffTable
	restart       int
	adobe         bool
	adobeXform    uint8
	jfif          bool
	colour        colourSpace // decided at the first scan, as libjpeg does
	dcOnly        bool
	mode          Mode
	sawFrame      bool
	eobrun        int
	br            bitReader
	// Arithmetic coding (SOF9/SOF10): conditioning values from DAC markers and the coder.
	arith    bool
	dcL, dcU [4]uint8
	acK      [4]uint8
	ar       arithReader
	scratch  [64]int16 // coefficients of a block that is decoded but not kept
}

// Config returns the dimensions declared by the frame header.
func Config(data []byte) (width, height int, err error) {
	d := newDecoder(data, false, ModeLibjpeg)
	if err := d.readUntilFrame(); err != nil {
		return 0, 0, err
	}
	return d.width, d.height, nil
}

func newDecoder(data []byte, dcOnly bool, mode Mode) *decoder {
	d := &decoder{data: data, dcOnly: dcOnly, mode: mode}
	for i := range d.dcU {
		d.dcU[i], d.acK[i] = 1, 5 // T.81 defaults: L = 0, U = 1, Kx = 5
	}
	return d
}

func (d *decoder) u16(at int) int { return int(d.data[at])<<8 | int(d.data[at+1]) }

// nextMarker reads the marker at d.pos, skipping fill bytes; it returns the marker byte.
// Bytes before the marker (the rest of an entropy-coded segment, or junk) are skipped, as
// libjpeg does; stuffed 0xFF00 pairs are not markers.
func (d *decoder) nextMarker() (byte, error) {
	for {
		i := bytes.IndexByte(d.data[d.pos:], 0xFF)
		if i < 0 {
			junk := d.pos < len(d.data)
			d.pos = len(d.data)
			if junk && !d.sawFrame {
				// Before the frame header there is no entropy-coded data a cut could fall in.
				return 0, FormatError("bytes that are not a marker before the frame header")
			}
			return 0, io.ErrUnexpectedEOF
		}
		d.pos += i
		for d.pos < len(d.data) && d.data[d.pos] == 0xFF {
			d.pos++
		}
		if d.pos >= len(d.data) {
			return 0, io.ErrUnexpectedEOF
		}
		m := d.data[d.pos]
		d.pos++
		if m != 0 {
			return m, nil
		}
	}
}

// segment returns the payload of the length-prefixed segment at d.pos and moves past it.
func (d *decoder) segment() ([]byte, error) {
	if d.pos+2 > len(d.data) {
		return nil, io.ErrUnexpectedEOF
	}
	n := d.u16(d.pos)
	if n < 2 {
		return nil, FormatError("segment length")
	}
	if d.pos+n > len(d.data) {
		return nil, io.ErrUnexpectedEOF
	}
	p := d.data[d.pos+2 : d.pos+n]
	d.pos += n
	return p, nil
}

func (d *decoder) readUntilFrame() error {
	if len(d.data) < 2 || d.data[0] != 0xFF || d.data[1] != 0xD8 {
		return FormatError("missing SOI")
	}
	d.pos = 2
	for !d.sawFrame {
		if _, err := d.step(); err != nil {
			return err
		}
	}
	return nil
}

// step handles one marker segment; it reports whether EOI was reached.
func (d *decoder) step() (bool, error) {
	m, err := d.nextMarker()
	if err != nil {
		return false, err
	}
	switch {
	case m == 0xD9: // EOI
		return true, nil
	case m == 0xD8 || m >= 0xD0 && m <= 0xD7 || m == 0x01:
		return false, nil // stray SOI/RST/TEM: no payload
	}
	p, err := d.segment()
	if err != nil {
		return false, err
	}
	switch {
	case m == 0xC0 || m == 0xC1 || m == 0xC2 || m == 0xC9 || m == 0xCA:
		if d.sawFrame {
			return false, FormatError("second frame header")
		}
		d.arith = m >= 0xC9
		return false, d.parseFrame(p, m == 0xC2 || m == 0xCA)
	case m == 0xC4:
		return false, d.parseDHT(p)
	case m == 0xDB:
		return false, d.parseDQT(p)
	case m == 0xDD:
		if len(p) < 2 {
			return false, FormatError("DRI length")
		}
		d.restart = int(p[0])<<8 | int(p[1])
	case m == 0xDA:
		if !d.sawFrame {
			return false, FormatError("scan before frame")
		}
		if d.colour == colourUnset {
			d.colour = d.colourSpace()
		}
		return false, d.scan(p)
	case m == 0xE0:
		if len(p) >= 14 && string(p[:5]) == "JFIF\x00" {
			d.jfif = true
		}
	case m == 0xEE:
		if len(p) >= 12 && string(p[:5]) == "Adobe" {
			d.adobe, d.adobeXform = true, p[11]
		}
	case m == 0xC3 || m == 0xCB:
		return false, unsupported("lossless JPEG (SOF%d)", m-0xC0)
	case m >= 0xC5 && m <= 0xCF && m != 0xC8 && m != 0xCC:
		return false, unsupported("hierarchical JPEG (SOF%d)", m-0xC0)
	case m == 0xCC:
		return false, d.parseDAC(p)
	}
	return false, nil // APPn, COM and others are skipped
}
