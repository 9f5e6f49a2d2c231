package imageprep

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"

	"github.com/cspipe/cspipe/internal/records"
)

// Format names a sniffed image format.
type Format string

// Formats recognised by Sniff. Only JPEG and PNG are decoded.
const (
	FormatJPEG    Format = "jpeg"
	FormatPNG     Format = "png"
	FormatGIF     Format = "gif"
	FormatWebP    Format = "webp"
	FormatBMP     Format = "bmp"
	FormatTIFF    Format = "tiff"
	FormatUnknown Format = ""
)

// Sniff names the format of data from its leading bytes.
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
	}
	return FormatUnknown
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
	case errors.As(err, &ju), errors.As(err, &pu):
		code = records.ErrUnsupported
	}
	return &Error{Code: code, Err: fmt.Errorf("%s: %w", what, err)}
}

// Header is what an image declares before its pixels.
type Header struct {
	Format        Format
	Width, Height int
}

// ReadHeader sniffs data and reads the declared dimensions without decoding pixels. Errors are
// *Error with the matching code.
func ReadHeader(data []byte) (Header, error) {
	if len(data) == 0 {
		return Header{}, &Error{Code: records.ErrEmpty, Err: errors.New("image has no bytes")}
	}
	f := Sniff(data)
	var cfg image.Config
	var err error
	switch f {
	case FormatJPEG:
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	case FormatPNG:
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	case FormatUnknown:
		return Header{}, &Error{Code: records.ErrNotAnImage, Err: errors.New("bytes are not a known image format")}
	default:
		return Header{Format: f}, &Error{Code: records.ErrUnsupported, Err: fmt.Errorf("%s images are not supported (only JPEG and PNG)", f)}
	}
	if err != nil {
		return Header{Format: f}, decodeError("reading "+string(f)+" header", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Header{Format: f}, &Error{Code: records.ErrDecode, Err: fmt.Errorf("%s header declares %dx%d", f, cfg.Width, cfg.Height)}
	}
	return Header{Format: f, Width: cfg.Width, Height: cfg.Height}, nil
}
