package jpegdec

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// readPNM parses a binary PPM (P6) or PGM (P5) as written by djpeg, returning RGB.
func readPNM(t *testing.T, b []byte) (w, h int, rgb []uint8) {
	t.Helper()
	var magic string
	var maxv int
	r := bytes.NewReader(b)
	if _, err := fmt.Fscan(r, &magic, &w, &h, &maxv); err != nil || maxv != 255 {
		t.Fatalf("pnm header: %v", err)
	}
	ch := 3
	if magic == "P5" {
		ch = 1
	}
	px := b[len(b)-w*h*ch:]
	rgb = make([]uint8, w*h*3)
	for i := range w * h {
		for c := range 3 {
			rgb[3*i+c] = px[i*ch+min(c, ch-1)]
		}
	}
	return w, h, rgb
}

// TestLibjpegModeMatchesDjpeg compares every pixel of ModeLibjpeg with libjpeg-turbo 2.1.5's
// djpeg output at default settings (islow IDCT, fancy upsampling), stored beside each fixture
// by testdata/make_fixtures.sh.
func TestLibjpegModeMatchesDjpeg(t *testing.T) {
	for _, name := range []string{
		"baseline_420.jpg", "baseline_422.jpg", "baseline_440.jpg", "baseline_444.jpg", "grey.jpg",
		"progressive_420.jpg", "quant16_420.jpg", "optimized_420.jpg",
		"tiny4x21_2x2.jpg", "tiny4x21_2x1.jpg", "tiny4x21_1x2.jpg", "tiny5x3_2x2.jpg", "tiny5x3_2x1.jpg", "tiny5x3_1x2.jpg",
	} {
		t.Run(name, func(t *testing.T) {
			w, h, want := readPNM(t, readFixture(t, strings.TrimSuffix(name, ".jpg")+".libjpeg.ppm"))
			got := make([]uint8, w*h*3)
			if err := Sample(readFixture(t, name), allCoords(h), allCoords(w), got, ModeLibjpeg); err != nil {
				t.Fatal(err)
			}
			bad, maxd := 0, 0
			for i := range got {
				d := int(got[i]) - int(want[i])
				d = max(d, -d)
				maxd = max(maxd, d)
				if d != 0 {
					bad++
				}
			}
			if bad != 0 {
				t.Fatalf("%d of %d values differ from djpeg (max %d)", bad, len(got), maxd)
			}
		})
	}
}

var update = flag.Bool("update", false, "regenerate golden files (needs libjpeg-turbo's djpeg on PATH)")

// TestLibjpegModeMatchesDjpegOnPhoto compares ModeLibjpeg with djpeg's decode of a 16-megapixel
// progressive sample photo at 101×97 points spread over it (the golden file holds djpeg's RGB
// there; the photo itself stays outside the repository).
func TestLibjpegModeMatchesDjpegOnPhoto(t *testing.T) {
	photo := filepath.Join(sampleDir, "sample_image_2.jpeg")
	data, err := os.ReadFile(photo)
	if err != nil {
		t.Fatalf("sample photo (the shared test data must sit beside the repository): %v", err)
	}
	w, h, err := Config(data)
	if err != nil {
		t.Fatal(err)
	}
	rows, cols := spread(h, 101), spread(w, 97)
	golden := filepath.Join("testdata", "sample_image_2.libjpeg.points")
	if *update {
		ppm := filepath.Join(t.TempDir(), "photo.ppm")
		if out, err := exec.Command("djpeg", "-ppm", "-outfile", ppm, photo).CombinedOutput(); err != nil {
			t.Fatalf("djpeg: %v %s", err, out)
		}
		b, err := os.ReadFile(ppm)
		if err != nil {
			t.Fatal(err)
		}
		pw, _, px := readPNM(t, b)
		var pts []byte
		for _, y := range rows {
			for _, x := range cols {
				pts = append(pts, px[(y*pw+x)*3:(y*pw+x)*3+3]...)
			}
		}
		if err := os.WriteFile(golden, pts, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]uint8, len(rows)*len(cols)*3)
	if err := Sample(data, rows, cols, got, ModeLibjpeg); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		n := 0
		for i := range got {
			if got[i] != want[i] {
				n++
			}
		}
		t.Fatalf("%d of %d values differ from djpeg", n, len(got))
	}
}
