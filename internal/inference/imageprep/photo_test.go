package imageprep

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
)

// TestLargestPhotoMemoryAndFastMode decodes the 31-megapixel progressive sample photo with the
// exact and fast paths: the exact path must allocate far less than a full decode (image/jpeg
// allocates about 224 MB for it, libjpeg-turbo's djpeg peaks near 95 MB), and the fast
// tensor must stay close to the exact one.
func TestLargestPhotoMemoryAndFastMode(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(sampleDir, "sample_image_3.jpeg"))
	if err != nil {
		t.Fatalf("sample photo (the shared test data must sit beside the repository): %v", err)
	}
	run := func(o Options) ([]float32, string, float64) {
		o.Width, o.Height = 224, 224
		dst := make([]float32, o.TensorLen())
		runtime.GC()
		old := debug.SetGCPercent(-1)
		defer debug.SetGCPercent(old)
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		res, err := Prepare(data, o, dst)
		runtime.ReadMemStats(&b)
		if err != nil {
			t.Fatal(err)
		}
		if res.Width != 6829 || res.Height != 4558 {
			t.Fatalf("size %dx%d", res.Width, res.Height)
		}
		return dst, res.Path, float64(b.TotalAlloc-a.TotalAlloc) / (1 << 20)
	}
	exact, path, exactMB := run(Options{})
	if path != PathExact {
		t.Fatalf("exact path ran %s", path)
	}
	fast, path, fastMB := run(Options{Fast: true})
	if path != PathFast {
		t.Fatalf("fast path ran %s", path)
	}
	t.Logf("allocated: exact %.1f MB, fast %.1f MB", exactMB, fastMB)
	if exactMB > 48 || fastMB > 8 {
		t.Fatalf("allocated exact %.1f MB (limit 48), fast %.1f MB (limit 8)", exactMB, fastMB)
	}
	var sum, maxAbs float64
	for i := range exact {
		d := math.Abs(float64(exact[i] - fast[i]))
		sum += d
		maxAbs = max(maxAbs, d)
	}
	mean := sum / float64(len(exact))
	t.Logf("fast vs exact: mean abs %.4f, max abs %.3f", mean, maxAbs)
	if mean > 0.02 {
		t.Fatalf("fast tensor differs from exact by %.4f on average", mean)
	}
}
