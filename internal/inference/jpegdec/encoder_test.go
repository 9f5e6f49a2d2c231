package jpegdec

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// A minimal baseline JPEG encoder for layouts cjpeg cannot write (four-component CMYK and
// YCCK): one interleaved scan, one quantisation table, and fixed Huffman tables that give every
// DC size a 4-bit code and every AC symbol an 8-bit one.

type encComp struct {
	h, v  int
	plane []uint8 // cw × ch samples at the component's resolution
}

type bitWriter struct {
	buf  bytes.Buffer
	acc  uint32
	nacc uint
}

func (w *bitWriter) put(v uint32, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | (v>>uint(i))&1
		w.nacc++
		if w.nacc == 8 {
			b := byte(w.acc)
			w.buf.WriteByte(b)
			if b == 0xFF {
				w.buf.WriteByte(0)
			}
			w.acc, w.nacc = 0, 0
		}
	}
}

func (w *bitWriter) flush() {
	for w.nacc != 0 {
		w.put(1, 1)
	}
}

// acSymbols lists every AC run/size symbol; its index is its 8-bit code.
var acSymbols = func() []uint8 {
	s := []uint8{0x00, 0xF0}
	for r := range 16 {
		for sz := 1; sz <= 10; sz++ {
			s = append(s, uint8(r<<4|sz))
		}
	}
	return s
}()

// magnitude returns JPEG's size category of v and its value bits.
func magnitude(v int) (uint, uint32) {
	a := max(v, -v)
	n := uint(0)
	for a>>n != 0 {
		n++
	}
	if v < 0 {
		v += 1<<n - 1
	}
	return n, uint32(v)
}

func encodeJPEG(t testing.TB, w, h int, comps []encComp, adobe int) []byte {
	t.Helper()
	const q = 3
	hmax, vmax := 1, 1
	for _, c := range comps {
		hmax, vmax = max(hmax, c.h), max(vmax, c.v)
	}
	mx, my := (w+8*hmax-1)/(8*hmax), (h+8*vmax-1)/(8*vmax)
	var out bytes.Buffer
	seg := func(marker byte, p []byte) {
		out.Write([]byte{0xFF, marker, byte((len(p) + 2) >> 8), byte(len(p) + 2)})
		out.Write(p)
	}
	out.Write([]byte{0xFF, 0xD8})
	if adobe >= 0 {
		seg(0xEE, []byte{'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, byte(adobe)})
	}
	dqt := []byte{0}
	for range 64 {
		dqt = append(dqt, q)
	}
	seg(0xDB, dqt)
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(len(comps))}
	for i, c := range comps {
		sof = append(sof, byte(i+1), byte(c.h<<4|c.v), 0)
	}
	seg(0xC0, sof)
	dht := []byte{0x00, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	for i := range 12 {
		dht = append(dht, byte(i))
	}
	dht = append(dht, 0x10, 0, 0, 0, 0, 0, 0, 0, byte(len(acSymbols)), 0, 0, 0, 0, 0, 0, 0, 0)
	dht = append(dht, acSymbols...)
	seg(0xC4, dht)
	acCode := map[uint8]uint32{}
	for i, s := range acSymbols {
		acCode[s] = uint32(i)
	}
	sos := []byte{byte(len(comps))}
	for i := range comps {
		sos = append(sos, byte(i+1), 0x00)
	}
	seg(0xDA, append(sos, 0, 63, 0))
	bw := &bitWriter{}
	pred := make([]int, len(comps))
	for y := range my {
		for x := range mx {
			for ci, c := range comps {
				cw, ch := (w*c.h+hmax-1)/hmax, (h*c.v+vmax-1)/vmax
				for v := range c.v {
					for u := range c.h {
						var blk [64]float64
						for j := range 64 {
							sy := min((y*c.v+v)*8+j/8, ch-1)
							sx := min((x*c.h+u)*8+j%8, cw-1)
							blk[j] = float64(c.plane[sy*cw+sx]) - 128
						}
						coef := fdct(&blk)
						n, bits := magnitude(coef[0]/q - pred[ci])
						pred[ci] = coef[0] / q
						bw.put(uint32(n), 4)
						bw.put(bits, n)
						run := 0
						for k := 1; k < 64; k++ {
							a := coef[unzig[k]] / q
							if a == 0 {
								run++
								continue
							}
							for ; run > 15; run -= 16 {
								bw.put(acCode[0xF0], 8)
							}
							n, bits := magnitude(a)
							bw.put(acCode[uint8(run<<4)|uint8(n)], 8)
							bw.put(bits, n)
							run = 0
						}
						if run > 0 {
							bw.put(acCode[0], 8)
						}
					}
				}
			}
		}
	}
	bw.flush()
	out.Write(bw.buf.Bytes())
	out.Write([]byte{0xFF, 0xD9})
	return out.Bytes()
}

// fdct is a plain floating-point forward DCT, rounded to integers (natural order).
func fdct(b *[64]float64) (c [64]int) {
	for v := range 8 {
		for u := range 8 {
			var s float64
			for y := range 8 {
				for x := range 8 {
					s += b[y*8+x] * idctBasis[x][u] * idctBasis[y][v]
				}
			}
			c[v*8+u] = int(math.Round(s))
		}
	}
	return c
}

// TestFourComponentsMatchDjpeg checks CMYK (with and without an Adobe marker) and YCCK files,
// with full and subsampled components, against djpeg's RGB output.
func TestFourComponentsMatchDjpeg(t *testing.T) {
	needTool(t, "djpeg")
	const w, h = 45, 23
	plane := func(cw, ch, seed int) []uint8 {
		p := make([]uint8, cw*ch)
		for i := range p {
			x, y := i%cw, i/cw
			p[i] = uint8((x*(seed+3)*255/cw + y*seed*17 + (x/4+y/3)%2*90) % 256)
		}
		return p
	}
	for _, tc := range []struct {
		name    string
		adobe   int
		factors [4][2]int
	}{
		{"cmyk no marker", -1, [4][2]int{{1, 1}, {1, 1}, {1, 1}, {1, 1}}},
		{"cmyk adobe 0", 0, [4][2]int{{1, 1}, {1, 1}, {1, 1}, {1, 1}}},
		{"cmyk 2x2 K", 0, [4][2]int{{1, 1}, {1, 1}, {1, 1}, {2, 2}}},
		{"ycck 1x1", 2, [4][2]int{{1, 1}, {1, 1}, {1, 1}, {1, 1}}},
		{"ycck 2x2", 2, [4][2]int{{2, 2}, {1, 1}, {1, 1}, {2, 2}}},
		{"ycck 2x1", 2, [4][2]int{{2, 1}, {1, 1}, {1, 1}, {2, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hmax, vmax := 1, 1
			for _, f := range tc.factors {
				hmax, vmax = max(hmax, f[0]), max(vmax, f[1])
			}
			var comps []encComp
			for i, f := range tc.factors {
				cw, ch := (w*f[0]+hmax-1)/hmax, (h*f[1]+vmax-1)/vmax
				comps = append(comps, encComp{h: f[0], v: f[1], plane: plane(cw, ch, i+1)})
			}
			data := encodeJPEG(t, w, h, comps, tc.adobe)
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "x.jpg"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			gw, gh, want := djpegRGB(t, dir, data)
			if gw != w || gh != h {
				t.Fatalf("djpeg size %dx%d", gw, gh)
			}
			got := make([]uint8, w*h*3)
			if err := Sample(data, allCoords(h), allCoords(w), got, ModeLibjpeg); err != nil {
				t.Fatal(err)
			}
			if bad, maxd := diffCount(got, want); bad != 0 {
				t.Fatalf("%d of %d values differ from djpeg (max %d)", bad, len(got), maxd)
			}
			dw, dh := DCSize(w, h)
			if err := SampleDC(data, allCoords(dh), allCoords(dw), make([]uint8, dw*dh*3), ModeLibjpeg); err != nil {
				t.Fatal(err)
			}
		})
	}
}
