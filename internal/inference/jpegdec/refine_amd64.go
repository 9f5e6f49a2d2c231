package jpegdec

import (
	"math/bits"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useRefineAsm selects refineAsm, which needs BMI2 (PDEP, SHLX, SHRX, BZHI, ANDN) and
// POPCNT.
var useRefineAsm = cpu.X86.HasBMI2 && cpu.X86.HasBMI1 && cpu.X86.HasPOPCNT

// refineRun decodes one scan's refinement of a run of blocks of a row: nz holds their non-zero
// masks, kept (nil when the row has none) each one's kept column or -1, coef the row's kept
// blocks.
func (d *decoder) refineRun(t *huffTable, nz []uint64, kept []int32, coef []int16, band uint64, al uint) error {
	if useRefineAsm {
		return d.refineRunAsm(t, nz, kept, coef, band, al)
	}
	return d.refineRunGo(t, nz, kept, coef, band, al)
}

// refineState is refineAsm's argument and result: the bit reader, the run of blocks and the
// end-of-band count. The assembly knows its layout (refine_amd64.s; TestRefineStateLayout).
type refineState struct {
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
	end    uintptr               // scratch: the address past the run's last mask
	kept   *int32                // the first block's kept column (-1: not kept); nil when no block is kept
	coef   *int16                // the row's kept blocks, 64 coefficients each
	p1     uint32                // 1<<al
	al     uint32                // the scan's bit position
	knz    uint64                // scratch
	krem   uint64                // scratch
	unzig  [64]uint8             // a copy of unzig
}

// What refineAsm stopped for.
const (
	refineRunDone = iota // every block of the run finished
	refineRunFill        // the bit buffer needs bytes only bitReader.fill reads (stuffing, a marker, the end)
	refineRunSlow        // the next symbol (or end-of-band block) is for the Go code
)

// refineAsm decodes blocks of a run as refineRunGo does, from nz[done] on with rem, up to the
// end or to a symbol at which it stops. It takes codes of at most lutBits bits, the usual
// symbol (size 1), end of band and ZRL, with a target inside the band and bits already buffered
// or readable eight bytes at a time; it stops at a symbol boundary for anything else, leaving
// every change up to there in st, nz and coef. It never reads data past st.len, and writes only
// the masks of the run and the kept blocks named by kept.
//
//go:noescape
func refineAsm(st *refineState) int

// refineRunAsm is refineRun through refineAsm: what the assembly stops for (a refill across
// stuffed bytes or a marker, a long code, an invalid symbol, more correction bits than are
// buffered) is done by the Go code, and the assembly goes on after it.
func (d *decoder) refineRunAsm(t *huffTable, nz []uint64, kept []int32, coef []int16, band uint64, al uint) error {
	br := &d.br
	if len(br.data) < 8 || len(nz) == 0 || kept != nil && len(kept) < len(nz) {
		return d.refineRunGo(t, nz, kept, coef, band, al)
	}
	for _, k := range kept {
		if int(k) >= len(coef)/64 {
			return d.refineRunGo(t, nz, kept, coef, band, al) // (cannot happen: keep builds kept from coef's size)
		}
	}
	st := refineState{data: unsafe.Pointer(unsafe.SliceData(br.data)), lut: &t.lut, band: band,
		p1: 1 << al, al: uint32(al), unzig: unzig, coef: unsafe.SliceData(coef)}
	p1, m1 := int16(1)<<al, int16(-1)<<al
	i, rem := 0, uint64(0)
	for i < len(nz) {
		st.len = len(br.data)
		if br.marker {
			st.len = br.pos
		}
		st.pos, st.acc, st.n = br.pos, br.acc, uint64(br.n)
		st.nz, st.count, st.rem, st.done = &nz[i], len(nz)-i, rem, 0
		st.kept = nil
		if kept != nil {
			st.kept = &kept[i]
		}
		st.eobrun = d.eobrun
		why := refineAsm(&st)
		br.pos, br.acc, br.n = st.pos, st.acc, uint(st.n)
		d.eobrun = st.eobrun
		i += st.done
		switch why {
		case refineRunDone:
			return nil
		case refineRunFill:
			br.fill()
			rem = st.rem
			continue
		}
		var cf []int16
		if kept != nil && kept[i] >= 0 {
			cf = coef[int(kept[i])*64:][:64]
		}
		var err error
		switch {
		case st.rem == 0 && cf != nil:
			// An end-of-band block whose correction bits are not all buffered.
			d.eobrun--
			d.correct(nz[i]&band, cf, p1, m1, al)
		case st.rem == 0:
			d.eobrun--
			br.skip(uint(bits.OnesCount64(nz[i] & band)))
		case cf != nil:
			err = d.acRefine(t, &nz[i], cf, st.rem, al)
		default:
			err = d.refineSkip(t, &nz[i], st.rem)
		}
		if err != nil {
			return err
		}
		i++
		rem = 0
	}
	return nil
}

// firstRun decodes one scan's first pass of a run of blocks of a row (as refineRun).
func (d *decoder) firstRun(t *huffTable, nz []uint64, kept []int32, coef []int16, ss, se int, al uint) error {
	if useRefineAsm {
		return d.firstRunAsm(t, nz, kept, coef, ss, se, al)
	}
	return d.firstRunGo(t, nz, kept, coef, ss, se, al)
}

// firstState is firstAsm's argument and result, as refineState is refineAsm's
// (TestFirstStateLayout).
type firstState struct {
	data   unsafe.Pointer        // the scan's bytes (at least 8)
	len    int                   // bytes the assembly may read: len(data), or up to a marker
	pos    int                   // bit reader position in data
	acc    uint64                // bit reader accumulator, n low bits valid
	n      uint64                //
	lut    *[1 << lutBits]uint16 // the AC table's lookup table
	nz     *uint64               // the first block's non-zero mask
	count  int                   // blocks in the run
	ss, se int                   // the band
	eobrun int                   // blocks left in an end-of-band run
	k      int                   // in: the first block's next zig-zag index, 0 at its start; out: the stopped block's
	done   int                   // out: blocks finished
	end    uintptr               // scratch: the address past the run's last mask
	kept   *int32                // the first block's kept column (-1: not kept); nil when no block is kept
	coef   *int16                // the row's kept blocks, 64 coefficients each
	al     uint64                // the scan's bit position
	unzig  [64]uint8             // a copy of unzig
}

// firstAsm decodes blocks of a run as firstRunGo does, from nz[done] on at k, up to the end or
// to a symbol at which it stops (a code longer than lutBits, a coefficient past the band, a
// refill that needs bitReader.fill), leaving every change up to there in st, nz and coef. It
// never reads data past st.len, and writes only the masks of the run and the kept blocks
// named by kept.
//
//go:noescape
func firstAsm(st *firstState) int

// firstRunAsm is firstRun through firstAsm; the Go code does what the assembly stops for.
func (d *decoder) firstRunAsm(t *huffTable, nz []uint64, kept []int32, coef []int16, ss, se int, al uint) error {
	br := &d.br
	if len(br.data) < 8 || len(nz) == 0 || kept != nil && len(kept) < len(nz) {
		return d.firstRunGo(t, nz, kept, coef, ss, se, al)
	}
	for _, k := range kept {
		if int(k) >= len(coef)/64 {
			return d.firstRunGo(t, nz, kept, coef, ss, se, al) // (cannot happen: keep builds kept from coef's size)
		}
	}
	st := firstState{data: unsafe.Pointer(unsafe.SliceData(br.data)), lut: &t.lut, ss: ss, se: se,
		al: uint64(al), unzig: unzig, coef: unsafe.SliceData(coef)}
	i, k := 0, 0
	for i < len(nz) {
		st.len = len(br.data)
		if br.marker {
			st.len = br.pos
		}
		st.pos, st.acc, st.n = br.pos, br.acc, uint64(br.n)
		st.nz, st.count, st.k, st.done = &nz[i], len(nz)-i, k, 0
		st.kept = nil
		if kept != nil {
			st.kept = &kept[i]
		}
		st.eobrun = d.eobrun
		why := firstAsm(&st)
		br.pos, br.acc, br.n = st.pos, st.acc, uint(st.n)
		d.eobrun = st.eobrun
		i += st.done
		switch why {
		case refineRunDone:
			return nil
		case refineRunFill:
			br.fill()
			k = st.k
			continue
		}
		var err error
		if kept != nil && kept[i] >= 0 {
			err = d.acFirst(t, &nz[i], coef[int(kept[i])*64:][:64], st.k, se, al)
		} else {
			err = d.firstSkip(t, &nz[i], st.k, se)
		}
		if err != nil {
			return err
		}
		i++
		k = 0
	}
	return nil
}
