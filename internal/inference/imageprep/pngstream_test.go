package imageprep

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image/png"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"testing"
)

// pngSpec describes a PNG the test writer produces: any colour type and bit depth, optional
// palette and tRNS, random or fixed filters, optionally Adam7-interlaced.
type pngSpec struct {
	w, h          int
	colour, depth uint8
	palette       int // entries; indices may point past them
	trns          bool
	interlace     bool
	filter        int // -1: random per row
	exif          Orientation
	pixels        func(x, y, ch int) int // sample value before packing (0..2^depth-1)
}

func chunk(b *bytes.Buffer, typ string, p []byte) {
	binary.Write(b, binary.BigEndian, uint32(len(p)))
	body := append([]byte(typ), p...)
	b.Write(body)
	binary.Write(b, binary.BigEndian, crc32.ChecksumIEEE(body))
}

// exifTIFF is a big-endian TIFF block whose IFD0 holds only the orientation tag.
func exifTIFF(o Orientation) []byte {
	b := []byte("MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01")
	return append(b, 0, byte(o), 0, 0, 0, 0, 0, 0)
}

// filterRow applies filter f to raw (in place into out) given the previous raw row.
func filterRow(f byte, raw, prev []byte, bpp int) []byte {
	out := make([]byte, len(raw))
	for i := range raw {
		var a, b, c int
		if i >= bpp {
			a, c = int(raw[i-bpp]), int(prev[i-bpp])
		}
		b = int(prev[i])
		var pred int
		switch f {
		case 1:
			pred = a
		case 2:
			pred = b
		case 3:
			pred = (a + b) / 2
		case 4:
			pred = int(paethRef(a, b, c))
		}
		out[i] = raw[i] - byte(pred)
	}
	return out
}

// paethRef is the PNG specification's Paeth predictor, written from the spec's pseudo-code.
func paethRef(a, b, c int) byte {
	p := a + b - c
	pa, pb, pc := p-a, p-b, p-c
	if pa < 0 {
		pa = -pa
	}
	if pb < 0 {
		pb = -pb
	}
	if pc < 0 {
		pc = -pc
	}
	if pa <= pb && pa <= pc {
		return byte(a)
	}
	if pb <= pc {
		return byte(b)
	}
	return byte(c)
}

func writePNG(t testing.TB, s pngSpec, rng *rand.Rand) []byte {
	t.Helper()
	channels := map[uint8]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[s.colour]
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, uint32(s.w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(s.h))
	ihdr[8], ihdr[9] = s.depth, s.colour
	if s.interlace {
		ihdr[12] = 1
	}
	chunk(&b, "IHDR", ihdr)
	if s.exif != 0 {
		chunk(&b, "eXIf", exifTIFF(s.exif))
	}
	if s.palette > 0 {
		p := make([]byte, 3*s.palette)
		for i := range p {
			p[i] = byte(rng.IntN(256))
		}
		chunk(&b, "PLTE", p)
	}
	if s.trns {
		switch s.colour {
		case 0:
			chunk(&b, "tRNS", []byte{0, byte(s.pixels(1, 1, 0))})
		case 2:
			chunk(&b, "tRNS", []byte{0, 1, 0, 2, 0, 3})
		case 3:
			chunk(&b, "tRNS", bytes.Repeat([]byte{7}, s.palette/2+1))
		}
	}
	bitsPP := int(s.depth) * channels
	bpp := max(1, bitsPP/8)
	var raw bytes.Buffer
	pass := func(x0, y0, dx, dy int) {
		pw, ph := (s.w-x0+dx-1)/dx, (s.h-y0+dy-1)/dy
		if pw <= 0 || ph <= 0 {
			return
		}
		rowBytes := (pw*bitsPP + 7) / 8
		prev := make([]byte, rowBytes)
		for py := range ph {
			row := make([]byte, rowBytes)
			for px := range pw {
				for c := range channels {
					v := s.pixels(x0+px*dx, y0+py*dy, c)
					bit := (px*channels + c) * int(s.depth)
					switch s.depth {
					case 16:
						row[bit/8], row[bit/8+1] = byte(v>>8), byte(v)
					case 8:
						row[bit/8] = byte(v)
					default:
						row[bit/8] |= byte(v << (8 - int(s.depth) - bit%8))
					}
				}
			}
			f := byte(s.filter)
			if s.filter < 0 {
				f = byte(rng.IntN(5))
			}
			raw.WriteByte(f)
			raw.Write(filterRow(f, row, prev, bpp))
			prev = row
		}
	}
	if s.interlace {
		for _, p := range [][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}} {
			pass(p[0], p[1], p[2], p[3])
		}
	} else {
		pass(0, 0, 1, 1)
	}
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	zw.Write(raw.Bytes())
	zw.Close()
	// Split the stream over several IDAT chunks, as encoders do.
	zb := z.Bytes()
	for len(zb) > 0 {
		n := min(len(zb), 1+rng.IntN(4096))
		chunk(&b, "IDAT", zb[:n])
		zb = zb[n:]
	}
	chunk(&b, "IEND", nil)
	return b.Bytes()
}

func pngSpecs() map[string]pngSpec {
	noise := func(max int) func(x, y, ch int) int {
		// A hash of the position: values uncorrelated with their neighbours, so every filter
		// and every Paeth tie occurs.
		return func(x, y, ch int) int {
			h := uint32(x)*2654435761 ^ uint32(y)*2246822519 ^ uint32(ch)*3266489917
			h ^= h >> 15
			h *= 668265263
			h ^= h >> 13
			return int(h % uint32(max+1))
		}
	}
	specs := map[string]pngSpec{}
	for _, d := range []uint8{1, 2, 4, 8, 16} {
		specs[fmt.Sprintf("grey%d", d)] = pngSpec{colour: 0, depth: d, pixels: noise(1<<d - 1)}
		specs[fmt.Sprintf("grey%d tRNS", d)] = pngSpec{colour: 0, depth: d, trns: true, pixels: noise(1<<d - 1)}
		if d <= 8 {
			n := 1 << d
			specs[fmt.Sprintf("palette%d", d)] = pngSpec{colour: 3, depth: d, palette: n, pixels: noise(n - 1)}
			specs[fmt.Sprintf("palette%d short tRNS", d)] = pngSpec{colour: 3, depth: d, palette: max(n/2, 1), trns: true, pixels: noise(n - 1)}
		}
		if d >= 8 {
			specs[fmt.Sprintf("rgb%d", d)] = pngSpec{colour: 2, depth: d, pixels: noise(1<<d - 1)}
			specs[fmt.Sprintf("rgb%d tRNS", d)] = pngSpec{colour: 2, depth: d, trns: true, pixels: noise(1<<d - 1)}
			specs[fmt.Sprintf("grey-alpha%d", d)] = pngSpec{colour: 4, depth: d, pixels: noise(1<<d - 1)}
			specs[fmt.Sprintf("rgba%d", d)] = pngSpec{colour: 6, depth: d, pixels: noise(1<<d - 1)}
		}
	}
	return specs
}

// TestPNGStreamMatchesImagePNG decodes PNGs of every colour type and bit depth, written with
// random filters, with the streaming decoder and with image/png, and requires every pixel's RGB
// to be equal; then the same through Prepare (streamed) against image/png and the same resize.
func TestPNGStreamMatchesImagePNG(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for name, s := range pngSpecs() {
		for _, size := range [][2]int{{1, 1}, {7, 5}, {37, 23}} {
			s.w, s.h, s.filter = size[0], size[1], -1
			data := writePNG(t, s, rng)
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("%s %v: image/png: %v", name, size, err)
			}
			rows, cols := allIndices(s.h), allIndices(s.w)
			got := make([]uint8, s.w*s.h*3)
			if err := samplePNG(data, rows, cols, got); err != nil {
				t.Fatalf("%s %v: %v", name, size, err)
			}
			want := make([]uint8, s.w*s.h*3)
			sampleImage(img, rows, cols, want)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s %v: streamed pixels differ from image/png", name, size)
			}
			o := Options{Width: 5, Height: 3}
			a, b := make([]float32, o.TensorLen()), make([]float32, o.TensorLen())
			res, err := Prepare(data, o, a)
			if err != nil || res.Path != PathStream {
				t.Fatalf("%s %v: Prepare path %q err %v", name, size, res.Path, err)
			}
			hdr, _ := ReadHeader(data)
			g, err := decodeStd(data, hdr, o, 1, stdPNG)
			if err != nil {
				t.Fatal(err)
			}
			sc, _ := parseInputRange("")
			g.resize(b, sc)
			if !equalFloats(a, b) {
				t.Fatalf("%s %v: streamed tensor differs from image/png's", name, size)
			}
		}
	}
}

// TestPNGInterlacedDecodedWhole: Adam7 files go to image/png, with the same pixels.
func TestPNGInterlacedDecodedWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	s := pngSpecs()["rgb8"]
	s.w, s.h, s.filter, s.interlace = 19, 13, -1, true
	data := writePNG(t, s, rng)
	if err := samplePNG(data, []int{0}, []int{0}, make([]uint8, 3)); err != errInterlaced {
		t.Fatalf("err = %v, want errInterlaced", err)
	}
	s.interlace = false
	flat := writePNG(t, s, rng)
	o := Options{Width: 6, Height: 4}
	a, b := make([]float32, o.TensorLen()), make([]float32, o.TensorLen())
	res, err := Prepare(data, o, a)
	if err != nil || res.Path != PathStdlib {
		t.Fatalf("interlaced: path %q err %v", res.Path, err)
	}
	if _, err := Prepare(flat, o, b); err != nil {
		t.Fatal(err)
	}
	if !equalFloats(a, b) {
		t.Fatal("interlaced and non-interlaced encodings of the same pixels prepare differently")
	}
}

// TestPNGStreamErrors: damaged files fail with a code, as image/png fails on them.
func TestPNGStreamErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	s := pngSpecs()["rgba8"]
	s.w, s.h, s.filter = 40, 30, -1
	good := writePNG(t, s, rng)
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-20] ^= 0x40 // inside the last IDAT
	noIEND := good[:len(good)-12]
	for name, data := range map[string][]byte{"checksum": badCRC, "no IEND": noIEND, "cut in IDAT": good[:len(good)/2]} {
		if _, err := png.Decode(bytes.NewReader(data)); err == nil && name != "no IEND" {
			t.Fatalf("%s: image/png accepts it; the test is wrong", name)
		}
		o := Options{Width: 4, Height: 4}
		if _, err := Prepare(data, o, make([]float32, o.TensorLen())); err == nil {
			t.Fatalf("%s: accepted", name)
		}
	}
}

// TestPNGStreamMemory: a 3-megapixel PNG is resized while holding a few rows; image/png needs
// the whole 9 MB image (and more as the photo grows, where the streamed decode does not).
func TestPNGStreamMemory(t *testing.T) {
	// Built directly (eight distinct rows repeated, filter None) so the race-enabled run stays
	// quick; the decoder still inflates and unfilters every row.
	const w, h = 2000, 1500
	rows := make([][]byte, 8)
	for i := range rows {
		rows[i] = make([]byte, 1+3*w)
		for x := range 3 * w {
			rows[i][1+x] = byte(x/48 + i*31)
		}
	}
	var raw bytes.Buffer
	for y := range h {
		raw.Write(rows[y%8])
	}
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	zw.Write(raw.Bytes())
	zw.Close()
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	chunk(&b, "IHDR", ihdr)
	chunk(&b, "IDAT", z.Bytes())
	chunk(&b, "IEND", nil)
	data := b.Bytes()
	alloc := func(o Options, stream bool) float64 {
		dst := make([]float32, o.TensorLen())
		runtime.GC()
		old := debug.SetGCPercent(-1)
		defer debug.SetGCPercent(old)
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		if stream {
			if res, err := Prepare(data, o, dst); err != nil || res.Path != PathStream {
				t.Fatalf("path %q err %v", res.Path, err)
			}
		} else if _, err := png.Decode(bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&b)
		return float64(b.TotalAlloc-a.TotalAlloc) / (1 << 20)
	}
	o := Options{Width: 224, Height: 224}
	streamMB, wholeMB := alloc(o, true), alloc(o, false)
	t.Logf("allocated: streamed %.2f MB, image/png %.1f MB", streamMB, wholeMB)
	if streamMB > 2 || wholeMB < 8 {
		t.Fatalf("streamed decode allocated %.2f MB (limit 2); image/png %.1f MB", streamMB, wholeMB)
	}
}

func allIndices(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func equalFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
