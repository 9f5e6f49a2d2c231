package jpegdec

import (
	"io"
	"math/bits"
)

// scanComp is one component of a scan with its tables.
type scanComp struct {
	c        *component
	dc, ac   *huffTable
	pred     int32
	tdc, tac uint8 // table selectors
	dcCtx    int   // arithmetic DC conditioning context
}

// scan parses a scan header and decodes (or, in DC mode, skips) its entropy-coded data.
func (d *decoder) scan(p []byte) error {
	if len(p) < 1 {
		return FormatError("SOS length")
	}
	ns := int(p[0])
	if ns < 1 || ns > len(d.comps) || len(p) != 4+2*ns {
		return FormatError("SOS length")
	}
	sc := make([]scanComp, ns)
	for i := range sc {
		id, tables := p[1+2*i], p[2+2*i]
		for j := range d.comps {
			if d.comps[j].id == id {
				sc[i].c = &d.comps[j]
			}
		}
		if sc[i].c == nil || tables>>4 > 3 || tables&15 > 3 {
			return FormatError("SOS component")
		}
		sc[i].dc, sc[i].ac = &d.dcHuff[tables>>4], &d.acHuff[tables&15]
		sc[i].tdc, sc[i].tac = tables>>4, tables&15
	}
	if ns > 1 {
		blocks := 0
		for i := range sc {
			blocks += sc[i].c.h * sc[i].c.v
		}
		if blocks > 10 {
			return FormatError("interleaved scan has more than 10 blocks per MCU")
		}
	}
	ss, se, ah, al := int(p[1+2*ns]), int(p[2+2*ns]), uint(p[3+2*ns]>>4), uint(p[3+2*ns]&15)
	if !d.progressive {
		ss, se, ah, al = 0, 63, 0, 0
	} else if ss == 0 && se != 0 || ss > se || se > 63 || ss > 0 && ns != 1 || al > 13 {
		return FormatError("progressive scan parameters")
	}
	if d.dcOnly && ss > 0 {
		return nil // the step loop skips the entropy-coded data
	}
	if d.arith {
		return d.arithScan(sc, ss, se, ah, al)
	}
	for i := range sc {
		if (ss == 0 && ah == 0 && !sc[i].dc.defined) || (se > 0 && !sc[i].ac.defined) {
			return FormatError("scan uses an undefined Huffman table")
		}
	}
	d.br = bitReader{data: d.data, pos: d.pos}
	d.eobrun = 0
	var err error
	if ns == 1 && d.progressive && ss > 0 && ah != 0 {
		err = d.scanRefineAC(&sc[0], ss, se, al)
	} else if ns == 1 && d.progressive && ss > 0 {
		err = d.scanProgressiveAC(&sc[0], ss, se, al)
	} else if ns == 1 {
		err = d.scanOne(&sc[0], ss, se, ah, al)
	} else {
		err = d.scanInterleaved(sc, ss, se, ah, al)
	}
	if err != nil {
		return err
	}
	if d.br.eof {
		return io.ErrUnexpectedEOF
	}
	d.pos = d.br.pos
	return nil
}

// restartAt handles a restart boundary: drop buffered bits, step past the RSTn marker and reset
// the predictors. A missing marker is tolerated (the reader then supplies zeros).
func (d *decoder) restartAt(sc []scanComp) {
	br := &d.br
	br.reset()
	for br.pos < len(br.data) {
		if br.data[br.pos] != 0xFF || br.pos+1 < len(br.data) && br.data[br.pos+1] == 0 {
			br.pos++
			continue
		}
		for br.pos+1 < len(br.data) && br.data[br.pos+1] == 0xFF {
			br.pos++
		}
		if br.pos+1 < len(br.data) && br.data[br.pos+1] >= 0xD0 && br.data[br.pos+1] <= 0xD7 {
			br.pos += 2
		} else {
			br.marker = true
		}
		break
	}
	for i := range sc {
		sc[i].pred = 0
	}
	d.eobrun = 0
}

// arithScan decodes an arithmetic-coded scan: interleaved in MCU order, or one component's
// blocks in raster order.
func (d *decoder) arithScan(sc []scanComp, ss, se int, ah, al uint) error {
	d.ar.data, d.ar.pos, d.ar.marker, d.ar.eof = d.data, d.pos, false, false
	d.arithStart(sc, ss, ah)
	n := 0
	next := func() {
		if d.restart > 0 && n > 0 && n%d.restart == 0 {
			d.arithRestart(sc, ss, ah)
		}
		n++
	}
	if len(sc) > 1 {
		for my := range d.mcusY {
			for mx := range d.mcusX {
				next()
				for i := range sc {
					c := sc[i].c
					for v := range c.v {
						for h := range c.h {
							row, col := my*c.v+v, mx*c.h+h
							if err := d.arithBlock(&sc[i], row*c.bw+col, row, col, ss, se, ah, al); err != nil {
								return err
							}
						}
					}
				}
			}
		}
	} else {
		c := sc[0].c
		cw := (d.width*c.h + d.hmax - 1) / d.hmax
		ch := (d.height*c.v + d.vmax - 1) / d.vmax
		for y := range (ch + 7) / 8 {
			for x := range (cw + 7) / 8 {
				next()
				if err := d.arithBlock(&sc[0], y*c.bw+x, y, x, ss, se, ah, al); err != nil {
					return err
				}
			}
		}
	}
	if d.ar.eof {
		return io.ErrUnexpectedEOF
	}
	d.pos = d.ar.pos
	return nil
}

func (d *decoder) scanInterleaved(sc []scanComp, ss, se int, ah, al uint) error {
	if d.progressive {
		return d.scanDC(sc, ah, al)
	}
	mcu := 0
	for my := range d.mcusY {
		for mx := range d.mcusX {
			if d.restart > 0 && mcu > 0 && mcu%d.restart == 0 {
				d.restartAt(sc)
			}
			mcu++
			for i := range sc {
				c := sc[i].c
				for v := range c.v {
					for h := range c.h {
						if err := d.block(&sc[i], (my*c.v+v)*c.bw+mx*c.h+h, my*c.v+v, mx*c.h+h, ss, se, ah, al); err != nil {
							return err
						}
					}
				}
			}
		}
	}
	return nil
}

// scanDC decodes an interleaved progressive DC scan (first pass or refinement bit). The MCU's
// blocks are laid out once as slots (component, offset in its DC array), so the block loop
// is flat, with the bit buffer held in locals; a refinement takes one bit per block, all of
// an MCU's bits at once.
func (d *decoder) scanDC(sc []scanComp, ah, al uint) error {
	br := &d.br
	const maxSlots = 10 // blocks per MCU (checked by the caller)
	var (
		nb     int
		comp   [maxSlots]int     // slot's index in sc
		dcs    [maxSlots][]int32 // slot's DC array, from the slot's block of the MCU row
		pos    [maxSlots]int     // slot's block in dcs for the current MCU
		hstep  [maxSlots]int     // blocks per MCU horizontally
		offset [maxSlots]int     // slot's block relative to its component's first in the MCU
	)
	for i := range sc {
		c := sc[i].c
		for v := range c.v {
			for h := range c.h {
				comp[nb], hstep[nb], offset[nb] = i, c.h, v*c.bw+h
				nb++
			}
		}
	}
	var pred [4]int32
	for i := range sc {
		pred[i] = sc[i].pred
	}
	acc, n := br.acc, br.n
	mcu := 0
	for my := range d.mcusY {
		for b := range nb {
			c := sc[comp[b]].c
			dcs[b] = c.dc[my*c.v*c.bw+offset[b]:]
			pos[b] = 0
		}
		for range d.mcusX {
			if d.restart > 0 {
				if mcu > 0 && mcu%d.restart == 0 {
					br.acc, br.n = acc, n
					d.restartAt(sc)
					acc, n = br.acc, br.n
					pred = [4]int32{}
				}
				mcu++
			}
			if ah != 0 {
				if n < maxSlots {
					br.acc, br.n = acc, n
					br.fill()
					acc, n = br.acc, br.n
				}
				n -= uint(nb)
				v := acc >> (n & 63) // the MCU's bits, its first block's highest
				for b := range nb {
					dcs[b][pos[b]] |= int32(v>>(uint(nb-1-b)&63)&1) << (al & 31)
					pos[b] += hstep[b]
				}
				continue
			}
			for b := range nb {
				if n < 32 {
					br.acc, br.n = acc, n
					br.fill()
					acc, n = br.acc, br.n
				}
				tab := sc[comp[b]].dc
				e := tab.lut[(acc>>((n-lutBits)&63))&(1<<lutBits-1)]
				var t uint
				if e != 0 {
					n -= uint(e >> 8)
					t = uint(uint8(e))
				} else {
					br.acc, br.n = acc, n
					sym, err := br.decodeLong(tab)
					if err != nil {
						return err
					}
					acc, n = br.acc, br.n
					t = uint(sym)
				}
				if t > 16 {
					br.acc, br.n = acc, n
					return FormatError("DC size")
				}
				// The difference's size is close to random, so its value bits are taken
				// and sign-extended without branches (size 0 gives 0).
				n -= t
				v := int32(acc>>(n&63)) & (1<<(t&31) - 1)
				v += (v - 1<<(t&31)>>1) >> 31 & (-1<<(t&31) + 1)
				p := pred[comp[b]&3] + v
				pred[comp[b]&3] = p
				dcs[b][pos[b]] = p << (al & 31)
				pos[b] += hstep[b]
			}
		}
	}
	for i := range sc {
		sc[i].pred = pred[i]
	}
	br.acc, br.n = acc, n
	return nil
}

func (d *decoder) scanOne(s *scanComp, ss, se int, ah, al uint) error {
	c := s.c
	cw := (d.width*c.h + d.hmax - 1) / d.hmax
	ch := (d.height*c.v + d.vmax - 1) / d.vmax
	bx, by := (cw+7)/8, (ch+7)/8
	sc := []scanComp{*s}
	n := 0
	for y := range by {
		for x := range bx {
			if d.restart > 0 && n > 0 && n%d.restart == 0 {
				d.restartAt(sc)
			}
			n++
			if err := d.block(&sc[0], y*c.bw+x, y, x, ss, se, ah, al); err != nil {
				return err
			}
		}
	}
	return nil
}

// kept returns the coefficients of block (row, col) of c if it is kept, else nil.
func (c *component) kept(row, col int) []int16 {
	if c.coef == nil {
		return nil
	}
	r, k := c.keptRow[row], c.keptCol[col]
	if r < 0 || k < 0 {
		return nil
	}
	i := (int(r)*c.nkc + int(k)) * 64
	return c.coef[i : i+64 : i+64]
}

var errCoefIndex = FormatError("coefficient index out of range")

// block decodes one block's share of a scan.
func (d *decoder) block(s *scanComp, idx, row, col, ss, se int, ah, al uint) error {
	br := &d.br
	c := s.c
	if ss == 0 {
		if ah == 0 {
			t, err := br.decode(s.dc)
			if err != nil {
				return err
			}
			if t > 16 {
				return FormatError("DC size")
			}
			s.pred += br.receive(uint(t))
			c.dc[idx] = s.pred << al
		} else if br.bit() {
			c.dc[idx] |= 1 << al
		}
		if se == 0 {
			return nil
		}
	}
	// Progressive AC bands have their own loop (scanProgressiveAC); this is a sequential block.
	return d.acSequential(s, c.kept(row, col))
}

func (d *decoder) acSequential(s *scanComp, coef []int16) error {
	if coef == nil {
		return d.skipAC(s.ac)
	}
	br := &d.br
	for k := 1; k < 64; k++ {
		rs, err := br.decode(s.ac)
		if err != nil {
			return err
		}
		r, sz := int(rs>>4), uint(rs&15)
		if sz == 0 {
			if r != 15 {
				return nil
			}
			k += 15
			continue
		}
		k += r
		if k > 63 {
			return errCoefIndex
		}
		if coef == nil {
			br.bits(sz)
			continue
		}
		coef[unzig[k]] = int16(br.receive(sz))
	}
	return nil
}

// skipAC consumes one block's sequential AC coefficients without keeping them: each code and
// its value bits are dropped together, with the bit buffer held in locals.
func (d *decoder) skipAC(t *huffTable) error {
	br := &d.br
	acc, n := br.acc, br.n
	for k := 1; k < 64; {
		if n < 32 {
			br.acc, br.n = acc, n
			br.fill()
			acc, n = br.acc, br.n
		}
		e := t.lut[(acc>>((n-lutBits)&63))&(1<<lutBits-1)]
		var rs uint8
		if e != 0 {
			n -= uint(e >> 8)
			rs = uint8(e)
		} else {
			br.acc, br.n = acc, n
			var err error
			if rs, err = br.decodeLong(t); err != nil {
				return err
			}
			acc, n = br.acc, br.n
		}
		r, sz := int(rs>>4), uint(rs&15)
		if sz == 0 {
			if r != 15 {
				break
			}
			k += 16
			continue
		}
		k += r
		if k > 63 {
			return errCoefIndex
		}
		n -= sz
		k++
	}
	br.acc, br.n = acc, n
	return nil
}

// firstSkip is acFirst for a block that is not kept: it records which coefficients became
// non-zero and drops their value bits, with the bit buffer held in locals. It decodes from
// zig-zag index k (the band's start at the block's start) to se; on an error the mask keeps
// the symbols decoded before it. It is the reference for firstAsm, which hands it any symbol
// it does not take itself.
func (d *decoder) firstSkip(t *huffTable, nzp *uint64, k, se int) error {
	br := &d.br
	nz := *nzp
	acc, n := br.acc, br.n
	for ; k <= se; k++ {
		if n < 32 {
			if v, ok := br.peek8(); ok {
				k := (63 - n) >> 3 // room for at least four whole bytes; n+8k stays below 64
				acc = acc<<((k*8)&63) | v>>((64-k*8)&63)
				n += k * 8
				br.pos += int(k)
			} else {
				br.acc, br.n = acc, n
				br.fill()
				acc, n = br.acc, br.n
			}
		}
		e := t.lut[(acc>>((n-lutBits)&63))&(1<<lutBits-1)]
		var rs uint8
		if e != 0 {
			n -= uint(e >> 8)
			rs = uint8(e)
		} else {
			br.acc, br.n = acc, n
			var err error
			if rs, err = br.decodeLong(t); err != nil {
				*nzp = nz
				return err
			}
			acc, n = br.acc, br.n
		}
		r, sz := int(rs>>4), uint(rs&15)
		if sz == 0 {
			if r < 15 {
				d.eobrun = 1<<(r&63) - 1
				if r > 0 {
					n -= uint(r)
					d.eobrun += int(acc>>(n&63)) & (1<<(r&63) - 1)
				}
				break
			}
			k += 15
			continue
		}
		k += r
		if k > se {
			br.acc, br.n = acc, n
			*nzp = nz
			return errCoefIndex
		}
		nz |= 1 << (uint(k) & 63)
		n -= sz
	}
	br.acc, br.n = acc, n
	*nzp = nz
	return nil
}

// acFirst decodes a first pass of an AC band into a kept block, from zig-zag index k (the
// band's start at the block's start) to se; on an error the mask keeps the symbols decoded
// before it. It is the reference for firstAsm's kept blocks.
func (d *decoder) acFirst(t *huffTable, nzp *uint64, coef []int16, k, se int, al uint) error {
	br := &d.br
	coef = coef[:64]
	nz := *nzp
	acc, n := br.acc, br.n
	for ; k <= se; k++ {
		if n < 32 {
			if v, ok := br.peek8(); ok {
				k := (63 - n) >> 3 // room for at least four whole bytes; n+8k stays below 64
				acc = acc<<((k*8)&63) | v>>((64-k*8)&63)
				n += k * 8
				br.pos += int(k)
			} else {
				br.acc, br.n = acc, n
				br.fill()
				acc, n = br.acc, br.n
			}
		}
		e := t.lut[(acc>>((n-lutBits)&63))&(1<<lutBits-1)]
		var rs uint8
		if e != 0 {
			n -= uint(e >> 8)
			rs = uint8(e)
		} else {
			br.acc, br.n = acc, n
			var err error
			if rs, err = br.decodeLong(t); err != nil {
				*nzp = nz
				return err
			}
			acc, n = br.acc, br.n
		}
		r, sz := int(rs>>4), uint(rs&15)
		if sz == 0 {
			if r < 15 {
				d.eobrun = 1<<(r&63) - 1
				if r > 0 {
					n -= uint(r)
					d.eobrun += int(acc>>(n&63)) & (1<<(r&63) - 1)
				}
				break
			}
			k += 15
			continue
		}
		k += r
		if k > se {
			br.acc, br.n = acc, n
			*nzp = nz
			return errCoefIndex
		}
		nz |= 1 << (uint(k) & 63)
		n -= sz
		v := int32(acc>>(n&63)) & (1<<(sz&31) - 1)
		v += (v - 1<<(sz&31)>>1) >> 31 & (-1<<(sz&31) + 1)
		coef[unzig[k&63]] = int16(v << (al & 31))
	}
	br.acc, br.n = acc, n
	*nzp = nz
	return nil
}

// bandMask has bits a..b set (zig-zag indices), or none when a > b.
func bandMask(a, b int) uint64 {
	if a > b {
		return 0
	}
	return (uint64(1)<<uint(b+1) - 1) &^ (uint64(1)<<uint(a) - 1)
}

// correct reads one correction bit for each coefficient in mask (zig-zag bits, ascending),
// up to 32 at a time, and applies them to coef.
func (d *decoder) correct(mask uint64, coef []int16, p1, m1 int16, al uint) {
	br := &d.br
	for mask != 0 {
		cnt := uint(min(bits.OnesCount64(mask), 32))
		if br.n < cnt {
			br.fill()
		}
		br.n -= cnt
		mask = applyCorrections(mask, cnt, br.acc>>(br.n&63), coef, p1, m1, al)
	}
}

// applyCorrections applies correction bits v (the lowest cnt bits, the first one highest) to
// the coefficients of the cnt lowest bits of mask and returns the rest of mask. A correction
// adds one unit of the bit position away from zero to a coefficient whose bit there is still
// clear; without branches, since the bits are close to random.
func applyCorrections(mask uint64, cnt uint, v uint64, coef []int16, p1, m1 int16, al uint) uint64 {
	coef = coef[:64]
	for i := cnt; i > 0; i-- {
		z := unzig[bits.TrailingZeros64(mask)&63]
		mask &= mask - 1
		cz := coef[z]
		delta := p1 ^ (p1^m1)&(cz>>15)
		ok := int16(v>>((i-1)&63)) & ^(cz >> (al & 15)) & 1
		coef[z] = cz + delta*ok
	}
	return mask
}

// scanProgressiveAC decodes one component's AC band in a first pass of a progressive Huffman
// scan, a row (cut at restart boundaries) at a time through firstRun.
func (d *decoder) scanProgressiveAC(s *scanComp, ss, se int, al uint) error {
	return d.scanACRuns(s, func(nz []uint64, kept []int32, coef []int16) error {
		return d.firstRun(s.ac, nz, kept, coef, ss, se, al)
	})
}

// scanACRuns walks one component's blocks in a progressive AC scan a block row at a time, cut
// at restart boundaries (taking each marker as it comes), and hands run each piece: the
// blocks' non-zero masks, their kept columns (nil when the row keeps none) and the row's kept
// coefficients.
func (d *decoder) scanACRuns(s *scanComp, run func(nz []uint64, kept []int32, coef []int16) error) error {
	c := s.c
	cw := (d.width*c.h + d.hmax - 1) / d.hmax
	ch := (d.height*c.v + d.vmax - 1) / d.vmax
	bx, by := (cw+7)/8, (ch+7)/8
	sc := []scanComp{*s}
	n := 0 // blocks so far, for restart intervals
	for y := range by {
		kept, coef := c.keptRowBlocks(y, bx)
		nzRow := c.nz[y*c.bw : y*c.bw+bx]
		for x := 0; x < len(nzRow); {
			end := len(nzRow)
			if d.restart > 0 {
				if n > 0 && n%d.restart == 0 {
					d.restartAt(sc)
				}
				end = min(end, x+d.restart-n%d.restart)
			}
			var k []int32
			if kept != nil {
				k = kept[x:end]
			}
			if err := run(nzRow[x:end], k, coef); err != nil {
				return err
			}
			n += end - x
			x = end
		}
	}
	return nil
}

// keptRowBlocks returns the kept columns of block row y's first bx blocks and the row's kept
// coefficients, or nils when the row has no kept block.
func (c *component) keptRowBlocks(y, bx int) ([]int32, []int16) {
	if c.coef == nil || c.keptRow[y] < 0 {
		return nil, nil
	}
	i := int(c.keptRow[y]) * c.nkc * 64
	return c.keptCol[:bx], c.coef[i : i+c.nkc*64]
}

// firstRunGo is firstRun in Go: the portable path, and the reference the assembly is tested
// against. An end-of-band run costs nothing in a first pass.
func (d *decoder) firstRunGo(t *huffTable, nz []uint64, kept []int32, coef []int16, ss, se int, al uint) error {
	for i := 0; i < len(nz); i++ {
		if d.eobrun > 0 {
			k := min(d.eobrun, len(nz)-i)
			d.eobrun -= k
			i += k - 1
			continue
		}
		var err error
		if kept != nil && kept[i] >= 0 {
			err = d.acFirst(t, &nz[i], coef[int(kept[i])*64:][:64], ss, se, al)
		} else {
			err = d.firstSkip(t, &nz[i], ss, se)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// scanRefineAC decodes one component's AC band in a refinement pass of a progressive Huffman
// scan, a row (cut at restart boundaries) at a time through refineRun.
func (d *decoder) scanRefineAC(s *scanComp, ss, se int, al uint) error {
	band := bandMask(ss, se)
	return d.scanACRuns(s, func(nz []uint64, kept []int32, coef []int16) error {
		return d.refineRun(s.ac, nz, kept, coef, band, al)
	})
}

// refineRunGo is refineRun in Go: the portable path, and the reference the assembly is tested
// against.
func (d *decoder) refineRunGo(t *huffTable, nz []uint64, kept []int32, coef []int16, band uint64, al uint) error {
	p1, m1 := int16(1)<<al, int16(-1)<<al
	for i := 0; i < len(nz); {
		if kept != nil && kept[i] >= 0 {
			cf := coef[int(kept[i])*64:][:64]
			if d.eobrun > 0 {
				// Inside an end-of-band run: the coefficients with history still take
				// their correction bits.
				d.eobrun--
				d.correct(nz[i]&band, cf, p1, m1, al)
			} else if err := d.acRefine(t, &nz[i], cf, band, al); err != nil {
				return err
			}
			i++
			continue
		}
		j := len(nz)
		if kept != nil {
			for j = i + 1; j < len(nz) && kept[j] < 0; j++ {
			}
		}
		if err := d.refineSkipRunGo(t, nz[i:j], band); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// refineSkipRunGo is refineSkipRun in Go: the portable path, and the reference the assembly
// is tested against. A stretch of an end-of-band run drops its correction bits as one count.
func (d *decoder) refineSkipRunGo(t *huffTable, nz []uint64, band uint64) error {
	br := &d.br
	for i := 0; i < len(nz); i++ {
		if d.eobrun > 0 {
			k := min(d.eobrun, len(nz)-i)
			d.eobrun -= k
			cnt := uint(0)
			for _, m := range nz[i : i+k] {
				cnt += uint(bits.OnesCount64(m & band))
			}
			br.skip(cnt)
			i += k - 1
			continue
		}
		if err := d.refineSkip(t, &nz[i], band); err != nil {
			return err
		}
	}
	return nil
}

// skip drops cnt bits.
func (br *bitReader) skip(cnt uint) {
	for cnt > br.n {
		cnt -= br.n
		br.n = 0
		br.fill()
	}
	br.n -= cnt
}

// refineSkip is acRefine for a block that is not kept and not inside an end-of-band run: it
// updates the non-zero mask and consumes the same bits, with the bit buffer held in locals.
// rem is the part of the band not yet passed (bits k..se; the whole band at the block's
// start); each symbol's target is the (r+1)-th coefficient of rem without history, and the
// ones with history passed on the way each take a correction bit, dropped here. On an error
// the mask keeps the symbols decoded before it. It is the reference for refineSkipAsm, which
// hands it any symbol it does not take itself.
func (d *decoder) refineSkip(t *huffTable, nzp *uint64, rem uint64) error {
	br := &d.br
	nz := *nzp
	acc, n := br.acc, br.n
	for rem != 0 {
		if n < 32 {
			if v, ok := br.peek8(); ok {
				// Room for at least four whole bytes; n+8k stays below 64.
				k := (63 - n) >> 3
				acc = acc<<((k*8)&63) | v>>((64-k*8)&63)
				n += k * 8
				br.pos += int(k)
			} else {
				br.acc, br.n = acc, n
				br.fill()
				acc, n = br.acc, br.n
			}
		}
		e := t.lut[(acc>>((n-lutBits)&63))&(1<<lutBits-1)]
		var rs uint8
		if e != 0 {
			n -= uint(e >> 8)
			rs = uint8(e)
		} else {
			br.acc, br.n = acc, n
			var err error
			if rs, err = br.decodeLong(t); err != nil {
				*nzp = nz
				return err
			}
			acc, n = br.acc, br.n
		}
		r := uint(rs >> 4)
		var passed uint64
		if rs&15 == 1 {
			// The usual symbol: r coefficients without history, then a new one (its sign
			// bit is dropped).
			n--
			zeros := ^nz & rem
			if r <= 3 {
				zeros = dropShort(zeros, r)
			} else if uint(bits.OnesCount64(zeros)) > r {
				zeros &^= uint64(1)<<selectBit(zeros, r) - 1
			} else {
				br.acc, br.n = acc, n
				*nzp = nz
				return errCoefIndex
			}
			low := zeros & -zeros
			passed = nz & rem & (low - 1)
			nz |= low
			rem &^= low<<1 - 1
		} else {
			if rs&15 != 0 {
				br.acc, br.n = acc, n
				*nzp = nz
				return FormatError("refinement coefficient size")
			}
			if r < 15 {
				// End of band for this block and the next 2^r-1+extra ones; the rest of
				// this one's band still takes its correction bits.
				eobrun := 1 << (r & 63)
				if r > 0 {
					n -= r
					eobrun += int(acc>>(n&63)) & (1<<(r&63) - 1)
				}
				d.eobrun = eobrun - 1
				br.acc, br.n = acc, n
				br.skip(uint(bits.OnesCount64(nz & rem)))
				*nzp = nz
				return nil
			}
			// ZRL: sixteen coefficients without history (or the rest of the band).
			zeros := ^nz & rem
			if uint(bits.OnesCount64(zeros)) > 15 {
				zeros &^= uint64(1)<<selectBit(zeros, 15) - 1
				low := zeros & -zeros
				passed = nz & rem & (low - 1)
				rem &^= low<<1 - 1
			} else {
				passed = nz & rem
				rem = 0
			}
		}
		if cnt := uint(bits.OnesCount64(passed)); cnt > n {
			br.acc, br.n = acc, n
			br.skip(cnt)
			acc, n = br.acc, br.n
		} else {
			n -= cnt
		}
	}
	br.acc, br.n = acc, n
	*nzp = nz
	return nil
}

// acRefine decodes a successive-approximation refinement of an AC band into a kept block. The
// block's mask of non-zero coefficients (zig-zag order) says which ones take a correction bit,
// so zero runs and corrections are found with bit operations rather than a walk over the band;
// rem is the part of the band not yet passed (the whole band at the block's start). The bit
// buffer is held in locals. On an error the mask keeps the symbols decoded before it. It is
// the reference for the assembly's kept blocks, which hands it any symbol it does not take.
func (d *decoder) acRefine(t *huffTable, nzp *uint64, coef []int16, rem uint64, al uint) error {
	br := &d.br
	nz := *nzp
	p1, m1 := int16(1)<<al, int16(-1)<<al
	coef = coef[:64]
	acc, n := br.acc, br.n
	for rem != 0 {
		if n < 32 {
			if v, ok := br.peek8(); ok {
				k := (63 - n) >> 3 // room for at least four whole bytes; n+8k stays below 64
				acc = acc<<((k*8)&63) | v>>((64-k*8)&63)
				n += k * 8
				br.pos += int(k)
			} else {
				br.acc, br.n = acc, n
				br.fill()
				acc, n = br.acc, br.n
			}
		}
		e := t.lut[(acc>>((n-lutBits)&63))&(1<<lutBits-1)]
		var rs uint8
		if e != 0 {
			n -= uint(e >> 8)
			rs = uint8(e)
		} else {
			br.acc, br.n = acc, n
			var err error
			if rs, err = br.decodeLong(t); err != nil {
				*nzp = nz
				return err
			}
			acc, n = br.acc, br.n
		}
		r := uint(rs >> 4)
		// The target is the (r+1)-th coefficient without history; the ones with history
		// passed on the way each take a correction bit.
		var passed uint64
		if rs&15 == 1 {
			// The usual symbol: a new coefficient, whose sign bit gives ±1<<al.
			n--
			val := m1 + int16(acc>>(n&63)&1)<<((al+1)&15)
			zeros := ^nz & rem
			if r <= 3 {
				zeros = dropShort(zeros, r)
			} else if uint(bits.OnesCount64(zeros)) > r {
				zeros &^= uint64(1)<<selectBit(zeros, r) - 1
			} else {
				br.acc, br.n = acc, n
				*nzp = nz
				return errCoefIndex
			}
			low := zeros & -zeros
			passed = nz & rem & (low - 1)
			rem &^= low<<1 - 1
			nz |= low
			coef[unzig[bits.TrailingZeros64(low)&63]] = val
		} else {
			if rs&15 != 0 {
				br.acc, br.n = acc, n
				*nzp = nz
				return FormatError("refinement coefficient size")
			}
			if r < 15 {
				// End of band: the rest of this block's band still takes its corrections.
				d.eobrun = 1 << (r & 63)
				if r > 0 {
					n -= r
					d.eobrun += int(acc>>(n&63)) & (1<<(r&63) - 1)
				}
				break
			}
			// ZRL: sixteen coefficients without history (or the rest of the band).
			zeros := ^nz & rem
			if uint(bits.OnesCount64(zeros)) > 15 {
				zeros &^= uint64(1)<<selectBit(zeros, 15) - 1
				low := zeros & -zeros
				passed = nz & rem & (low - 1)
				rem &^= low<<1 - 1
			} else {
				passed = nz & rem
				rem = 0
			}
		}
		for passed != 0 {
			cnt := uint(min(bits.OnesCount64(passed), 32))
			if n < cnt {
				br.acc, br.n = acc, n
				br.fill()
				acc, n = br.acc, br.n
			}
			n -= cnt
			passed = applyCorrections(passed, cnt, acc>>(n&63), coef, p1, m1, al)
		}
	}
	br.acc, br.n = acc, n
	if d.eobrun > 0 {
		d.correct(nz&rem, coef, p1, m1, al)
		d.eobrun--
	}
	*nzp = nz
	return nil
}
