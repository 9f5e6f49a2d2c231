package imageprep

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"testing"

	"github.com/cspipe/cspipe/internal/records"
)

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngHeaderOnly is a PNG signature and a valid IHDR chunk declaring w×h, with no pixel data.
func pngHeaderOnly(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func uniform(c color.Color, w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	return img
}

func TestPrepareErrors(t *testing.T) {
	okJPEG := encodeJPEG(t, uniform(color.NRGBA{10, 20, 30, 255}, 64, 48), 90)
	tests := []struct {
		name string
		data []byte
		max  int64
		code string
	}{
		{"empty", nil, 0, records.ErrEmpty},
		{"text", []byte("hello, I am not a picture"), 0, records.ErrNotAnImage},
		{"gif without image", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), 0, records.ErrDecode},
		{"webp garbage", []byte("RIFF\x00\x00\x00\x00WEBPVP8 "), 0, records.ErrDecode},
		{"heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), 0, records.ErrUnsupported},
		{"avif", []byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"), 0, records.ErrUnsupported},
		{"tiff", []byte("II*\x00\x08\x00\x00\x00"), 0, records.ErrUnsupported},
		{"png bomb header", pngHeaderOnly(30000, 30000), 0, records.ErrTooLarge},
		{"over custom limit", okJPEG, 64*48 - 1, records.ErrTooLarge},
		{"jpeg truncated in header", okJPEG[:20], 0, records.ErrTruncated},
		{"jpeg truncated in scan", okJPEG[:len(okJPEG)/2], 0, records.ErrTruncated},
		{"png truncated", encodePNG(t, uniform(color.White, 40, 40))[:60], 0, records.ErrTruncated},
		{"jpeg garbage header", append([]byte{0xFF, 0xD8, 0xFF, 0x01}, bytes.Repeat([]byte{7}, 50)...), 0, records.ErrDecode},
		{"png zero width", pngHeaderOnly(0, 10), 0, records.ErrDecode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]float32, 8*8*3)
			_, err := Prepare(tc.data, Options{Width: 8, Height: 8, MaxPixels: tc.max}, dst)
			var ie *Error
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if ie.Code != tc.code {
				t.Fatalf("code = %q (%v), want %q", ie.Code, err, tc.code)
			}
		})
	}
}

func TestBombRefusedWithoutAllocating(t *testing.T) {
	data := pngHeaderOnly(30000, 30000)
	dst := make([]float32, 4*4*3)
	var ms0, ms1 runtimeMem
	ms0.read()
	for range 10 {
		if _, err := Prepare(data, Options{Width: 4, Height: 4}, dst); err == nil {
			t.Fatal("bomb accepted")
		}
	}
	ms1.read()
	if d := ms1.total - ms0.total; d > 1<<20 {
		t.Fatalf("refusing a bomb header allocated %d bytes", d)
	}
}

func TestPrepareOptionsErrors(t *testing.T) {
	if _, err := Prepare([]byte{1}, Options{Width: 0, Height: 1}, nil); err == nil {
		t.Error("zero width accepted")
	}
	if _, err := Prepare([]byte{1}, Options{Width: 2, Height: 2}, make([]float32, 3)); err == nil {
		t.Error("short tensor accepted")
	}
	if _, err := Prepare([]byte{1}, Options{Width: 1, Height: 1, InputRange: "x"}, make([]float32, 3)); err == nil {
		t.Error("bad range accepted")
	}
}

func TestPreparePixelModels(t *testing.T) {
	pal := image.NewPaletted(image.Rect(0, 0, 9, 7), color.Palette{color.NRGBA{1, 2, 3, 255}, color.NRGBA{200, 150, 100, 255}})
	for i := range pal.Pix {
		pal.Pix[i] = 1
	}
	grey := image.NewGray(image.Rect(0, 0, 9, 7))
	for i := range grey.Pix {
		grey.Pix[i] = 77
	}
	g16 := image.NewGray16(image.Rect(0, 0, 9, 7))
	for y := range 7 {
		for x := range 9 {
			g16.SetGray16(x, y, color.Gray16{Y: 0x41ff})
		}
	}
	rgba64 := image.NewNRGBA64(image.Rect(0, 0, 9, 7))
	for y := range 7 {
		for x := range 9 {
			rgba64.SetNRGBA64(x, y, color.NRGBA64{0x1234, 0x5678, 0x9abc, 0xffff})
		}
	}
	tests := []struct {
		name string
		data []byte
		want [3]float32 // 0–255
		tol  float32
	}{
		{"paletted", encodePNG(t, pal), [3]float32{200, 150, 100}, 0},
		{"grey png", encodePNG(t, grey), [3]float32{77, 77, 77}, 0},
		{"grey16 png keeps high byte", encodePNG(t, g16), [3]float32{0x41, 0x41, 0x41}, 0},
		{"rgb16 png", encodePNG(t, rgba64), [3]float32{0x12, 0x56, 0x9a}, 0},
		{"alpha dropped not composited", encodePNG(t, uniform(color.NRGBA{200, 100, 50, 0}, 9, 7)), [3]float32{200, 100, 50}, 0},
		{"half alpha", encodePNG(t, uniform(color.NRGBA{200, 100, 50, 128}, 9, 7)), [3]float32{200, 100, 50}, 0},
		{"grey jpeg", encodeJPEG(t, grey, 95), [3]float32{77, 77, 77}, 1},
		{"colour jpeg", encodeJPEG(t, uniform(color.NRGBA{200, 100, 50, 255}, 33, 17), 95), [3]float32{200, 100, 50}, 3},
	}
	for _, tc := range tests {
		for _, o := range []Options{{Width: 5, Height: 4}, {Width: 5, Height: 4, Stdlib: true}, {Width: 5, Height: 4, InputRange: "-1,1"}} {
			dst := make([]float32, o.TensorLen())
			if _, err := Prepare(tc.data, o, dst); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			sc, _ := parseInputRange(o.InputRange)
			for i, v := range dst {
				want := tc.want[i%3]/sc.div + sc.add
				if d := math.Abs(float64(v - want)); d > float64(tc.tol/sc.div)+1e-6 {
					t.Fatalf("%s %+v: value %d = %v, want %v", tc.name, o, i, v, want)
				}
			}
		}
	}
}

func TestSniff(t *testing.T) {
	tests := map[string]Format{
		"\xff\xd8\xff\xe0": FormatJPEG, "\x89PNG\r\n\x1a\nxx": FormatPNG, "GIF87a": FormatGIF,
		"RIFF0000WEBP": FormatWebP, "II*\x00": FormatTIFF, "\xff\xd8": FormatUnknown, "": FormatUnknown,
	}
	for in, want := range tests {
		if got := Sniff([]byte(in)); got != want {
			t.Errorf("Sniff(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJPEGPathsAgree(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 403, 297))
	for y := range 297 {
		for x := range 403 {
			// Smooth chroma: libjpeg's interpolated chroma (our exact path) and image/jpeg's
			// replicated chroma then differ only by rounding.
			img.Set(x, y, color.RGBA{uint8(x / 2), uint8(y / 2), uint8((x + y) / 3), 255})
		}
	}
	data := encodeJPEG(t, img, 90)
	prep := func(o Options) ([]float32, string) {
		o.Width, o.Height = 37, 29
		dst := make([]float32, o.TensorLen())
		res, err := Prepare(data, o, dst)
		if err != nil {
			t.Fatal(err)
		}
		return dst, res.Path
	}
	std, p1 := prep(Options{Stdlib: true})
	exact, p2 := prep(Options{})
	fast, p3 := prep(Options{Fast: true})
	if p1 != PathStdlib || p2 != PathExact || p3 != PathFast {
		t.Fatalf("paths %s %s %s", p1, p2, p3)
	}
	var maxAbs, fastSum float64
	for i := range std {
		maxAbs = max(maxAbs, math.Abs(float64(exact[i]-std[i])))
		fastSum += math.Abs(float64(fast[i] - exact[i]))
	}
	if maxAbs > 3.0/255 {
		t.Fatalf("exact differs from image/jpeg by up to %v", maxAbs*255)
	}
	if m := fastSum / float64(len(std)); m > 0.1 {
		t.Fatalf("fast differs from exact by %v on average", m)
	}
	// Too small for 1/8 scale: the fast option falls back to the exact path.
	small := encodeJPEG(t, uniform(color.NRGBA{9, 9, 9, 255}, 100, 100), 90)
	if res, err := Prepare(small, Options{Width: 37, Height: 29, Fast: true}, make([]float32, 37*29*3)); err != nil || res.Path != PathExact {
		t.Fatalf("small fast: %v %v", res.Path, err)
	}
}
