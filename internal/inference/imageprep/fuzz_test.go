package imageprep

import (
	"bytes"
	"errors"
	"image/color"
	"image/gif"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/bmp"
)

// FuzzPrepare feeds arbitrary bytes to Prepare: it must return a tensor or an *Error with a
// code, never panic, and never decode a header above the pixel limit.
func FuzzPrepare(f *testing.F) {
	f.Add(encodeJPEG(f, uniform(color.NRGBA{200, 10, 60, 255}, 40, 24), 80))
	f.Add(encodePNG(f, uniform(color.NRGBA{1, 2, 3, 128}, 17, 9)))
	f.Add(pngHeaderOnly(3000, 3000))
	f.Add([]byte("GIF89a"))
	// Every decoded format and the orientation carriers.
	for _, name := range []string{"lossless.webp", "lossy_alpha.webp"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(withJPEGExif(encodeJPEG(f, asymmetric(24, 16), 80), 6))
	f.Add(withPNGExif(encodePNG(f, asymmetric(9, 7)), 8))
	rng := rand.New(rand.NewPCG(1, 1))
	for _, name := range []string{"grey2 tRNS", "palette4 short tRNS", "rgba16"} {
		s := pngSpecs()[name]
		s.w, s.h, s.filter = 11, 6, -1
		f.Add(writePNG(f, s, rng))
	}
	var gb, bb bytes.Buffer
	_ = gif.Encode(&gb, asymmetric(10, 8), nil)
	_ = bmp.Encode(&bb, asymmetric(10, 8))
	f.Add(gb.Bytes())
	f.Add(bb.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		o := Options{Width: 7, Height: 5, MaxPixels: 1 << 20}
		for _, fast := range []bool{false, true} {
			o.Fast, o.IgnoreOrientation = fast, fast
			_, err := Prepare(data, o, make([]float32, o.TensorLen()))
			var ie *Error
			if err != nil && (!errors.As(err, &ie) || ie.Code == "") {
				t.Fatalf("error without a code: %v", err)
			}
		}
	})
}
