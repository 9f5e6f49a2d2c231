package imageprep

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"

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
	// IgnoreOrientation leaves the stored pixels as they are instead of applying the EXIF
	// orientation, as TensorFlow's decoders do (for parity with a model's training pipeline).
	IgnoreOrientation bool
}

// Decode paths reported in Result.Path.
const (
	// PathExact is our JPEG decoder, pixel-identical to libjpeg-turbo.
	PathExact = "exact"
	// PathFast is our JPEG decoder's 1/8-scale DC image.
	PathFast = "fast"
	// PathStream is our streaming PNG decoder (non-interlaced PNG, rows never held whole).
	PathStream = "stream"
	// PathStdlib is a whole-image decode by the standard library or golang.org/x/image: JPEG
	// when Options.Stdlib asks for it, interlaced PNG, WebP, GIF and BMP.
	PathStdlib = "stdlib"
)

// Result describes a prepared image.
type Result struct {
	Header
	// Applied is the orientation applied before the resize: Header.Orientation, or 1 when
	// Options.IgnoreOrientation is set.
	Applied Orientation
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
	orient := hdr.Orientation
	if o.IgnoreOrientation || orient < 1 || orient > 8 {
		orient = 1
	}
	var g *grid
	switch hdr.Format {
	case FormatJPEG:
		g, res.Path, err = decodeJPEG(data, hdr, o, orient)
	case FormatPNG:
		g, res.Path, err = decodePNG(data, hdr, o, orient)
	case FormatWebP:
		g, err = decodeStd(data, hdr, o, orient, stdWebP)
		res.Path = PathStdlib
	case FormatGIF:
		g, err = decodeStd(data, hdr, o, orient, stdGIF)
		res.Path = PathStdlib
	case FormatBMP:
		g, err = decodeStd(data, hdr, o, orient, stdBMP)
		res.Path = PathStdlib
	}
	if err != nil {
		return res, err
	}
	res.Applied = orient
	g.resize(dst, sc)
	return res, nil
}

// uprightSize is the size of a w×h stored image once orientation o is applied.
func uprightSize(w, h int, o Orientation) (int, int) {
	if o.transposes() {
		return h, w
	}
	return w, h
}

// sampler writes the RGB values of the stored image at rows × cols (any order) into rgb.
type sampler func(rows, cols []int, rgb []uint8) error

// sampleOriented fills g, which is laid out over the upright image, by asking sample for the
// stored pixels that the upright grid shows; w×h is the stored size.
func sampleOriented(o Orientation, w, h int, g *grid, sample sampler) error {
	if o == 1 {
		return sample(g.rows.samples, g.cols.samples, g.rgb)
	}
	ur, uc := g.rows.samples, g.cols.samples
	var srows, scols []int
	if o.transposes() { // stored rows follow upright columns, stored columns upright rows
		for _, x := range uc {
			_, sy := o.sourceOf(x, 0, w, h)
			srows = append(srows, sy)
		}
		for _, y := range ur {
			sx, _ := o.sourceOf(0, y, w, h)
			scols = append(scols, sx)
		}
	} else {
		for _, y := range ur {
			_, sy := o.sourceOf(0, y, w, h)
			srows = append(srows, sy)
		}
		for _, x := range uc {
			sx, _ := o.sourceOf(x, 0, w, h)
			scols = append(scols, sx)
		}
	}
	buf := make([]uint8, len(srows)*len(scols)*3)
	if err := sample(srows, scols, buf); err != nil {
		return err
	}
	for i := range ur {
		for j := range uc {
			si, sj := i, j
			if o.transposes() {
				si, sj = j, i
			}
			copy(g.rgb[(i*len(uc)+j)*3:(i*len(uc)+j)*3+3], buf[(si*len(scols)+sj)*3:])
		}
	}
	return nil
}

// decodePNG streams non-interlaced PNGs row by row; interlaced ones are decoded whole.
func decodePNG(data []byte, hdr Header, o Options, orient Orientation) (*grid, string, error) {
	uw, uh := uprightSize(hdr.Width, hdr.Height, orient)
	g := newGrid(uw, uh, o.Width, o.Height)
	err := sampleOriented(orient, hdr.Width, hdr.Height, g, func(rows, cols []int, rgb []uint8) error {
		return samplePNG(data, rows, cols, rgb)
	})
	if errors.Is(err, errInterlaced) {
		g, err := decodeStd(data, hdr, o, orient, stdPNG)
		return g, PathStdlib, err
	}
	if err != nil {
		return nil, PathStream, decodeError("decoding png", err)
	}
	return g, PathStream, nil
}

// decodeStd decodes the whole image with a standard-library (or x/image) decoder and samples
// the resize grid from it.
func decodeStd(data []byte, hdr Header, o Options, orient Orientation, decode func(r *bytes.Reader) (image.Image, error)) (*grid, error) {
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
	uw, uh := uprightSize(hdr.Width, hdr.Height, orient)
	g := newGrid(uw, uh, o.Width, o.Height)
	_ = sampleOriented(orient, hdr.Width, hdr.Height, g, func(rows, cols []int, rgb []uint8) error {
		sampleImage(img, rows, cols, rgb)
		return nil
	})
	return g, nil
}

func stdJPEG(r *bytes.Reader) (image.Image, error) { return jpeg.Decode(r) }

func stdPNG(r *bytes.Reader) (image.Image, error) { return png.Decode(r) }

func stdWebP(r *bytes.Reader) (image.Image, error) { return webp.Decode(r) }

// stdGIF decodes the first frame on the GIF's canvas (what TensorFlow's decode_gif yields as
// frame 0): a frame smaller than the canvas is placed at its offset on a zero canvas.
func stdGIF(r *bytes.Reader) (image.Image, error) {
	cfg, err := gif.DecodeConfig(r)
	if err != nil {
		return nil, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	frame, err := gif.Decode(r)
	if err != nil {
		return nil, err
	}
	canvas := image.Rect(0, 0, cfg.Width, cfg.Height)
	if frame.Bounds() == canvas {
		return frame, nil
	}
	img := image.NewNRGBA(canvas)
	draw.Draw(img, frame.Bounds().Intersect(canvas), frame, frame.Bounds().Min, draw.Src)
	return img, nil
}

func stdBMP(r *bytes.Reader) (image.Image, error) { return bmp.Decode(r) }

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
	case FormatGIF:
		return bytes.HasSuffix(data, []byte{0x3B})
	}
	return true
}
