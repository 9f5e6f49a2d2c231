package jpegdec

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The benchmarks below decode the sample photos at the pixels a 224×224 bilinear resize reads
// (what imageprep asks of Sample), and report CPU time per decode as well as wall time: CPU
// time is what the "× faster than djpeg" is stated in, and it moves less than wall
// time when other jobs share the cores. scripts/jpegdec-ab.sh runs two builds of these
// benchmarks interleaved and compares their medians.

// resizeTarget is the model input side the benchmarks decode for.
const resizeTarget = 224

// resizeSamples lists the source coordinates (ascending, unique) that a bilinear resize of in
// samples to out reads, with TensorFlow's half-pixel centres: imageprep's planAxis.
func resizeSamples(in, out int) []int {
	scale := float32(in) / float32(out)
	var s []int
	for i := range out {
		src := float32(float32(float32(i)+0.5)*scale) - 0.5
		lo := max(int(math.Floor(float64(src))), 0)
		hi := min(int(math.Ceil(float64(src))), in-1)
		s = append(s, lo, hi)
	}
	slices.Sort(s)
	return slices.Compact(s)
}

func TestResizeSamples(t *testing.T) {
	got := resizeSamples(20, 4) // centres at 2, 7, 12, 17 exactly
	if want := []int{2, 7, 12, 17}; !slices.Equal(got, want) {
		t.Fatalf("resizeSamples(20, 4) = %v, want %v", got, want)
	}
	got = resizeSamples(10, 4) // 0.75, 3.25, 5.75, 8.25
	if want := []int{0, 1, 3, 4, 5, 6, 8, 9}; !slices.Equal(got, want) {
		t.Fatalf("resizeSamples(10, 4) = %v, want %v", got, want)
	}
}

// benchPhoto is one sample photo with the resize's sample set.
type benchPhoto struct {
	name       string
	path       string
	data       []byte
	rows, cols []int
}

func loadBenchPhotos(b *testing.B) []benchPhoto {
	b.Helper()
	var out []benchPhoto
	for _, p := range samplePhotos(b) {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		w, h, err := Config(data)
		if err != nil {
			b.Fatalf("%s: %v", p, err)
		}
		name := filepath.Base(p)
		name = name[:len(name)-len(filepath.Ext(name))]
		out = append(out, benchPhoto{name: name, path: p, data: data,
			rows: resizeSamples(h, resizeTarget), cols: resizeSamples(w, resizeTarget)})
	}
	return out
}

// processCPU is this process's user plus system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func cpuMS(d time.Duration, n int) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }

// BenchmarkSamplePhotos is the exact (ModeLibjpeg) decode of each sample photo at the resize's
// sample set; cpu-ms/op is the process's CPU time per decode.
func BenchmarkSamplePhotos(b *testing.B) {
	for _, ph := range loadBenchPhotos(b) {
		b.Run(ph.name, func(b *testing.B) {
			rgb := make([]uint8, len(ph.rows)*len(ph.cols)*3)
			if err := Sample(ph.data, ph.rows, ph.cols, rgb, ModeLibjpeg); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			cpu0 := processCPU()
			for range b.N {
				if err := Sample(ph.data, ph.rows, ph.cols, rgb, ModeLibjpeg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(cpuMS(processCPU()-cpu0, b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkExactVsDjpeg alternates djpeg's full decode of each sample photo (to PPM, thrown
// away) with our exact decode at the resize's sample set, so both meet the same load, and
// reports each one's CPU time per decode and djpeg's over ours (x-djpeg, the target:
// at least 2). djpeg's CPU time is the child's user plus system time.
func BenchmarkExactVsDjpeg(b *testing.B) {
	needTool(b, "djpeg")
	for _, ph := range loadBenchPhotos(b) {
		b.Run(ph.name, func(b *testing.B) {
			rgb := make([]uint8, len(ph.rows)*len(ph.cols)*3)
			var ours, theirs time.Duration
			for range b.N {
				cmd := exec.Command("djpeg", "-ppm", "-outfile", os.DevNull, ph.path)
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("djpeg %s: %v %s", ph.name, err, out)
				}
				theirs += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				cpu0 := processCPU()
				if err := Sample(ph.data, ph.rows, ph.cols, rgb, ModeLibjpeg); err != nil {
					b.Fatal(err)
				}
				ours += processCPU() - cpu0
			}
			b.ReportMetric(cpuMS(ours, b.N), "cpu-ms/op")
			b.ReportMetric(cpuMS(theirs, b.N), "djpeg-cpu-ms/op")
			if ours > 0 {
				b.ReportMetric(float64(theirs)/float64(ours), "x-djpeg")
			}
		})
	}
}

// TestSamplePhotosMatchDjpegAtResizeSamples checks each sample photo's decode at the pixels the
// benchmarks read (every kept block of a 224×224 resize) against djpeg's pixels there, held as
// one SHA-256 per photo in the golden file (-update regenerates it from djpeg): the benchmarked
// path is the one pixel-identical to libjpeg-turbo. On a mismatch with djpeg installed, the
// first differing pixels are reported.
func TestSamplePhotosMatchDjpegAtResizeSamples(t *testing.T) {
	golden := filepath.Join("testdata", "sample_images.resize224.sha256")
	want := map[string]string{}
	if !*update {
		raw, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
			f := strings.Fields(line)
			if len(f) != 2 {
				t.Fatalf("%s: bad line %q", golden, line)
			}
			want[f[1]] = f[0]
		}
	}
	var lines []string
	for _, p := range samplePhotos(t) {
		name := filepath.Base(p)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		w, h, err := Config(data)
		if err != nil {
			t.Fatal(err)
		}
		rows, cols := resizeSamples(h, resizeTarget), resizeSamples(w, resizeTarget)
		if *update {
			sum := sha256.Sum256(djpegAt(t, p, w, h, rows, cols))
			lines = append(lines, hex.EncodeToString(sum[:])+"  "+name)
			continue
		}
		got := make([]uint8, len(rows)*len(cols)*3)
		if err := Sample(data, rows, cols, got, ModeLibjpeg); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sum := sha256.Sum256(got)
		if want[name] == "" {
			t.Fatalf("%s: no golden hash in %s (run with -update)", name, golden)
		}
		if hex.EncodeToString(sum[:]) == want[name] {
			continue
		}
		if _, err := exec.LookPath("djpeg"); err != nil {
			t.Errorf("%s: pixels at the resize's samples differ from djpeg's (hash); install djpeg to see which", name)
			continue
		}
		ref := djpegAt(t, p, w, h, rows, cols)
		bad := 0
		for i := range got {
			if got[i] != ref[i] {
				if bad < 5 {
					px := i / 3
					t.Errorf("%s: pixel (%d,%d) channel %d: %d, djpeg %d", name, cols[px%len(cols)], rows[px/len(cols)], i%3, got[i], ref[i])
				}
				bad++
			}
		}
		t.Errorf("%s: %d of %d values differ from djpeg", name, bad, len(got))
	}
	if *update {
		if err := os.WriteFile(golden, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// djpegAt is djpeg's RGB of the w×h photo at rows × cols.
func djpegAt(t *testing.T, photo string, w, h int, rows, cols []int) []uint8 {
	t.Helper()
	needTool(t, "djpeg")
	ppm := filepath.Join(t.TempDir(), "out.ppm")
	if out, err := exec.Command("djpeg", "-ppm", "-outfile", ppm, photo).CombinedOutput(); err != nil {
		t.Fatalf("djpeg: %v %s", err, out)
	}
	raw, err := os.ReadFile(ppm)
	if err != nil {
		t.Fatal(err)
	}
	dw, dh, full := readPNM(t, raw)
	if dw != w || dh != h {
		t.Fatalf("djpeg size %dx%d, want %dx%d", dw, dh, w, h)
	}
	var out []uint8
	for _, y := range rows {
		for _, x := range cols {
			out = append(out, full[(y*w+x)*3:(y*w+x)*3+3]...)
		}
	}
	return out
}
