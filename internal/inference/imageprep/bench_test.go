package imageprep

import (
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

// BenchmarkDecodeResize times decode+resize to 224×224 of each sample photo with image/jpeg,
// our exact decoder and the fast (DC) path. Run with -benchmem: B/op is everything one decode
// allocates, an upper bound of its peak heap (TestLargestPhotoMemoryAndFastMode bounds it).
func BenchmarkDecodeResize(b *testing.B) {
	for _, f := range samplePhotos(b) {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		for _, mode := range []struct {
			name string
			o    Options
		}{
			{"stdlib", Options{Stdlib: true}},
			{"exact", Options{}},
			{"fast", Options{Fast: true}},
		} {
			b.Run(filepath.Base(f)+"/"+mode.name, func(b *testing.B) {
				o := mode.o
				o.Width, o.Height = 224, 224
				dst := make([]float32, o.TensorLen())
				for b.Loop() {
					res, err := Prepare(data, o, dst)
					if err != nil {
						b.Fatal(err)
					}
					if res.Path != mode.name {
						b.Fatalf("path %s, want %s", res.Path, mode.name)
					}
				}
			})
		}
	}
}
