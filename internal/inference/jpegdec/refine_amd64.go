package jpegdec

import (
	"math/bits"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useRefineAsm selects refineSkipAsm, which needs BMI2 (PDEP, SHLX, SHRX, BZHI, ANDN) and
// POPCNT.
var useRefineAsm = cpu.X86.HasBMI2 && cpu.X86.HasBMI1 && cpu.X86.HasPOPCNT

// refineSkipRun drops one scan's refinement of a run of blocks that are not kept (nz, their
// non-zero masks, updated), from the start of the first one's band.
func (d *decoder) refineSkipRun(t *huffTable, nz []uint64, band uint64) error {
	if useRefineAsm {
		return d.refineSkipRunAsm(t, nz, band)
	}
	return d.refineSkipRunGo(t, nz, band)
}

// skipState is refineSkipAsm's argument and result: the bit reader, the run of blocks and the
// end-of-band count. The assembly knows its layout (refine_amd64.s; TestSkipStateLayout).
type skipState struct {
	data   unsafe.Pointer        // the scan's bytes (at least 8)
	len    int                   // bytes the assembly may read: len(data), or up to a marker
	pos    int                   // bit reader position in data
	acc    uint64                // bit reader accumulator, n low bits valid
	n      uint64                //
	lut    *[1 << lutBits]uint16 // the AC table's lookup table
	nz     *uint64               // the first block's non-zero mask
	count  int                   // blocks in the run
	band   uint64                // the scan's band (zig-zag bits ss..se)
	eobrun int                   // blocks left in an end-of-band run
	rem    uint64                // in: the first block's band still to decode, 0 at its start; out: the stopped block's
	done   int                   // out: blocks finished
}

// What refineSkipAsm stopped for.
const (
	skipRunDone = iota // every block of the run finished
	skipRunFill        // the bit buffer needs bytes only bitReader.fill reads (stuffing, a marker, the end)
	skipRunSlow        // the next symbol (or end-of-band block) is for the Go code
)

// refineSkipAsm decodes blocks of a run as refineSkipRunGo does, from nz[done] on with rem, up
// to the end or to a symbol at which it stops. It takes codes of at most lutBits bits, the
// usual symbol (size 1), end of band and ZRL, with a target inside the band and bits already
// buffered or readable eight bytes at a time; it stops at a symbol boundary for anything else,
// leaving every change up to there in st and nz. It never reads data past st.len.
//
//go:noescape
func refineSkipAsm(st *skipState) int

// refineSkipRunAsm is refineSkipRun through refineSkipAsm: what the assembly stops for (a
// refill across stuffed bytes or a marker, a long code, an invalid symbol, more correction
// bits than are buffered) is done by the Go code, and the assembly goes on after it.
func (d *decoder) refineSkipRunAsm(t *huffTable, nz []uint64, band uint64) error {
	br := &d.br
	if len(br.data) < 8 {
		return d.refineSkipRunGo(t, nz, band)
	}
	st := skipState{data: unsafe.Pointer(unsafe.SliceData(br.data)), lut: &t.lut, band: band}
	i, rem := 0, uint64(0)
	for i < len(nz) {
		st.len = len(br.data)
		if br.marker {
			st.len = br.pos
		}
		st.pos, st.acc, st.n = br.pos, br.acc, uint64(br.n)
		st.nz, st.count, st.rem, st.done = &nz[i], len(nz)-i, rem, 0
		st.eobrun = d.eobrun
		why := refineSkipAsm(&st)
		br.pos, br.acc, br.n = st.pos, st.acc, uint(st.n)
		d.eobrun = st.eobrun
		i += st.done
		switch why {
		case skipRunDone:
			return nil
		case skipRunFill:
			br.fill()
			rem = st.rem
		default:
			if st.rem == 0 {
				// An end-of-band block whose correction bits are not all buffered.
				d.eobrun--
				br.skip(uint(bits.OnesCount64(nz[i] & band)))
			} else if err := d.refineSkip(t, &nz[i], st.rem); err != nil {
				return err
			}
			i++
			rem = 0
		}
	}
	return nil
}
