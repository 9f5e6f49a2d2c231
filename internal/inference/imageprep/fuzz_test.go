package imageprep

import (
	"errors"
	"image/color"
	"testing"
)

// FuzzPrepare feeds arbitrary bytes to Prepare: it must return a tensor or an *Error with a
// code, never panic, and never decode a header above the pixel limit.
func FuzzPrepare(f *testing.F) {
	f.Add(encodeJPEG(f, uniform(color.NRGBA{200, 10, 60, 255}, 40, 24), 80))
	f.Add(encodePNG(f, uniform(color.NRGBA{1, 2, 3, 128}, 17, 9)))
	f.Add(pngHeaderOnly(3000, 3000))
	f.Add([]byte("GIF89a"))
	f.Fuzz(func(t *testing.T, data []byte) {
		o := Options{Width: 7, Height: 5, MaxPixels: 1 << 20}
		for _, fast := range []bool{false, true} {
			o.Fast = fast
			_, err := Prepare(data, o, make([]float32, o.TensorLen()))
			var ie *Error
			if err != nil && (!errors.As(err, &ie) || ie.Code == "") {
				t.Fatalf("error without a code: %v", err)
			}
		}
	})
}
