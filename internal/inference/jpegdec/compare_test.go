package jpegdec

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// sampleDir holds the large sample photos, beside the repository (never copied into it).
const sampleDir = "../../../../shared/testdata/sample_images"

func samplePhotos(t testing.TB) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(sampleDir, "*.jpeg"))
	if len(files) == 0 {
		t.Fatalf("no sample photos in %s (the shared test data must sit beside the repository)", sampleDir)
	}
	return files
}

// spread returns n coordinates spread over [0, size), always including both edges.
func spread(size, n int) []int {
	var s []int
	for i := range n {
		s = append(s, i*(size-1)/max(n-1, 1))
	}
	return s
}

// stdRGB is image/jpeg's RGB at (x, y), converted as image/color does.
func stdRGB(img image.Image, x, y int) [3]uint8 {
	switch m := img.(type) {
	case *image.YCbCr:
		c := m.YCbCrAt(x, y)
		r, g, b := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
		return [3]uint8{r, g, b}
	case *image.Gray:
		v := m.GrayAt(x, y).Y
		return [3]uint8{v, v, v}
	}
	panic("unexpected image type")
}

type diffStats struct {
	max  int
	sum  int
	n    int
	over int // values off by more than 2
}

func compareWithStdlib(t *testing.T, data []byte, rows, cols []int) diffStats {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	rgb := make([]uint8, len(rows)*len(cols)*3)
	if err := Sample(data, rows, cols, rgb, ModeStdlib); err != nil {
		t.Fatal(err)
	}
	var st diffStats
	for i, y := range rows {
		for j, x := range cols {
			want := stdRGB(img, x, y)
			for c := range 3 {
				d := int(rgb[(i*len(cols)+j)*3+c]) - int(want[c])
				d = max(d, -d)
				st.max = max(st.max, d)
				st.sum += d
				st.n++
				if d > 2 {
					st.over++
				}
			}
		}
	}
	return st
}

func TestSamplePhotosMatchStdlib(t *testing.T) {
	// One photo (progressive 4:2:0, 16 MP) keeps the race-enabled run short; cspipe bench
	// --decode compares all of them.
	for _, f := range samplePhotos(t) {
		if filepath.Base(f) != "sample_image_2.jpeg" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		w, h, err := Config(data)
		if err != nil {
			t.Fatal(err)
		}
		st := compareWithStdlib(t, data, spread(h, 97), spread(w, 89))
		t.Logf("%s: max %d mean %.4f over2 %d of %d", filepath.Base(f), st.max, float64(st.sum)/float64(st.n), st.over, st.n)
		if st.max > 3 || float64(st.sum)/float64(st.n) > 0.1 {
			t.Fatalf("%s differs from image/jpeg: max %d, mean %.4f", filepath.Base(f), st.max, float64(st.sum)/float64(st.n))
		}
	}
}
