package imageprep

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"

	"github.com/cspipe/cspipe/internal/records"
)

// DefaultMaxPixels is the pixel limit when Options.MaxPixels is zero.
const DefaultMaxPixels = 100_000_000

// Options say what tensor Prepare produces and how it decodes.
type Options struct {
	// Width and Height are the model's input size.
	Width, Height int
	// InputRange is "0,1" (default), "-1,1", or "0,255" (the codelab's Python behaviour).
	InputRange string
	// Fast decodes large JPEGs at 1/8 scale (DC coefficients only) when that is still at least
	// the model's input size. Results differ slightly from the exact path (see the package doc).
	Fast bool
	// MaxPixels refuses images whose header declares more pixels; 0 means DefaultMaxPixels.
	MaxPixels int64
	// Stdlib decodes JPEG with the standard library's image/jpeg instead of our decoder.
	Stdlib bool
}

// Decode paths reported in Result.Path.
const (
	PathExact  = "exact"
	PathFast   = "fast"
	PathStdlib = "stdlib"
)

// Result describes a prepared image.
type Result struct {
	Header
	// Path is the decode path that produced the pixels (PathExact, PathFast or PathStdlib).
	Path string
}

// TensorLen is the number of float32 values Prepare writes for o.
func (o Options) TensorLen() int { return o.Width * o.Height * 3 }

// Prepare decodes data, resizes it to o.Width×o.Height and writes the HWC float32 tensor into
// dst, which must have o.TensorLen() elements. Per-image failures are *Error values carrying a
// records.Err* code; a bad Options value is a plain error.
func Prepare(data []byte, o Options, dst []float32) (Result, error) {
	if o.Width <= 0 || o.Height <= 0 {
		return Result{}, fmt.Errorf("target size %dx%d must be positive", o.Width, o.Height)
	}
	if len(dst) != o.TensorLen() {
		return Result{}, fmt.Errorf("tensor has %d values, want %d", len(dst), o.TensorLen())
	}
	sc, err := parseInputRange(o.InputRange)
	if err != nil {
		return Result{}, err
	}
	hdr, err := ReadHeader(data)
	if err != nil {
		return Result{Header: hdr}, err
	}
	limit := o.MaxPixels
	if limit <= 0 {
		limit = DefaultMaxPixels
	}
	if px := int64(hdr.Width) * int64(hdr.Height); px > limit {
		return Result{Header: hdr}, &Error{Code: records.ErrTooLarge,
			Err: fmt.Errorf("image is %dx%d (%d pixels), limit is %d", hdr.Width, hdr.Height, px, limit)}
	}
	res := Result{Header: hdr}
	var g *grid
	switch hdr.Format {
	case FormatJPEG:
		g, res.Path, err = decodeJPEG(data, hdr, o)
	case FormatPNG:
		g, err = decodeStd(data, hdr, o, stdPNG)
		res.Path = PathStdlib
	}
	if err != nil {
		return res, err
	}
	g.resize(dst, sc)
	return res, nil
}

// decodeStd decodes with a standard-library decoder and samples the resize grid from it.
func decodeStd(data []byte, hdr Header, o Options, decode func(r *bytes.Reader) (image.Image, error)) (*grid, error) {
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		e := decodeError("decoding "+string(hdr.Format), err)
		if e.Code == records.ErrDecode && !hasEndMarker(hdr.Format, data) {
			e.Code = records.ErrTruncated
		}
		return nil, e
	}
	b := img.Bounds()
	if b.Dx() != hdr.Width || b.Dy() != hdr.Height {
		return nil, &Error{Code: records.ErrDecode, Err: fmt.Errorf("decoded size %v differs from header %dx%d", b.Size(), hdr.Width, hdr.Height)}
	}
	g := newGrid(hdr.Width, hdr.Height, o.Width, o.Height)
	sampleImage(img, g)
	return g, nil
}

func stdJPEG(r *bytes.Reader) (image.Image, error) { return jpeg.Decode(r) }

func stdPNG(r *bytes.Reader) (image.Image, error) { return png.Decode(r) }

// hasEndMarker reports whether data ends with its format's end marker (JPEG EOI, PNG IEND
// chunk). A decode failure in a file without one is reported as truncated.
func hasEndMarker(f Format, data []byte) bool {
	switch f {
	case FormatJPEG:
		// Some writers append bytes after EOI; look for it near the end.
		tail := data[max(0, len(data)-1024):]
		return bytes.Contains(tail, []byte{0xFF, 0xD9})
	case FormatPNG:
		return bytes.HasSuffix(data, []byte("IEND\xaeB`\x82"))
	}
	return true
}
