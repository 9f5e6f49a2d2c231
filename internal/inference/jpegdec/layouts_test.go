package jpegdec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// needTool fails the test (never skips it) when a libjpeg-turbo program is missing.
func needTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not found: run `make deps` (installs libjpeg-turbo-progs)", name)
	}
}

// testPPM writes a w×h binary PPM with smooth gradients, sharp colour edges and a noise-like
// texture, so every upsampler and colour path is exercised.
func testPPM(t testing.TB, dir string, w, h int) string {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "P6\n%d %d\n255\n", w, h)
	for y := range h {
		for x := range w {
			r := uint8(x * 255 / max(w-1, 1))
			g := uint8(y * 255 / max(h-1, 1))
			bl := uint8((x*37 + y*91 + x*y*7) % 256)
			if (x/5+y/3)%2 == 0 {
				r, bl = 255-r, 255-bl
			}
			if x%11 == 3 {
				g = 0
			}
			b.Write([]byte{r, g, bl})
		}
	}
	p := filepath.Join(dir, fmt.Sprintf("src%dx%d.ppm", w, h))
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// cjpegLayouts are cjpeg option sets covering the layouts libjpeg-turbo writes and reads.
var cjpegLayouts = map[string][]string{
	"444":                {"-sample", "1x1"},
	"422":                {"-sample", "2x1"},
	"440":                {"-sample", "1x2"},
	"420":                {},
	"411 (4x1)":          {"-sample", "4x1"},
	"1x4":                {"-sample", "1x4"},
	"4x2":                {"-sample", "4x2"},
	"2x4":                {"-sample", "2x4"},
	"3x1":                {"-sample", "3x1"},
	"1x3":                {"-sample", "1x3"},
	"3x3 separate scans": {"-sample", "3x3", "-scans", "@sequential_separate"},
	"4x4 separate scans": {"-sample", "4x4", "-scans", "@sequential_separate"},
	"4x4 prog separate":  {"-sample", "4x4,2x2,1x1", "-scans", "@progressive_separate"},
	"2x2,2x1,1x2":        {"-sample", "2x2,2x1,1x2"},
	"2x2,1x2,2x1":        {"-sample", "2x2,1x2,2x1"},
	"2x1,1x2,1x1":        {"-sample", "2x1,1x2,1x1"},
	"luma subsampled":    {"-sample", "1x1,2x2,2x2"},
	"4x2,1x1,1x1":        {"-sample", "4x2,1x1,1x1"},
	"3x2,1x1,1x1":        {"-sample", "3x2,1x1,1x1"},
	"4x2,1x1,2x2 scans":  {"-sample", "4x2,1x1,2x2", "-scans", "@sequential_partial"},
	"4x1,2x1,1x1":        {"-sample", "4x1,2x1,1x1"},
	"2x2,1x1,1x2":        {"-sample", "2x2,1x1,1x2"},
	"grey":               {"-grayscale"},
	"grey 2x2":           {"-grayscale", "-sample", "2x2"},
	"rgb":                {"-rgb"},
	"rgb blue 2x2":       {"-rgb", "-sample", "1x1,1x1,2x2"},
	"rgb 2x1":            {"-rgb", "-sample", "2x1,1x1,1x1"},
	"optimized":          {"-optimize"},
	"quality 100":        {"-quality", "100", "-sample", "2x1,1x1,1x2"},
	"quality 2":          {"-quality", "2"},
	"restart 1 row":      {"-restart", "1"},
	"restart 1 block":    {"-restart", "1B"},
	"restart 5 blocks":   {"-restart", "5B", "-sample", "4x1"},
	"restart 3x3":        {"-restart", "2B", "-sample", "3x3,1x1,1x1", "-scans", "@sequential_separate"},
	"restart 3x2 rows":   {"-restart", "1", "-sample", "3x2,1x1,1x1"},
	"prog 420":           {"-progressive"},
	"prog 444":           {"-progressive", "-sample", "1x1"},
	"prog 4x1":           {"-progressive", "-sample", "4x1"},
	"prog 1x4":           {"-progressive", "-sample", "1x4"},
	"prog mixed":         {"-progressive", "-sample", "2x2,2x1,1x2"},
	"prog grey":          {"-progressive", "-grayscale"},
	"prog rgb":           {"-progressive", "-rgb"},
	"prog restart":       {"-progressive", "-restart", "3B", "-sample", "4x2"},
	"prog restart row":   {"-progressive", "-restart", "1", "-sample", "3x1"},
	"arith 420":          {"-arithmetic"},
	"arith 444":          {"-arithmetic", "-sample", "1x1"},
	"arith 4x1":          {"-arithmetic", "-sample", "4x1"},
	"arith grey":         {"-arithmetic", "-grayscale"},
	"arith restart":      {"-arithmetic", "-restart", "2B", "-sample", "2x2,2x1,1x2"},
	"arith restart row":  {"-arithmetic", "-restart", "1"},
	"arith rgb":          {"-arithmetic", "-rgb"},
	"arith q100":         {"-arithmetic", "-quality", "100"},
	"arith prog 420":     {"-arithmetic", "-progressive"},
	"arith prog 444":     {"-arithmetic", "-progressive", "-sample", "1x1", "-quality", "98"},
	"arith prog grey":    {"-arithmetic", "-progressive", "-grayscale"},
	"arith prog restart": {"-arithmetic", "-progressive", "-restart", "3B", "-sample", "1x4"},
	"arith prog custom":  {"-arithmetic", "-scans", "@progressive_custom", "-sample", "4x1,1x1,2x1"},
	"arith separate":     {"-arithmetic", "-scans", "@sequential_separate", "-sample", "2x2"},
	"non-interleaved":    {"-scans", "@sequential_separate"},
	"partly interleaved": {"-scans", "@sequential_partial", "-sample", "2x2,1x2,1x1"},
	"prog custom scans":  {"-scans", "@progressive_custom", "-sample", "4x1,1x1,2x1"},
}

// Scan scripts for cjpeg -scans (see libjpeg's wizard.txt): each line is one scan.
var scanScripts = map[string]string{
	"sequential_separate": "0;\n1;\n2;\n",
	"sequential_partial":  "0;\n1 2;\n",
	"progressive_separate": "0: 0-0, 0, 1;\n1: 0-0, 0, 0;\n2: 0-0, 0, 0;\n0: 1-63, 0, 1;\n0: 0-0, 1, 0;\n" +
		"2: 1-63, 0, 0;\n1: 1-63, 0, 0;\n0: 1-63, 1, 0;\n",
	"progressive_custom": "0 1: 0-0, 0, 1;\n2: 0-0, 0, 1;\n0: 1-5, 0, 2;\n2: 1-63, 0, 1;\n1: 1-63, 0, 0;\n" +
		"0: 6-63, 0, 2;\n0 1 2: 0-0, 1, 0;\n0: 1-63, 2, 1;\n2: 1-63, 1, 0;\n0: 1-63, 1, 0;\n",
}

// layoutFiles encodes src with each option set; "@name" arguments name a scan script.
func layoutFile(t testing.TB, dir, src string, opts []string) []byte {
	t.Helper()
	args := []string{"-quality", "85"}
	for _, o := range opts {
		if name, ok := strings.CutPrefix(o, "@"); ok {
			p := filepath.Join(dir, name+".txt")
			if err := os.WriteFile(p, []byte(scanScripts[name]), 0o644); err != nil {
				t.Fatal(err)
			}
			o = p
		}
		args = append(args, o)
	}
	return run(t, "cjpeg", append(args, src)...)
}

// djpegRGB is libjpeg-turbo's decode at its defaults (islow IDCT, fancy upsampling) as RGB.
func djpegRGB(t *testing.T, dir string, data []byte) (w, h int, rgb []uint8) {
	t.Helper()
	p := filepath.Join(dir, "in.jpg")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return readPNM(t, run(t, "djpeg", "-ppm", p))
}

// TestLayoutsMatchDjpeg encodes test images with every cjpeg layout at test time and checks that
// ModeLibjpeg reproduces djpeg's pixels exactly, that sampling a subset agrees with the full
// decode, and that the DC-only decode accepts the file.
func TestLayoutsMatchDjpeg(t *testing.T) {
	needTool(t, "cjpeg")
	needTool(t, "djpeg")
	dir := t.TempDir()
	sizes := [][2]int{{83, 61}, {37, 29}, {5, 3}, {2, 9}}
	var srcs []string
	for _, s := range sizes {
		srcs = append(srcs, testPPM(t, dir, s[0], s[1]))
	}
	for name, opts := range cjpegLayouts {
		t.Run(name, func(t *testing.T) {
			for si, src := range srcs {
				data := layoutFile(t, dir, src, opts)
				w, h, want := djpegRGB(t, t.TempDir(), data)
				if w != sizes[si][0] || h != sizes[si][1] {
					t.Fatalf("djpeg size %dx%d", w, h)
				}
				got := make([]uint8, w*h*3)
				if err := Sample(data, allCoords(h), allCoords(w), got, ModeLibjpeg); err != nil {
					t.Fatalf("%dx%d: %v", w, h, err)
				}
				if bad, maxd := diffCount(got, want); bad != 0 {
					t.Fatalf("%dx%d: %d of %d values differ from djpeg (max %d)", w, h, bad, len(got), maxd)
				}
				rows, cols := []int{h - 1, h / 2, 0}, []int{w / 3, w - 1, 0}
				sub := make([]uint8, 27)
				if err := Sample(data, rows, cols, sub, ModeLibjpeg); err != nil {
					t.Fatal(err)
				}
				for i, y := range rows {
					for j, x := range cols {
						if !bytes.Equal(sub[(i*3+j)*3:(i*3+j)*3+3], want[(y*w+x)*3:(y*w+x)*3+3]) {
							t.Fatalf("%dx%d: sampled pixel (%d,%d) differs from the full decode", w, h, x, y)
						}
					}
				}
				dw, dh := DCSize(w, h)
				if err := SampleDC(data, allCoords(dh), allCoords(dw), make([]uint8, dw*dh*3), ModeLibjpeg); err != nil {
					t.Fatalf("%dx%d DC: %v", w, h, err)
				}
			}
		})
	}
}

func diffCount(got, want []uint8) (bad, maxd int) {
	for i := range got {
		d := int(got[i]) - int(want[i])
		d = max(d, -d)
		maxd = max(maxd, d)
		if d != 0 {
			bad++
		}
	}
	return bad, maxd
}

// TestFractionalSamplingRefused: libjpeg-turbo cannot upsample by 3:2 and neither do we; the
// error is ErrUnsupported (djpeg fails on the same file).
func TestFractionalSamplingRefused(t *testing.T) {
	needTool(t, "cjpeg")
	dir := t.TempDir()
	data := layoutFile(t, dir, testPPM(t, dir, 16, 16), []string{"-sample", "3x1,1x1,1x1"})
	// cjpeg refuses to write 3x1,2x1,1x1 itself; patch the second component's factors.
	sof := bytes.Index(data, []byte{0xFF, 0xC0})
	if sof < 0 || data[sof+14] != 0x11 {
		t.Fatal("unexpected frame header")
	}
	data[sof+14] = 0x21
	err := Sample(data, []int{0}, []int{0}, make([]uint8, 3), ModeLibjpeg)
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
	p := filepath.Join(dir, "frac.jpg")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if exec.Command("djpeg", "-ppm", "-outfile", filepath.Join(dir, "out.ppm"), p).Run() == nil {
		t.Fatal("djpeg decoded a 3:2 subsampled file; this decoder should too")
	}
}
