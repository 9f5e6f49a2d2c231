package tflite

import (
	"encoding/binary"
	"fmt"
	"math"
)

// fbReader reads FlatBuffers tables from an untrusted byte slice. Every
// offset and length is checked against the slice; the first failure is kept
// in err and every later read returns a zero value, so callers check err once
// after a group of reads instead of after each one.
type fbReader struct {
	b   []byte
	err error
}

// fbTable is a decoded table position: the table start and its vtable.
type fbTable struct {
	pos   int // absolute offset of the table
	vt    int // absolute offset of the vtable
	vtLen int // vtable length in bytes
}

// fbVector is a vector of elements stored after a uint32 length.
type fbVector struct {
	start int // absolute offset of element 0
	n     int
}

func (r *fbReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

// need reports whether n bytes at off lie inside the buffer.
func (r *fbReader) need(off, n int) bool {
	if r.err != nil {
		return false
	}
	if off < 0 || n < 0 || off > len(r.b) || n > len(r.b)-off {
		r.fail("offset %d (+%d bytes) outside the %d-byte file", off, n, len(r.b))
		return false
	}
	return true
}

func (r *fbReader) u8(off int) uint8 {
	if !r.need(off, 1) {
		return 0
	}
	return r.b[off]
}

func (r *fbReader) u16(off int) uint16 {
	if !r.need(off, 2) {
		return 0
	}
	return binary.LittleEndian.Uint16(r.b[off:])
}

func (r *fbReader) u32(off int) uint32 {
	if !r.need(off, 4) {
		return 0
	}
	return binary.LittleEndian.Uint32(r.b[off:])
}

// indirect follows the uoffset stored at off.
func (r *fbReader) indirect(off int) int {
	v := r.u32(off)
	if r.err != nil {
		return 0
	}
	target := int64(off) + int64(v)
	if target >= int64(len(r.b)) {
		r.fail("offset %d at %d points outside the %d-byte file", v, off, len(r.b))
		return 0
	}
	return int(target)
}

// table decodes the table starting at pos.
func (r *fbReader) table(pos int) fbTable {
	so := int32(r.u32(pos))
	if r.err != nil {
		return fbTable{}
	}
	vt := int64(pos) - int64(so)
	if vt < 0 || vt+4 > int64(len(r.b)) {
		r.fail("vtable of table at %d outside the file", pos)
		return fbTable{}
	}
	vtLen := int(r.u16(int(vt)))
	if vtLen < 4 || vtLen%2 != 0 || !r.need(int(vt), vtLen) {
		r.fail("bad vtable length %d at %d", vtLen, vt)
		return fbTable{}
	}
	return fbTable{pos: pos, vt: int(vt), vtLen: vtLen}
}

// root returns the root table of the buffer.
func (r *fbReader) root() fbTable {
	return r.table(r.indirect(0))
}

// field returns the absolute offset of field i of t, or 0 when absent.
func (r *fbReader) field(t fbTable, i int) int {
	if r.err != nil || t.vtLen == 0 {
		return 0
	}
	e := 4 + 2*i
	if e+2 > t.vtLen {
		return 0
	}
	v := int(r.u16(t.vt + e))
	if v == 0 {
		return 0
	}
	return t.pos + v
}

func (r *fbReader) fieldU8(t fbTable, i int, def uint8) uint8 {
	if p := r.field(t, i); p != 0 {
		return r.u8(p)
	}
	return def
}

func (r *fbReader) fieldI32(t fbTable, i int, def int32) int32 {
	if p := r.field(t, i); p != 0 {
		return int32(r.u32(p))
	}
	return def
}

func (r *fbReader) fieldU32(t fbTable, i int, def uint32) uint32 {
	if p := r.field(t, i); p != 0 {
		return r.u32(p)
	}
	return def
}

func (r *fbReader) fieldF32(t fbTable, i int, def float32) float32 {
	if p := r.field(t, i); p != 0 {
		return math.Float32frombits(r.u32(p))
	}
	return def
}

// fieldTable returns the sub-table in field i; ok is false when absent.
func (r *fbReader) fieldTable(t fbTable, i int) (fbTable, bool) {
	p := r.field(t, i)
	if p == 0 {
		return fbTable{}, false
	}
	tt := r.table(r.indirect(p))
	return tt, r.err == nil
}

// fieldVector returns the vector in field i whose elements are elemSize
// bytes; an absent field is an empty vector.
func (r *fbReader) fieldVector(t fbTable, i, elemSize int) fbVector {
	p := r.field(t, i)
	if p == 0 {
		return fbVector{}
	}
	vs := r.indirect(p)
	n := r.u32(vs)
	if r.err != nil {
		return fbVector{}
	}
	if int64(n)*int64(elemSize) > int64(len(r.b)) || !r.need(vs+4, int(n)*elemSize) {
		r.fail("vector of %d elements at %d overruns the file", n, vs)
		return fbVector{}
	}
	return fbVector{start: vs + 4, n: int(n)}
}

// fieldString returns the string in field i ("" when absent).
func (r *fbReader) fieldString(t fbTable, i int) string {
	v := r.fieldVector(t, i, 1)
	if r.err != nil || v.n == 0 {
		return ""
	}
	return string(r.b[v.start : v.start+v.n])
}

// fieldBytes returns the byte vector in field i without copying.
func (r *fbReader) fieldBytes(t fbTable, i int) []byte {
	v := r.fieldVector(t, i, 1)
	if r.err != nil || v.n == 0 {
		return nil
	}
	return r.b[v.start : v.start+v.n]
}

// fieldInts returns the int32 vector in field i as ints.
func (r *fbReader) fieldInts(t fbTable, i int) []int {
	v := r.fieldVector(t, i, 4)
	if r.err != nil {
		return nil
	}
	out := make([]int, v.n)
	for j := range out {
		out[j] = int(int32(binary.LittleEndian.Uint32(r.b[v.start+4*j:])))
	}
	return out
}

// fieldFloats returns the float32 vector in field i.
func (r *fbReader) fieldFloats(t fbTable, i int) []float32 {
	v := r.fieldVector(t, i, 4)
	if r.err != nil {
		return nil
	}
	out := make([]float32, v.n)
	for j := range out {
		out[j] = math.Float32frombits(binary.LittleEndian.Uint32(r.b[v.start+4*j:]))
	}
	return out
}

// fieldInt64s returns the int64 vector in field i.
func (r *fbReader) fieldInt64s(t fbTable, i int) []int64 {
	v := r.fieldVector(t, i, 8)
	if r.err != nil {
		return nil
	}
	out := make([]int64, v.n)
	for j := range out {
		out[j] = int64(binary.LittleEndian.Uint64(r.b[v.start+8*j:]))
	}
	return out
}

// tableAt returns element j of a vector of tables.
func (r *fbReader) tableAt(v fbVector, j int) fbTable {
	if r.err != nil {
		return fbTable{}
	}
	if j < 0 || j >= v.n {
		r.fail("table index %d outside vector of %d", j, v.n)
		return fbTable{}
	}
	return r.table(r.indirect(v.start + 4*j))
}

func (r *fbReader) fieldU64(t fbTable, i int, def uint64) uint64 {
	if p := r.field(t, i); p != 0 && r.need(p, 8) {
		return binary.LittleEndian.Uint64(r.b[p:])
	}
	return def
}
