package imageprep

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"strings"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"

	"github.com/cspipe/cspipe/internal/inference/jpegdec"
	"github.com/cspipe/cspipe/internal/records"
)

// Format names a sniffed image format.
type Format string

// Formats recognised by Sniff. JPEG, PNG, WebP, GIF and BMP are decoded; the others are refused
// with advice on converting them.
const (
	FormatJPEG    Format = "jpeg"
	FormatPNG     Format = "png"
	FormatGIF     Format = "gif"
	FormatWebP    Format = "webp"
	FormatBMP     Format = "bmp"
	FormatTIFF    Format = "tiff"
	FormatHEIC    Format = "heic"
	FormatAVIF    Format = "avif"
	FormatJXL     Format = "jxl"
	FormatUnknown Format = ""
)

// Sniff names the format of data from its leading bytes (never from a file name).
func Sniff(data []byte) Format {
	switch {
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		return FormatJPEG
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return FormatGIF
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return FormatWebP
	case bytes.HasPrefix(data, []byte("BM")) && len(data) >= 26:
		return FormatBMP
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return FormatTIFF
	case bytes.HasPrefix(data, []byte("\xff\x0a")), bytes.HasPrefix(data, []byte("\x00\x00\x00\x0cJXL \x0d\x0a\x87\x0a")):
		return FormatJXL
	case len(data) >= 12 && string(data[4:8]) == "ftyp":
		// ISO base media file: the major brand (and, failing that, the compatible brands) says
		// which image codec is inside.
		n := min(int(binary.BigEndian.Uint32(data)), len(data))
		for i := 8; i+4 <= n; i += 4 {
			switch string(data[i : i+4]) {
			case "avif", "avis":
				return FormatAVIF
			case "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1":
				return FormatHEIC
			}
		}
	}
	return FormatUnknown
}

// conversionAdvice says how to turn a refused format into one we decode.
var conversionAdvice = map[Format]string{
	FormatHEIC: "convert it to JPEG first (iPhone: Settings > Camera > Formats > Most Compatible, or `heif-convert photo.heic photo.jpg`)",
	FormatAVIF: "convert it to JPEG or PNG first (e.g. `avifdec photo.avif photo.png`)",
	FormatTIFF: "convert it to PNG or JPEG first (e.g. `tiff2png`, or any image editor's export)",
	FormatJXL:  "convert it to JPEG or PNG first (e.g. `djxl photo.jxl photo.png`)",
}

// Error is a per-image failure; Code is one of the records.Err* codes.
type Error struct {
	Code string
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// decodeError maps a decoder error to a per-image error code.
func decodeError(what string, err error) *Error {
	var ie *Error
	if errors.As(err, &ie) {
		return ie
	}
	code := records.ErrDecode
	var ju jpeg.UnsupportedError
	var pu png.UnsupportedError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		code = records.ErrTruncated
	case errors.As(err, &ju), errors.As(err, &pu), errors.Is(err, jpegdec.ErrUnsupported):
		code = records.ErrUnsupported
	}
	if errors.Is(err, jpegdec.ErrUnsupported) {
		return &Error{Code: code, Err: fmt.Errorf("%s: %w (TensorFlow's libjpeg-turbo refuses it too): re-encode it as an ordinary 8-bit JPEG or a PNG", what, err)}
	}
	return &Error{Code: code, Err: fmt.Errorf("%s: %w", what, err)}
}

// Header is what an image declares before its pixels.
type Header struct {
	Format        Format
	Width, Height int
	// Orientation is the EXIF orientation (1 when absent); Width and Height are the stored
	// image's, before it is applied.
	Orientation Orientation
}

// ReadHeader sniffs data and reads the declared dimensions and EXIF orientation without
// decoding pixels. Errors are *Error with the matching code.
func ReadHeader(data []byte) (Header, error) {
	if len(data) == 0 {
		return Header{}, &Error{Code: records.ErrEmpty, Err: errors.New("image has no bytes")}
	}
	f := Sniff(data)
	var cfg image.Config
	var err error
	orient := Orientation(1)
	switch f {
	case FormatJPEG:
		cfg.Width, cfg.Height, err = jpegdec.Config(data)
		orient = jpegOrientation(data)
	case FormatPNG:
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
		orient = pngOrientation(data)
	case FormatWebP:
		cfg, err = webp.DecodeConfig(bytes.NewReader(data))
		orient = webpOrientation(data)
	case FormatGIF:
		cfg, err = gif.DecodeConfig(bytes.NewReader(data))
	case FormatBMP:
		cfg, err = bmp.DecodeConfig(bytes.NewReader(data))
	case FormatUnknown:
		return Header{}, &Error{Code: records.ErrNotAnImage, Err: errors.New("bytes are not a known image format (JPEG, PNG, WebP, GIF or BMP)")}
	default:
		return Header{Format: f}, &Error{Code: records.ErrUnsupported,
			Err: fmt.Errorf("%s images are not supported: %s", strings.ToUpper(string(f)), conversionAdvice[f])}
	}
	if err != nil {
		return Header{Format: f}, decodeError("reading "+string(f)+" header", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Header{Format: f}, &Error{Code: records.ErrDecode, Err: fmt.Errorf("%s header declares %dx%d", f, cfg.Width, cfg.Height)}
	}
	return Header{Format: f, Width: cfg.Width, Height: cfg.Height, Orientation: orient}, nil
}
