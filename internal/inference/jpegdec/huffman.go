package jpegdec

import (
	"encoding/binary"
	"errors"
	"math/bits"
)

const lutBits = 9

// huffTable decodes one Huffman table: codes up to lutBits long through a lookup table, longer
// ones by canonical-code ranges.
type huffTable struct {
	lut     [1 << lutBits]uint16 // length<<8 | symbol; 0 when the code is longer than lutBits
	runBit  [1 << lutBits]uint16 // 1<<(symbol>>4) beside lut: refine_amd64.s's PDEP operand, at lut+1024
	maxcode [17]int32            // largest code of each length, -1 when none
	valptr  [17]int32            // index of a length's first symbol minus its first code
	vals    []uint8
	defined bool
}

var errBadHuffman = errors.New("bad Huffman table")

// build fills t from the 16 code-length counts and the symbols of a DHT segment.
func (t *huffTable) build(counts [16]uint8, vals []uint8) error {
	*t = huffTable{vals: vals, defined: true}
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		t.valptr[l] = k - code
		t.maxcode[l] = -1
		if n > 0 {
			if code+n > 1<<l {
				return errBadHuffman
			}
			for i := range n {
				c := code + i
				if l <= lutBits {
					shift := lutBits - l
					for fill := range int32(1) << shift {
						t.lut[c<<shift|fill] = uint16(l)<<8 | uint16(vals[k+i])
						t.runBit[c<<shift|fill] = 1 << (vals[k+i] >> 4)
					}
				}
			}
			code += n
			k += n
			t.maxcode[l] = code - 1
		}
		code <<= 1
	}
	if int(k) != len(vals) {
		return errBadHuffman
	}
	return nil
}

// bitReader reads the entropy-coded bits of one scan segment, removing stuffed zero bytes and
// stopping at markers (after which it supplies zero bits).
type bitReader struct {
	data   []byte
	pos    int
	acc    uint64
	n      uint
	eof    bool // ran off the end of data
	marker bool // reached a marker
}

func (br *bitReader) fill() {
	// Fast path: when the next eight bytes hold no 0xFF (no stuffing, no marker), append as
	// many whole bytes as the accumulator has room for in one step.
	if br.pos+8 <= len(br.data) && !br.marker {
		v := binary.BigEndian.Uint64(br.data[br.pos:])
		if x := ^v; (x-0x0101010101010101)&^x&0x8080808080808080 == 0 {
			k := (64 - br.n) >> 3 // whole bytes that fit
			br.acc = br.acc<<(k*8) | v>>(64-k*8)
			br.n += k * 8
			br.pos += int(k)
			return
		}
	}
	for br.n <= 56 {
		var b byte
		switch {
		case br.marker:
		case br.pos >= len(br.data):
			br.eof = true
		case br.data[br.pos] != 0xFF:
			b = br.data[br.pos]
			br.pos++
		case br.pos+1 >= len(br.data):
			br.eof = true
		case br.data[br.pos+1] == 0:
			b = 0xFF
			br.pos += 2
		default:
			br.marker = true
		}
		br.acc = br.acc<<8 | uint64(b)
		br.n += 8
	}
}

// peek8 returns the next eight bytes when they hold no 0xFF (so no stuffing and no marker).
func (br *bitReader) peek8() (uint64, bool) {
	if br.pos+8 > len(br.data) || br.marker {
		return 0, false
	}
	v := binary.BigEndian.Uint64(br.data[br.pos:])
	x := ^v
	return v, (x-0x0101010101010101)&^x&0x8080808080808080 == 0
}

// reset drops buffered bits, for a restart marker or the end of a scan.
func (br *bitReader) reset() { br.acc, br.n, br.marker = 0, 0, false }

func (br *bitReader) bits(s uint) int32 {
	if s == 0 {
		return 0
	}
	if br.n < s {
		br.fill()
	}
	br.n -= s
	return int32(br.acc>>br.n) & (1<<s - 1)
}

func (br *bitReader) bit() bool { return br.bits(1) != 0 }

// receive reads s bits and sign-extends them as JPEG's EXTEND does.
func (br *bitReader) receive(s uint) int32 {
	v := br.bits(s)
	if s > 0 && v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v
}

var errBadCode = errors.New("bad Huffman code")

func (br *bitReader) decode(t *huffTable) (uint8, error) {
	if br.n < 16 {
		br.fill()
	}
	e := t.lut[(br.acc>>(br.n-lutBits))&(1<<lutBits-1)]
	if e == 0 { // a code longer than lutBits
		return br.decodeLong(t)
	}
	br.n -= uint(e >> 8)
	return uint8(e), nil
}

// decodeLong decodes a code longer than lutBits bit by bit. It is rare and stays out of line,
// so that the decoding loops keep their state in registers.
//
//go:noinline
func (br *bitReader) decodeLong(t *huffTable) (uint8, error) {
	code := int32(0)
	for l := 1; l <= 16; l++ {
		br.n--
		code = code<<1 | int32(br.acc>>br.n)&1
		if code <= t.maxcode[l] {
			i := t.valptr[l] + code
			if i < 0 || int(i) >= len(t.vals) {
				return 0, errBadCode
			}
			return t.vals[i], nil
		}
	}
	return 0, errBadCode
}

// selectInByte[b][k] is the position of the k-th (from 0) set bit of byte b, 8 when absent.
var selectInByte = func() (t [256][8]uint8) {
	for b := range 256 {
		k := 0
		for i := range 8 {
			t[b][i] = 8
		}
		for i := range 8 {
			if b>>i&1 != 0 {
				t[b][k] = uint8(i)
				k++
			}
		}
	}
	return t
}()

// selectBit returns the position of the k-th (from 0) set bit of x, without branches; the
// caller ensures x has more than k set bits.
func selectBit(x uint64, k uint) uint {
	const l8, h8 = 0x0101010101010101, 0x8080808080808080
	s := x - (x>>1)&0x5555555555555555
	s = s&0x3333333333333333 + (s>>2)&0x3333333333333333
	s = (s + s>>4) & 0x0F0F0F0F0F0F0F0F * l8 // byte i: set bits in bytes 0..i
	b := uint(bits.OnesCount64(((uint64(k)*l8|h8)-s)&h8)) * 8
	before := uint(s<<8>>b) & 0xFF
	return b + uint(selectInByte[uint8(x>>b)][(k-before)&7])
}

// dropShort returns x without its k lowest set bits (0 when x has k or fewer), for k ≤ 3, in
// branch-free steps. A refinement symbol's run r skips r coefficients without history, so its
// target is the lowest set bit of dropShort(zeros, r). Runs below 4 are about nine symbols in
// ten on photos, so the refinement loops branch only on r > 3 (then selectBit), which is
// mostly predicted, where a branch on r > 0 is not.
func dropShort(x uint64, k uint) uint64 {
	x &= x - uint64(-int64(k))>>63  // k > 0
	x &= x - uint64(1-int64(k))>>63 // k > 1
	x &= x - uint64(2-int64(k))>>63 // k > 2
	return x
}
