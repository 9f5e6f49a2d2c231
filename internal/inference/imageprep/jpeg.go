package imageprep

import "github.com/cspipe/cspipe/internal/inference/jpegdec"

// decodeJPEG picks the decode path for a JPEG: fast (DC only) when asked and the 1/8-scale
// image still covers the model input, our exact decoder otherwise, and image/jpeg when asked.
// When our decoder fails for any reason (an unsupported feature, or a damaged file it judges
// differently) image/jpeg gets the file, so correctness never depends on our decoder alone.
func decodeJPEG(data []byte, hdr Header, o Options) (*grid, string, error) {
	if !o.Stdlib {
		if dw, dh := jpegdec.DCSize(hdr.Width, hdr.Height); o.Fast && dw >= o.Width && dh >= o.Height {
			g := newGrid(dw, dh, o.Width, o.Height)
			if err := jpegdec.SampleDC(data, g.rows.samples, g.cols.samples, g.rgb, jpegdec.ModeLibjpeg); err == nil {
				return g, PathFast, nil
			}
		} else {
			g := newGrid(hdr.Width, hdr.Height, o.Width, o.Height)
			if err := jpegdec.Sample(data, g.rows.samples, g.cols.samples, g.rgb, jpegdec.ModeLibjpeg); err == nil {
				return g, PathExact, nil
			}
		}
	}
	g, err := decodeStd(data, hdr, o, stdJPEG)
	return g, PathStdlib, err
}
