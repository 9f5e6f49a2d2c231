package imageprep

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"

	"github.com/cspipe/cspipe/internal/inference/jpegdec"
	"github.com/cspipe/cspipe/internal/records"
)

func prepare(t *testing.T, data []byte, o Options) ([]float32, Result) {
	t.Helper()
	if o.Width == 0 {
		o.Width, o.Height = 9, 6
	}
	dst := make([]float32, o.TensorLen())
	res, err := Prepare(data, o, dst)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	return dst, res
}

// asymmetric is an image whose every orientation is distinguishable: gradients in both
// directions and a red block in the top-left corner.
func asymmetric(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x*7 + y*3) % 256), 255}
			if x < w/4 && y < h/3 {
				c = color.NRGBA{250, 10, 10, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// TestWebP: lossless WebP (with transparent pixels kept exactly) prepares exactly like its PNG
// source; lossy WebP, with and without alpha, exactly like a PNG of the pixels x/image/webp
// decodes.
func TestWebP(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "webp_source.png"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := prepare(t, src, Options{})
	for _, name := range []string{"lossless.webp", "lossy.webp", "lossy_alpha.webp"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if Sniff(data) != FormatWebP {
			t.Fatalf("%s sniffed as %q", name, Sniff(data))
		}
		got, res := prepare(t, data, Options{})
		if res.Format != FormatWebP || res.Width != 48 || res.Height != 32 {
			t.Fatalf("%s: header %+v", name, res.Header)
		}
		ref := want
		if name != "lossless.webp" {
			img, err := webp.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			ref, _ = prepare(t, encodePNG(t, img), Options{})
		}
		if !equalFloats(got, ref) {
			t.Fatalf("%s prepares differently from the same pixels as PNG", name)
		}
	}
}

// TestGIFFirstFrameAndBMP: a two-frame GIF prepares as its first frame; a BMP as the same
// pixels in a PNG; a GIF frame smaller than its canvas sits at its offset on a zero canvas.
func TestGIFFirstFrameAndBMP(t *testing.T) {
	pal := color.Palette{color.NRGBA{0, 0, 0, 255}, color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 255, 255}, color.NRGBA{30, 200, 90, 255}}
	frame := func(seed int, r image.Rectangle) *image.Paletted {
		p := image.NewPaletted(r, pal)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				p.SetColorIndex(x, y, uint8((x*seed+y)%4))
			}
		}
		return p
	}
	full := image.Rect(0, 0, 30, 20)
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, &gif.GIF{Image: []*image.Paletted{frame(1, full), frame(3, full)}, Delay: []int{10, 10}}); err != nil {
		t.Fatal(err)
	}
	got, res := prepare(t, b.Bytes(), Options{})
	want, _ := prepare(t, encodePNG(t, frame(1, full)), Options{})
	if res.Format != FormatGIF || !equalFloats(got, want) {
		t.Fatal("GIF does not prepare as its first frame")
	}

	b.Reset()
	small := frame(2, image.Rect(5, 4, 25, 14))
	if err := gif.EncodeAll(&b, &gif.GIF{Image: []*image.Paletted{small}, Delay: []int{0},
		Config: image.Config{Width: 30, Height: 20, ColorModel: pal}}); err != nil {
		t.Fatal(err)
	}
	canvas := image.NewNRGBA(full)
	for y := 4; y < 14; y++ {
		for x := 5; x < 25; x++ {
			canvas.Set(x, y, small.At(x, y))
		}
	}
	got, _ = prepare(t, b.Bytes(), Options{})
	want, _ = prepare(t, encodePNG(t, canvas), Options{})
	if !equalFloats(got, want) {
		t.Fatal("GIF frame smaller than its canvas prepares differently from the frame on a zero canvas")
	}

	b.Reset()
	img := asymmetric(33, 21)
	if err := bmp.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	got, res = prepare(t, b.Bytes(), Options{})
	want, _ = prepare(t, encodePNG(t, img), Options{})
	if res.Format != FormatBMP || !equalFloats(got, want) {
		t.Fatal("BMP prepares differently from the same pixels as PNG")
	}
}

// TestRefusedFormatsSayHowToConvert: HEIC, AVIF, TIFF and JPEG XL are refused per image with an
// error naming the format and a way to convert it.
func TestRefusedFormatsSayHowToConvert(t *testing.T) {
	for name, data := range map[string][]byte{
		"HEIC": []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"),
		"AVIF": []byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"),
		"TIFF": []byte("MM\x00*\x00\x00\x00\x08"),
		"JXL":  []byte("\xff\x0a\xfa\x12"),
	} {
		_, err := Prepare(data, Options{Width: 2, Height: 2}, make([]float32, 12))
		var ie *Error
		if !errorsAs(err, &ie) || ie.Code != records.ErrUnsupported {
			t.Fatalf("%s: err %v, want an unsupported-format *Error", name, err)
		}
		if msg := err.Error(); !strings.Contains(msg, name) || !strings.Contains(msg, "convert") {
			t.Fatalf("%s: message %q does not name the format and how to convert", name, msg)
		}
	}
}

// TestUnsupportedJPEGSaysHowToConvert: a 12-bit JPEG is refused per image with advice.
func TestUnsupportedJPEGSaysHowToConvert(t *testing.T) {
	data := encodeJPEG(t, asymmetric(16, 16), 90)
	sof := bytes.Index(data, []byte{0xFF, 0xC0})
	data[sof+4] = 12
	_, err := Prepare(data, Options{Width: 2, Height: 2}, make([]float32, 12))
	var ie *Error
	if !errorsAs(err, &ie) || ie.Code != records.ErrUnsupported || !strings.Contains(err.Error(), "12-bit") || !strings.Contains(err.Error(), "re-encode") {
		t.Fatalf("err = %v", err)
	}
}

// orient returns how orientation o shows stored image img upright, built from flips and a
// transpose (independently of Orientation.sourceOf).
func orient(img image.Image, o Orientation) *image.NRGBA {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	at := func(x, y int) color.Color { return img.At(b.Min.X+x, b.Min.Y+y) }
	transpose := o >= 5
	flipH := o == 2 || o == 3 || o == 6 || o == 7
	flipV := o == 3 || o == 4 || o == 7 || o == 8
	ow, oh := w, h
	if transpose {
		ow, oh = h, w
	}
	out := image.NewNRGBA(image.Rect(0, 0, ow, oh))
	for y := range oh {
		for x := range ow {
			// Undo the flips, then the transpose, to find the stored pixel.
			sx, sy := x, y
			if flipH {
				sx = ow - 1 - sx
			}
			if flipV {
				sy = oh - 1 - sy
			}
			if transpose {
				sx, sy = sy, sx
			}
			out.Set(x, y, at(sx, sy))
		}
	}
	return out
}

func withJPEGExif(data []byte, o Orientation) []byte {
	tiff := append([]byte("Exif\x00\x00"), exifTIFF(o)...)
	seg := []byte{0xFF, 0xE1, byte((len(tiff) + 2) >> 8), byte(len(tiff) + 2)}
	out := append([]byte{0xFF, 0xD8}, append(seg, tiff...)...)
	return append(out, data[2:]...)
}

func withPNGExif(data []byte, o Orientation) []byte {
	var b bytes.Buffer
	b.Write(data[:33]) // signature and IHDR
	chunk(&b, "eXIf", exifTIFF(o))
	b.Write(data[33:])
	return b.Bytes()
}

// withWebPExif wraps a simple (VP8L) WebP into the extended format with an EXIF chunk.
func withWebPExif(data []byte, w, h int, o Orientation) []byte {
	var body bytes.Buffer
	body.WriteString("WEBP")
	vp8x := make([]byte, 10)
	vp8x[0] = 0x08 // EXIF present
	vp8x[4], vp8x[5], vp8x[6] = byte(w-1), byte((w-1)>>8), byte((w-1)>>16)
	vp8x[7], vp8x[8], vp8x[9] = byte(h-1), byte((h-1)>>8), byte((h-1)>>16)
	riffChunk := func(typ string, p []byte) {
		body.WriteString(typ)
		binary.Write(&body, binary.LittleEndian, uint32(len(p)))
		body.Write(p)
		if len(p)%2 == 1 {
			body.WriteByte(0)
		}
	}
	riffChunk("VP8X", vp8x)
	body.Write(data[12:]) // the VP8L chunk as it is
	riffChunk("EXIF", exifTIFF(o))
	var out bytes.Buffer
	out.WriteString("RIFF")
	binary.Write(&out, binary.LittleEndian, uint32(body.Len()))
	out.Write(body.Bytes())
	return out.Bytes()
}

// TestEXIFOrientation: for each of the eight orientations and each format carrying EXIF (JPEG
// APP1, PNG eXIf, WebP EXIF), the prepared tensor equals that of the upright image (the stored
// pixels shown as the orientation says, as a PNG); with IgnoreOrientation it equals the stored
// image's, as TensorFlow reads it. The target is not square, so a missed rotation cannot pass.
func TestEXIFOrientation(t *testing.T) {
	stored := asymmetric(40, 24)
	jpg := encodeJPEG(t, stored, 92)
	jpgPixels := decodeAllJPEG(t, jpg, false)
	pngData := encodePNG(t, stored)
	webpData, err := os.ReadFile(filepath.Join("testdata", "lossless.webp"))
	if err != nil {
		t.Fatal(err)
	}
	webpPixels, err := webp.Decode(bytes.NewReader(webpData))
	if err != nil {
		t.Fatal(err)
	}
	big := encodeJPEG(t, asymmetric(176, 120), 92)
	bigDC := decodeAllJPEG(t, big, true)
	o := Options{Width: 7, Height: 11}
	fast := Options{Width: 7, Height: 11, Fast: true}
	for or := Orientation(1); or <= 8; or++ {
		for _, tc := range []struct {
			name   string
			data   []byte
			pixels image.Image
			o      Options
			path   string
		}{
			{"jpeg", withJPEGExif(jpg, or), jpgPixels, o, PathExact},
			{"jpeg fast", withJPEGExif(big, or), bigDC, fast, PathFast},
			{"png", withPNGExif(pngData, or), stored, o, PathStream},
			{"webp", withWebPExif(webpData, 48, 32, or), webpPixels, o, PathStdlib},
		} {
			got, res := prepare(t, tc.data, tc.o)
			if res.Orientation != or || res.Applied != or || res.Path != tc.path {
				t.Fatalf("%s orientation %d: header says %d, applied %d, path %s", tc.name, or, res.Orientation, res.Applied, res.Path)
			}
			want, _ := prepare(t, encodePNG(t, orient(tc.pixels, or)), Options{Width: 7, Height: 11})
			if !equalFloats(got, want) {
				t.Fatalf("%s orientation %d: tensor differs from the upright image's", tc.name, or)
			}
			ig := tc.o
			ig.IgnoreOrientation = true
			got, res = prepare(t, tc.data, ig)
			want, _ = prepare(t, encodePNG(t, tc.pixels), Options{Width: 7, Height: 11})
			if res.Applied != 1 || !equalFloats(got, want) {
				t.Fatalf("%s orientation %d ignored: tensor differs from the stored image's", tc.name, or)
			}
		}
	}
}

// decodeAllJPEG is every pixel of a JPEG as our decoder gives it (or its 1/8-scale DC image).
func decodeAllJPEG(t *testing.T, data []byte, dc bool) *image.NRGBA {
	t.Helper()
	w, h, err := jpegdec.Config(data)
	if err != nil {
		t.Fatal(err)
	}
	if dc {
		w, h = jpegdec.DCSize(w, h)
	}
	rgb := make([]uint8, w*h*3)
	if dc {
		err = jpegdec.SampleDC(data, allIndices(h), allIndices(w), rgb, jpegdec.ModeLibjpeg)
	} else {
		err = jpegdec.Sample(data, allIndices(h), allIndices(w), rgb, jpegdec.ModeLibjpeg)
	}
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = rgb[3*i], rgb[3*i+1], rgb[3*i+2], 255
	}
	return img
}

// TestPortraitPhotoComesOutUpright: a phone's portrait photo is stored landscape with
// orientation 6; the red block stored at the top-left must end up at the top-right.
func TestPortraitPhotoComesOutUpright(t *testing.T) {
	data := withJPEGExif(encodeJPEG(t, asymmetric(64, 48), 95), 6)
	got, _ := prepare(t, data, Options{Width: 12, Height: 16})
	red := func(x, y int) bool {
		p := got[(y*12+x)*3:]
		return p[0] > 0.8 && p[1] < 0.2 && p[2] < 0.2
	}
	if !red(11, 0) || red(0, 0) {
		t.Fatal("the stored top-left corner is not at the upright top-right")
	}
}

func errorsAs(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}
