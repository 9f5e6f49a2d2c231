package classify

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// cornerModel scores class k by channel k of the input's top-left pixel.
type cornerModel struct{}

func (cornerModel) InputShape() (int, int, int) { return 4, 4, 3 }
func (cornerModel) NumClasses() int             { return 3 }
func (cornerModel) Run(in []float32, batch int, out []float32) error {
	for b := range batch {
		copy(out[b*3:b*3+3], in[b*48:b*48+3])
	}
	return nil
}

// TestEXIFOrientationOption: a PNG stored with a red top-left and green bottom-left corner and
// EXIF orientation 6 (turned 90° clockwise) shows green at its upright top-left; with
// IgnoreEXIFOrientation the stored red corner is what the model sees.
func TestEXIFOrientationOption(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 16, 16))
	for y := range 16 {
		for x := range 16 {
			c := color.NRGBA{0, 0, 255, 255}
			switch {
			case x < 8 && y < 8:
				c = color.NRGBA{255, 0, 0, 255}
			case x < 8:
				c = color.NRGBA{0, 255, 0, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	// An eXIf chunk (orientation 6) right after IHDR.
	exif := []byte("MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00")
	var c bytes.Buffer
	binary.Write(&c, binary.BigEndian, uint32(len(exif)))
	body := append([]byte("eXIf"), exif...)
	c.Write(body)
	binary.Write(&c, binary.BigEndian, crc32.ChecksumIEEE(body))
	data = append(append(append([]byte(nil), data[:33]...), c.Bytes()...), data[33:]...)

	for _, tc := range []struct {
		ignore bool
		want   string
	}{{false, "green"}, {true, "red"}} {
		cl, err := NewWithModel(cornerModel{}, []string{"red", "green", "blue"}, Options{IgnoreEXIFOrientation: tc.ignore})
		if err != nil {
			t.Fatal(err)
		}
		p, err := cl.Classify(t.Context(), bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if p.Label != tc.want {
			t.Fatalf("ignore=%v: the model saw %s at the top-left, want %s", tc.ignore, p.Label, tc.want)
		}
	}
}
