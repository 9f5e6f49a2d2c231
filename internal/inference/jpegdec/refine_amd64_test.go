package jpegdec

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

// The assembly refinement (refineAsm) is checked against the Go loop it replaces on the same
// scans: random entropy-coded segments (stuffed bytes, restart and other markers, cut ends,
// codes longer than the lookup table, invalid symbols) over random masks, bands, kept blocks
// and coefficients, and whole decodes of the fixtures and of damaged copies of them.
// Everything must match: masks, coefficients, end-of-band count, error, and the bit reader's
// state (position, buffer, end and marker flags), so the next scan starts from the same place.

func TestRefineStateLayout(t *testing.T) {
	var st refineState
	for _, f := range []struct {
		name      string
		got, want uintptr
	}{
		{"data", unsafe.Offsetof(st.data), 0}, {"len", unsafe.Offsetof(st.len), 8},
		{"pos", unsafe.Offsetof(st.pos), 16}, {"acc", unsafe.Offsetof(st.acc), 24},
		{"n", unsafe.Offsetof(st.n), 32}, {"lut", unsafe.Offsetof(st.lut), 40},
		{"nz", unsafe.Offsetof(st.nz), 48}, {"count", unsafe.Offsetof(st.count), 56},
		{"band", unsafe.Offsetof(st.band), 64}, {"eobrun", unsafe.Offsetof(st.eobrun), 72},
		{"rem", unsafe.Offsetof(st.rem), 80}, {"done", unsafe.Offsetof(st.done), 88},
		{"end", unsafe.Offsetof(st.end), 96}, {"kept", unsafe.Offsetof(st.kept), 104},
		{"coef", unsafe.Offsetof(st.coef), 112}, {"p1", unsafe.Offsetof(st.p1), 120},
		{"al", unsafe.Offsetof(st.al), 124}, {"knz", unsafe.Offsetof(st.knz), 128},
		{"krem", unsafe.Offsetof(st.krem), 136}, {"unzig", unsafe.Offsetof(st.unzig), 144},
	} {
		if f.got != f.want {
			t.Errorf("refineState.%s at %d, refine_amd64.s expects %d", f.name, f.got, f.want)
		}
	}
	var h huffTable
	if d := unsafe.Offsetof(h.runBit) - unsafe.Offsetof(h.lut); d != 1024 {
		t.Errorf("huffTable.runBit at lut+%d, refine_amd64.s expects lut+1024", d)
	}
}

// refineTestTable is an AC table for refinement scans: every run with size 1, end-of-band runs,
// ZRL, two symbols of invalid size, codes from 2 to 16 bits (some beyond the lookup table) and
// a little unused code space (an invalid code).
func refineTestTable(t testing.TB) *huffTable {
	t.Helper()
	byLen := map[int][]uint8{
		2: {0x01, 0x00}, 3: {0x11, 0x21}, 4: {0x31, 0x10}, 5: {0x41, 0xF0}, 6: {0x51, 0x20},
		7: {0x61, 0x30}, 8: {0x71, 0x40}, 9: {0x81, 0x91}, 10: {0xA1, 0x50}, 11: {0xB1, 0xC1},
		12: {0xD1, 0x60}, 13: {0xE1, 0x02}, 16: {0xF1, 0x70, 0x80, 0xE0, 0x13},
	}
	var counts [16]uint8
	var vals []uint8
	for l := 1; l <= 16; l++ {
		counts[l-1] = uint8(len(byLen[l]))
		vals = append(vals, byLen[l]...)
	}
	var tab huffTable
	if err := tab.build(counts, vals); err != nil {
		t.Fatal(err)
	}
	return &tab
}

// refineCase is one run of blocks to refine: the scan's bytes, the reader's starting point, the
// masks, the kept blocks and their coefficients, the band, the bit position and the
// end-of-band count carried in.
type refineCase struct {
	data   []byte
	skip   []uint // bits read before the run (the reader's alignment)
	nz     []uint64
	kept   []int32 // nil: none kept
	coef   []int16
	band   uint64
	al     uint
	eobrun int
}

func randomRefineCase(rng *rand.Rand, stream []byte) refineCase {
	var c refineCase
	if stream == nil {
		n := rng.IntN(300)
		if rng.IntN(8) == 0 {
			n = rng.IntN(12)
		}
		for len(stream) < n {
			switch rng.IntN(60) {
			case 0:
				stream = append(stream, 0xFF, 0x00) // a stuffed 0xFF
			case 1:
				stream = append(stream, 0xFF, 0xD0+byte(rng.IntN(8))) // restart marker
			case 2:
				stream = append(stream, 0xFF, 0xFF, 0xD9) // fill byte, then EOI
			case 3:
				stream = append(stream, 0xFF) // a lone 0xFF (at the end: a cut marker)
			default:
				stream = append(stream, byte(rng.Uint32()))
			}
		}
	}
	c.data = stream
	for range rng.IntN(3) {
		c.skip = append(c.skip, uint(rng.IntN(17)))
	}
	density := []uint64{0, 1, 2, 3}[rng.IntN(4)]
	c.nz = make([]uint64, 1+rng.IntN(40))
	for i := range c.nz {
		m := rng.Uint64()
		for range density {
			m &= rng.Uint64()
		}
		if rng.IntN(3) == 0 {
			m |= rng.Uint64() // dense
		}
		c.nz[i] = m
	}
	ss := 1 + rng.IntN(63)
	se := ss + rng.IntN(64-ss)
	if rng.IntN(3) == 0 {
		ss, se = 1, 63
	}
	c.band = bandMask(ss, se)
	c.al = uint(rng.IntN(14))
	if rng.IntN(4) == 0 {
		c.eobrun = rng.IntN(6)
	}
	if rng.IntN(3) != 0 {
		// Some blocks kept, in any order of slots; their coefficients random multiples
		// of 1<<(al+1) (what the earlier scans leave) or anything at all.
		slots := rng.Perm(len(c.nz))
		c.kept = make([]int32, len(c.nz))
		for i := range c.kept {
			c.kept[i] = -1
			if rng.IntN(3) != 0 {
				c.kept[i] = int32(slots[i])
			}
		}
		c.coef = make([]int16, len(c.nz)*64)
		for i := range c.coef {
			if rng.IntN(2) == 0 {
				c.coef[i] = int16(rng.IntN(64)-32) << (c.al + 1)
			} else if rng.IntN(8) == 0 {
				c.coef[i] = int16(rng.Uint32())
			}
		}
	}
	return c
}

type refineResult struct {
	nz     []uint64
	coef   []int16
	eobrun int
	err    string
	br     bitReader
}

func (r refineResult) String() string {
	return fmt.Sprintf("err %q eobrun %d pos %d n %d acc %#x eof %v marker %v nz %x coef %v",
		r.err, r.eobrun, r.br.pos, r.br.n, r.br.acc, r.br.eof, r.br.marker, r.nz, r.coef)
}

func runRefineCase(c refineCase, tab *huffTable, asm bool) refineResult {
	d := newDecoder(c.data, false, ModeLibjpeg)
	d.br = bitReader{data: c.data}
	for _, k := range c.skip {
		d.br.bits(k)
	}
	d.eobrun = c.eobrun
	nz, coef := slices.Clone(c.nz), slices.Clone(c.coef)
	var err error
	if asm {
		err = d.refineRunAsm(tab, nz, c.kept, coef, c.band, c.al)
	} else {
		err = d.refineRunGo(tab, nz, c.kept, coef, c.band, c.al)
	}
	r := refineResult{nz: nz, coef: coef, eobrun: d.eobrun, br: d.br}
	r.br.data = nil
	if err != nil {
		r.err = err.Error()
	}
	return r
}

// checkRefineCase runs c both ways, fails the test on any difference, and returns the result.
func checkRefineCase(t *testing.T, c refineCase, tab *huffTable) refineResult {
	t.Helper()
	want := runRefineCase(c, tab, false)
	got := runRefineCase(c, tab, true)
	if got.String() != want.String() {
		t.Fatalf("assembly and Go differ on data %x skip %v band %#x al %d eobrun %d nz %x kept %v:\n asm %v\n  go %v",
			c.data, c.skip, c.band, c.al, c.eobrun, c.nz, c.kept, got, want)
	}
	return want
}

func needRefineAsm(t testing.TB) {
	if !useRefineAsm {
		t.Skip("the CPU lacks BMI2: the assembly is not used here")
	}
}

func TestRefineAsmMatchesGo(t *testing.T) {
	needRefineAsm(t)
	tab := refineTestTable(t)
	rng := rand.New(rand.NewPCG(15, 5))
	var errs, stuffed, kept int
	for range 20000 {
		c := randomRefineCase(rng, nil)
		if checkRefineCase(t, c, tab).err != "" {
			errs++
		}
		if slices.Contains(c.data, 0xFF) {
			stuffed++
		}
		if c.kept != nil {
			kept++
		}
	}
	// The cases must reach the paths the assembly hands back (errors, 0xFF bytes) and kept
	// blocks.
	if errs < 700 || stuffed < 7000 || kept < 7000 {
		t.Fatalf("cases too tame: %d errors, %d with 0xFF bytes, %d with kept blocks", errs, stuffed, kept)
	}
}

// TestRefineAsmPaths checks a few scans symbol by symbol: an end-of-band run across blocks,
// ZRL, a run with no target, more correction bits than the buffer holds.
func TestRefineAsmPaths(t *testing.T) {
	needRefineAsm(t)
	tab := refineTestTable(t)
	// Codes: 0x01 "00", 0x00 (end of band, this block) "01", 0x10 (end of band, r=1) "1101"
	// and one extra bit, 0xF0 (ZRL) "11101".
	for _, c := range []struct {
		name   string
		bits   string
		nz     []uint64
		eobrun int
		want   []uint64
	}{
		// Each block: 0x01 and its sign take the first free coefficient (bit 1), then end of
		// band with no correction left.
		{"usual then EOB", "00" + "1" + "01" + "00" + "0" + "01" + "00" + "1" + "01",
			[]uint64{0, 0, 0}, 0, []uint64{2, 2, 2}},
		// Block 0 opens an end-of-band run of two (r=1, extra bit 0) and drops its two
		// corrections; block 1, inside the run, drops its two; block 2 decodes again.
		{"end-of-band run across blocks", "1101" + "0" + "11" + "00" + "00" + "1" + "01",
			[]uint64{6, 6, 0}, 0, []uint64{6, 6, 2}},
		// ZRL passes sixteen free coefficients and the one with history (bit 1), which takes
		// a correction bit.
		{"ZRL", "11101" + "1" + "01", []uint64{2}, 0, []uint64{2}},
		// An end-of-band run of two carried in: 4 and 3 correction bits, then block 2.
		{"run carried in", "0000" + "000" + "00" + "0" + "01", []uint64{0xF0, 0xF, 0}, 2, []uint64{0xF0, 0xF, 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			bs := c.bits
			for len(bs)%8 != 0 {
				bs += "0"
			}
			bs += "00000000" // the 0x00 symbol's code padded: harmless after the run
			var data []byte
			for i := 0; i < len(bs); i += 8 {
				var b byte
				for _, ch := range bs[i : i+8] {
					b = b<<1 | byte(ch-'0')
				}
				data = append(data, b)
			}
			data = append(data, 0xFF, 0xD9)
			rc := refineCase{data: data, nz: c.nz, band: bandMask(1, 63), eobrun: c.eobrun}
			checkRefineCase(t, rc, tab)
			got := runRefineCase(rc, tab, true)
			if got.err != "" || !slices.Equal(got.nz, c.want) {
				t.Fatalf("got %v, want nz %x", got, c.want)
			}
		})
	}
}

// TestRefineAsmWholeDecodes decodes the progressive fixtures, and damaged copies of them, with
// the assembly and with the Go loop: the pixels and errors must be the same.
func TestRefineAsmWholeDecodes(t *testing.T) {
	needRefineAsm(t)
	defer func() { useRefineAsm = true }()
	rng := rand.New(rand.NewPCG(7, 8))
	for _, name := range []string{"progressive_420.jpg", "progressive_444.jpg", "progressive_grey.jpg",
		"progressive_restart_420.jpg", "transcoded_progressive_444.jpg"} {
		src := readFixture(t, name)
		for it := range 120 {
			data := src
			if it > 0 {
				data = slices.Clone(src)
				for k := rng.IntN(6) + 1; k > 0; k-- {
					data[len(data)/4+rng.IntN(len(data)*3/4)] = byte(rng.IntN(256))
				}
				if rng.IntN(4) == 0 {
					data = data[:len(data)/2+rng.IntN(len(data)/2)]
				}
			}
			w, h, err := Config(data)
			if err != nil || w*h > 1<<20 {
				continue
			}
			rows, cols := spread(h, 9), spread(w, 7)
			var out [2][]uint8
			var errs [2]string
			for i, asm := range []bool{false, true} {
				useRefineAsm = asm
				out[i] = make([]uint8, len(rows)*len(cols)*3)
				if err := Sample(data, rows, cols, out[i], ModeLibjpeg); err != nil {
					errs[i] = err.Error()
				}
			}
			if errs[0] != errs[1] || !slices.Equal(out[0], out[1]) {
				t.Fatalf("%s iteration %d: Go loop %q, assembly %q, pixels equal %v",
					name, it, errs[0], errs[1], slices.Equal(out[0], out[1]))
			}
		}
	}
}

// FuzzRefineRun compares the assembly with the Go loop on fuzzed scan bytes; seed picks the
// masks, band, alignment and end-of-band count.
func FuzzRefineRun(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 1))
	for range 8 {
		f.Add(randomRefineCase(rng, nil).data, rng.Uint64())
	}
	tab := refineTestTable(f)
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		needRefineAsm(t)
		c := randomRefineCase(rand.New(rand.NewPCG(seed, seed>>32)), data)
		checkRefineCase(t, c, tab)
	})
}

func TestFirstStateLayout(t *testing.T) {
	var st firstState
	for _, f := range []struct {
		name      string
		got, want uintptr
	}{
		{"data", unsafe.Offsetof(st.data), 0}, {"len", unsafe.Offsetof(st.len), 8},
		{"pos", unsafe.Offsetof(st.pos), 16}, {"acc", unsafe.Offsetof(st.acc), 24},
		{"n", unsafe.Offsetof(st.n), 32}, {"lut", unsafe.Offsetof(st.lut), 40},
		{"nz", unsafe.Offsetof(st.nz), 48}, {"count", unsafe.Offsetof(st.count), 56},
		{"ss", unsafe.Offsetof(st.ss), 64}, {"se", unsafe.Offsetof(st.se), 72},
		{"eobrun", unsafe.Offsetof(st.eobrun), 80}, {"k", unsafe.Offsetof(st.k), 88},
		{"done", unsafe.Offsetof(st.done), 96}, {"end", unsafe.Offsetof(st.end), 104},
		{"kept", unsafe.Offsetof(st.kept), 112}, {"coef", unsafe.Offsetof(st.coef), 120},
		{"al", unsafe.Offsetof(st.al), 128}, {"unzig", unsafe.Offsetof(st.unzig), 136},
	} {
		if f.got != f.want {
			t.Errorf("firstState.%s at %d, first_amd64.s expects %d", f.name, f.got, f.want)
		}
	}
}

// firstTestTable is an AC table for first passes: every run with sizes 1 to 15 (11 to 15 are
// past 8-bit JPEG's range but must decode alike), end-of-band runs and ZRL, with codes from 2 to
// 16 bits in a shuffled order and some unused code space.
func firstTestTable(t testing.TB) *huffTable {
	t.Helper()
	var syms []uint8
	for r := range 16 {
		for s := 1; s <= 15; s++ {
			syms = append(syms, uint8(r<<4|s))
		}
		syms = append(syms, uint8(r<<4)) // end of band (r < 15) or ZRL
	}
	rng := rand.New(rand.NewPCG(3, 4))
	rng.Shuffle(len(syms), func(i, j int) { syms[i], syms[j] = syms[j], syms[i] })
	// As in photos: short runs and sizes get the short codes, end-of-band runs (which end
	// many blocks at once) the longest; ZRL a middling one.
	rank := func(s uint8) int {
		if s == 0xF0 {
			return 12
		}
		if s&15 == 0 && s != 0 {
			return 1000 + int(s>>4)
		}
		return int(s>>4)*2 + int(s&15)
	}
	slices.SortStableFunc(syms, func(a, b uint8) int { return rank(a)/3 - rank(b)/3 })
	counts := [16]uint8{0, 1, 1, 2, 3, 4, 6, 12, 60, 60, 50, 20, 10, 6, 4, 0}
	n := 0
	for _, c := range counts {
		n += int(c)
	}
	counts[15] = uint8(len(syms) - n)
	var tab huffTable
	if err := tab.build(counts, syms); err != nil {
		t.Fatal(err)
	}
	return &tab
}

func runFirstCase(c refineCase, ss, se int, tab *huffTable, asm bool) refineResult {
	d := newDecoder(c.data, false, ModeLibjpeg)
	d.br = bitReader{data: c.data}
	for _, k := range c.skip {
		d.br.bits(k)
	}
	d.eobrun = c.eobrun
	nz, coef := slices.Clone(c.nz), slices.Clone(c.coef)
	var err error
	if asm {
		err = d.firstRunAsm(tab, nz, c.kept, coef, ss, se, c.al)
	} else {
		err = d.firstRunGo(tab, nz, c.kept, coef, ss, se, c.al)
	}
	r := refineResult{nz: nz, coef: coef, eobrun: d.eobrun, br: d.br}
	r.br.data = nil
	if err != nil {
		r.err = err.Error()
	}
	return r
}

func checkFirstCase(t *testing.T, c refineCase, tab *huffTable) refineResult {
	t.Helper()
	ss := bits.TrailingZeros64(c.band)
	se := 63 - bits.LeadingZeros64(c.band)
	want := runFirstCase(c, ss, se, tab, false)
	got := runFirstCase(c, ss, se, tab, true)
	if got.String() != want.String() {
		t.Fatalf("assembly and Go differ on data %x skip %v band %d..%d al %d eobrun %d nz %x kept %v:\n asm %v\n  go %v",
			c.data, c.skip, ss, se, c.al, c.eobrun, c.nz, c.kept, got, want)
	}
	return want
}

// TestFirstAsmMatchesGo is TestRefineAsmMatchesGo for first passes (firstAsm).
func TestFirstAsmMatchesGo(t *testing.T) {
	needRefineAsm(t)
	tab := firstTestTable(t)
	rng := rand.New(rand.NewPCG(16, 6))
	var errs, long int
	for range 20000 {
		c := randomRefineCase(rng, nil)
		if rng.IntN(2) == 0 {
			c.band = []uint64{bandMask(1, 63), bandMask(1, 5), bandMask(6, 63)}[rng.IntN(3)] // as photos' scans
		}
		r := checkFirstCase(t, c, tab)
		if r.err != "" {
			errs++
		}
		if r.br.pos > 16 {
			long++
		}
	}
	t.Logf("%d errors, %d reading more than 16 bytes", errs, long)
	if errs < 1000 || errs > 14000 || long < 1500 {
		t.Fatalf("cases too tame: %d errors, %d reading more than 16 bytes", errs, long)
	}
}

// FuzzFirstRun is FuzzRefineRun for first passes.
func FuzzFirstRun(f *testing.F) {
	rng := rand.New(rand.NewPCG(2, 2))
	for range 8 {
		f.Add(randomRefineCase(rng, nil).data, rng.Uint64())
	}
	tab := firstTestTable(f)
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		needRefineAsm(t)
		c := randomRefineCase(rand.New(rand.NewPCG(seed, seed>>32)), data)
		checkFirstCase(t, c, tab)
	})
}
