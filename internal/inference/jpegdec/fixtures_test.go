package jpegdec

import (
	"bytes"
	"errors"
	"image/color"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func allCoords(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// TestFixturesMatchStdlib decodes every pixel of small cjpeg-made files (see
// testdata/make_fixtures.sh) and compares with image/jpeg.
func TestFixturesMatchStdlib(t *testing.T) {
	for _, name := range []string{
		"baseline_420.jpg", "baseline_444.jpg", "baseline_422.jpg", "baseline_440.jpg", "grey.jpg",
		"optimized_420.jpg", "restart_420.jpg", "restart_rows_444.jpg", "progressive_420.jpg",
		"progressive_444.jpg", "progressive_grey.jpg", "quant16_420.jpg",
	} {
		t.Run(name, func(t *testing.T) {
			data := readFixture(t, name)
			w, h, err := Config(data)
			if err != nil || w != 83 || h != 61 {
				t.Fatalf("Config = %d, %d, %v", w, h, err)
			}
			st := compareWithStdlib(t, data, allCoords(h), allCoords(w))
			mean := float64(st.sum) / float64(st.n)
			if st.max > 3 || mean > 0.1 {
				t.Fatalf("differs from image/jpeg: max %d, mean %.4f, %d values off by more than 2", st.max, mean, st.over)
			}
		})
	}
}

// TestTranscodedIdentical decodes jpegtran re-encodings (progressive with restart intervals,
// which image/jpeg itself rejects; progressive; restart every row with optimised tables): they
// hold the same coefficients as their baseline sources, so every pixel must be equal.
func TestTranscodedIdentical(t *testing.T) {
	for _, tc := range []struct{ file, source string }{
		{"progressive_restart_420.jpg", "baseline_420.jpg"},
		{"transcoded_progressive_444.jpg", "baseline_444.jpg"},
		{"transcoded_restart_422.jpg", "baseline_422.jpg"},
	} {
		for _, mode := range []Mode{ModeLibjpeg, ModeStdlib} {
			got := make([]uint8, 61*83*3)
			want := make([]uint8, 61*83*3)
			if err := Sample(readFixture(t, tc.file), allCoords(61), allCoords(83), got, mode); err != nil {
				t.Fatalf("%s: %v", tc.file, err)
			}
			if err := Sample(readFixture(t, tc.source), allCoords(61), allCoords(83), want, mode); err != nil {
				t.Fatalf("%s: %v", tc.source, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("mode %d: %s decodes differently from %s", mode, tc.file, tc.source)
			}
		}
	}
}

// TestSampleSubset checks that sampling a few scattered pixels (so most blocks are not kept)
// gives the same values as decoding every pixel.
func TestSampleSubset(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode Mode
	}{
		{"progressive_420.jpg", ModeLibjpeg}, {"baseline_422.jpg", ModeLibjpeg}, {"baseline_440.jpg", ModeLibjpeg},
		{"progressive_restart_420.jpg", ModeLibjpeg}, {"progressive_420.jpg", ModeStdlib}, {"baseline_422.jpg", ModeStdlib},
	} {
		name, mode := tc.name, tc.mode
		data := readFixture(t, name)
		full := make([]uint8, 61*83*3)
		if err := Sample(data, allCoords(61), allCoords(83), full, mode); err != nil {
			t.Fatal(err)
		}
		rows, cols := []int{60, 3, 17, 40}, []int{82, 0, 9, 33, 34}
		sub := make([]uint8, len(rows)*len(cols)*3)
		if err := Sample(data, rows, cols, sub, mode); err != nil {
			t.Fatal(err)
		}
		for i, y := range rows {
			for j, x := range cols {
				for c := range 3 {
					if got, want := sub[(i*len(cols)+j)*3+c], full[(y*83+x)*3+c]; got != want {
						t.Fatalf("%s (%d,%d) channel %d: %d, full decode %d", name, x, y, c, got, want)
					}
				}
			}
		}
	}
}

// TestSampleDC compares the 1/8-scale image with the means of image/jpeg's 8×8 luma blocks.
func TestSampleDC(t *testing.T) {
	for _, name := range []string{"grey.jpg", "progressive_grey.jpg", "baseline_444.jpg"} {
		data := readFixture(t, name)
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		dw, dh := DCSize(83, 61)
		if dw != 11 || dh != 8 {
			t.Fatalf("DCSize = %d, %d", dw, dh)
		}
		// Interior blocks only: edge blocks are padded by the encoder.
		rows, cols := allCoords(dh-1), allCoords(dw-1)
		rgb := make([]uint8, len(rows)*len(cols)*3)
		if err := SampleDC(data, rows, cols, rgb, ModeStdlib); err != nil {
			t.Fatal(err)
		}
		// Grey blocks must agree to rounding; in colour, clamping in the RGB conversion makes the
		// mean of converted pixels differ a little from the conversion of mean YCbCr.
		tol := 2
		if img.ColorModel() != color.GrayModel {
			tol = 8
		}
		for i, by := range rows {
			for j, bx := range cols {
				var sum [3]int
				for y := by * 8; y < by*8+8; y++ {
					for x := bx * 8; x < bx*8+8; x++ {
						p := stdRGB(img, x, y)
						for c := range 3 {
							sum[c] += int(p[c])
						}
					}
				}
				for c := range 3 {
					got, want := int(rgb[(i*len(cols)+j)*3+c]), (sum[c]+32)/64
					if d := got - want; d > tol || d < -tol {
						t.Fatalf("%s block (%d,%d) channel %d: DC %d, block mean %d", name, bx, by, c, got, want)
					}
				}
			}
		}
	}
}

func TestErrors(t *testing.T) {
	good := readFixture(t, "progressive_420.jpg")
	tests := []struct {
		name string
		data []byte
		is   error
	}{
		{"lossless", withMarker(good, 0xC2, 0xC3), ErrUnsupported},
		{"hierarchical", withMarker(good, 0xC2, 0xC5), ErrUnsupported},
		{"12-bit", with12Bit(good), ErrUnsupported},
		{"truncated in scan", good[:len(good)*2/3], io.ErrUnexpectedEOF},
		{"truncated in header", good[:30], io.ErrUnexpectedEOF},
		{"no EOI", good[:len(good)-2], io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Sample(tc.data, []int{0, 5}, []int{1, 2}, make([]uint8, 12), ModeLibjpeg)
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
		})
	}
	if err := Sample([]byte("not a jpeg"), nil, nil, nil, ModeLibjpeg); err == nil {
		t.Fatal("garbage accepted")
	}
	if err := Sample(good, []int{61}, []int{0}, make([]uint8, 3), ModeLibjpeg); err == nil {
		t.Fatal("row outside the image accepted")
	}
	if err := Sample(good, []int{0}, []int{0}, make([]uint8, 2), ModeLibjpeg); err == nil {
		t.Fatal("short buffer accepted")
	}
}

// withMarker returns a copy of data whose first from marker is replaced by to.
func withMarker(data []byte, from, to byte) []byte {
	out := bytes.Clone(data)
	i := bytes.Index(out, []byte{0xFF, from})
	out[i+1] = to
	return out
}

// with12Bit returns a copy of data whose frame header declares 12-bit samples.
func with12Bit(data []byte) []byte {
	out := bytes.Clone(data)
	i := bytes.Index(out, []byte{0xFF, 0xC2})
	out[i+4] = 12
	return out
}

// TestArithmeticFixture decodes the cjpeg -arithmetic fixture like its Huffman-coded twin
// (same quality and source), to within the quantisation noise both share.
func TestArithmeticFixture(t *testing.T) {
	got := make([]uint8, 61*83*3)
	want := make([]uint8, 61*83*3)
	if err := Sample(readFixture(t, "arithmetic.jpg"), allCoords(61), allCoords(83), got, ModeLibjpeg); err != nil {
		t.Fatal(err)
	}
	if err := Sample(readFixture(t, "baseline_420.jpg"), allCoords(61), allCoords(83), want, ModeLibjpeg); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("arithmetic-coded fixture decodes differently from the Huffman-coded one with the same coefficients")
	}
}

func TestUnzig(t *testing.T) {
	want := []uint8{0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5}
	for i, w := range want {
		if unzig[i] != w {
			t.Fatalf("unzig[%d] = %d, want %d", i, unzig[i], w)
		}
	}
	if unzig[63] != 63 || unzig[62] != 62 || unzig[61] != 55 {
		t.Fatalf("unzig tail %v", unzig[60:])
	}
}

func FuzzSample(f *testing.F) {
	// (The fuzzing "stalls" once blamed on the four-component seeds were the minimisation
	// of each new input, which TestMain now caps.)
	for _, name := range []string{"baseline_420.jpg", "progressive_420.jpg", "progressive_restart_420.jpg", "grey.jpg", "restart_420.jpg",
		"arithmetic.jpg", "arith_progressive_411.jpg", "mixed_221112.jpg", "arith_restart_1x4.jpg",
		"cmyk_adobe.jpg", "ycck_2x2.jpg"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		w, h, err := Config(data)
		if err != nil || w*h > 1<<16 {
			return
		}
		rows, cols := []int{0, h / 2, h - 1}, []int{0, w / 3, w - 1}
		_ = Sample(data, rows, cols, make([]uint8, 27), ModeLibjpeg)
		_ = Sample(data, rows, cols, make([]uint8, 27), ModeStdlib)
		dw, dh := DCSize(w, h)
		_ = SampleDC(data, []int{dh - 1}, []int{0, dw - 1}, make([]uint8, 6), ModeLibjpeg)
	})
}
