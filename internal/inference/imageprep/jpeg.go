package imageprep

import (
	"errors"

	"github.com/cspipe/cspipe/internal/inference/jpegdec"
	"github.com/cspipe/cspipe/internal/records"
)

// decodeJPEG picks the decode path for a JPEG: fast (DC only) when asked and the 1/8-scale
// image still covers the model input, our exact decoder otherwise (and whenever the fast one
// fails), and image/jpeg only when Options.Stdlib asks for it. Our decoder handles every file
// libjpeg-turbo (TensorFlow's decoder) does; what it refuses as unsupported, image/jpeg refuses
// too, and a damaged file is reported, not re-decoded by a different decoder with different
// pixels.
func decodeJPEG(data []byte, hdr Header, o Options, orient Orientation) (*grid, string, error) {
	if o.Stdlib {
		g, err := decodeStd(data, hdr, o, orient, stdJPEG)
		return g, PathStdlib, err
	}
	if o.Fast {
		dw, dh := jpegdec.DCSize(hdr.Width, hdr.Height)
		if uw, uh := uprightSize(dw, dh, orient); uw >= o.Width && uh >= o.Height {
			g := newGrid(uw, uh, o.Width, o.Height)
			err := sampleOriented(orient, dw, dh, g, func(rows, cols []int, rgb []uint8) error {
				return jpegdec.SampleDC(data, rows, cols, rgb, jpegdec.ModeLibjpeg)
			})
			if err == nil {
				return g, PathFast, nil
			}
		}
	}
	uw, uh := uprightSize(hdr.Width, hdr.Height, orient)
	g := newGrid(uw, uh, o.Width, o.Height)
	err := sampleOriented(orient, hdr.Width, hdr.Height, g, func(rows, cols []int, rgb []uint8) error {
		return jpegdec.Sample(data, rows, cols, rgb, jpegdec.ModeLibjpeg)
	})
	if err != nil {
		e := decodeError("decoding jpeg", err)
		if e.Code == records.ErrDecode && !hasEndMarker(FormatJPEG, data) {
			e.Code = records.ErrTruncated
		}
		if errors.Is(err, jpegdec.ErrUnsupported) {
			e.Code = records.ErrUnsupported
		}
		return nil, PathExact, e
	}
	return g, PathExact, nil
}
