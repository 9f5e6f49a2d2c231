package jpegdec

// Arithmetic-coded JPEG (SOF9 sequential, SOF10 progressive): the QM-coder of ITU-T T.81
// Annex D with the statistics model of Annex F/G, as libjpeg decodes it. Every block's
// coefficients are decoded (an arithmetic-coded scan cannot be skimmed); only the kept blocks'
// values are stored, the others update the non-zero mask that refinement scans need.

// arithReader is the decoder's register state and the byte source of one scan segment. A
// probability state is a byte: bit 7 the current MPS, the low 7 bits an index into qeStates.
type arithReader struct {
	data   []byte
	pos    int
	marker bool // reached a marker: zeros from here on
	eof    bool
	c, a   int64
	ct     int

	dcStats [4][64]uint8
	acStats [4][256]uint8
	fixed   uint8
}

// byte returns the next entropy-coded byte, unstuffing 0xFF00 and stopping at markers.
func (r *arithReader) byte() int64 {
	if r.marker {
		return 0
	}
	if r.pos >= len(r.data) {
		r.eof = true
		return 0
	}
	b := r.data[r.pos]
	if b != 0xFF {
		r.pos++
		return int64(b)
	}
	p := r.pos + 1
	for p < len(r.data) && r.data[p] == 0xFF {
		p++
	}
	if p >= len(r.data) {
		r.eof = true
		return 0
	}
	if r.data[p] == 0 {
		r.pos = p + 1
		return 0xFF
	}
	r.pos = p - 1 // at the marker's last 0xFF
	r.marker = true
	return 0
}

// resetCoder restarts the register (start of a scan or restart interval).
func (r *arithReader) resetCoder() { r.c, r.a, r.ct = 0, 0, -16 }

// decode decodes one binary decision with the adaptive state *st (T.81 D.2.4–D.2.6).
func (r *arithReader) decode(st *uint8) int {
	for r.a < 0x8000 {
		r.ct--
		if r.ct < 0 {
			r.c = r.c<<8 | r.byte()
			r.ct += 8
			if r.ct < 0 {
				// Still filling the first two bytes of the register.
				r.ct++
				if r.ct == 0 {
					r.a = 0x8000
				}
			}
		}
		r.a <<= 1
	}
	sv := *st
	e := &qeStates[sv&0x7F]
	qe := int64(e.qe)
	lps := func() {
		ns := sv&0x80 | e.nlps
		if e.swap {
			ns ^= 0x80
		}
		*st = ns
		sv ^= 0x80
	}
	mps := func() { *st = sv&0x80 | e.nmps }
	r.a -= qe
	if t := r.a << uint(r.ct); r.c >= t {
		r.c -= t
		// The lower sub-interval: the LPS, unless the intervals are exchanged.
		if r.a < qe {
			mps()
		} else {
			lps()
		}
		r.a = qe
	} else if r.a < 0x8000 {
		if r.a < qe {
			lps()
		} else {
			mps()
		}
	}
	return int(sv >> 7)
}

var errArithOverflow = FormatError("arithmetic-coded magnitude overflow")

// magnitudeAC decodes the magnitude category and bits of a non-zero AC value (T.81
// F.1.4.4.2), starting at statistics index at, with x1 the first category bin (chosen by Kx).
func (r *arithReader) magnitudeAC(stats []uint8, at, x1 int) (int32, error) {
	m := int32(r.decode(&stats[at]))
	if m != 0 && r.decode(&stats[at]) != 0 {
		m <<= 1
		at = x1
		for r.decode(&stats[at]) != 0 {
			m <<= 1
			if m == 0x8000 {
				return 0, errArithOverflow
			}
			at++
		}
	}
	v := m
	at += 14
	for m >>= 1; m != 0; m >>= 1 {
		if r.decode(&stats[at]) != 0 {
			v |= m
		}
	}
	return v + 1, nil
}

// arithDC decodes one DC difference and returns the new predictor (T.81 F.2.4.1).
func (d *decoder) arithDC(s *scanComp) (int32, error) {
	r := &d.ar
	stats := r.dcStats[s.tdc][:]
	if r.decode(&stats[s.dcCtx]) == 0 {
		s.dcCtx = 0
		return s.pred, nil
	}
	sign := r.decode(&stats[s.dcCtx+1])
	m := int32(0)
	// The magnitude starts at the sign-selected bin; its category selects the next context.
	v, err := r.magnitudeDC(stats, s.dcCtx+2+sign, &m)
	if err != nil {
		return 0, err
	}
	lo, hi := int32(1)<<d.dcL[s.tdc]>>1, int32(1)<<d.dcU[s.tdc]>>1
	switch {
	case m < lo:
		s.dcCtx = 0
	case m > hi:
		s.dcCtx = 12 + 4*sign
	default:
		s.dcCtx = 4 + 4*sign
	}
	if sign != 0 {
		v = -v
	}
	s.pred = int32(int16(s.pred + v))
	return s.pred, nil
}

// magnitudeDC is magnitude for DC differences, also reporting the category bound m that
// selects the next conditioning context.
func (r *arithReader) magnitudeDC(stats []uint8, at int, mOut *int32) (int32, error) {
	m := int32(r.decode(&stats[at]))
	if m != 0 {
		at = 20
		for r.decode(&stats[at]) != 0 {
			m <<= 1
			if m == 0x8000 {
				return 0, errArithOverflow
			}
			at++
		}
	}
	*mOut = m
	v := m
	at += 14
	for m >>= 1; m != 0; m >>= 1 {
		if r.decode(&stats[at]) != 0 {
			v |= m
		}
	}
	return v + 1, nil
}

// arithAC decodes the AC band ss..se of one block (sequential, or a progressive first scan)
// into coef (natural order; a scratch block when not kept), recording non-zero positions.
func (d *decoder) arithAC(s *scanComp, coef []int16, nz *uint64, ss, se int, al uint) error {
	r := &d.ar
	stats := r.acStats[s.tac][:]
	kx := int(d.acK[s.tac])
	for k := ss; k <= se; k++ {
		at := 3 * (k - 1)
		if r.decode(&stats[at]) != 0 {
			break // end of block
		}
		for r.decode(&stats[at+1]) == 0 {
			at += 3
			if k++; k > se {
				return errCoefIndex
			}
		}
		sign := r.decode(&r.fixed)
		x1 := 217
		if k <= kx {
			x1 = 189
		}
		v, err := r.magnitudeAC(stats, at+2, x1)
		if err != nil {
			return err
		}
		if sign != 0 {
			v = -v
		}
		coef[unzig[k]] = int16(v << al)
		if nz != nil {
			*nz |= 1 << uint(k)
		}
	}
	return nil
}

// arithRefine decodes a progressive AC refinement scan of one block (T.81 G.1.3.3); nz holds
// the coefficients that were non-zero before it; coef is nil for a block that is not kept.
func (d *decoder) arithRefine(s *scanComp, coef []int16, nz *uint64, ss, se int, al uint) error {
	r := &d.ar
	stats := r.acStats[s.tac][:]
	p1, m1 := int16(1)<<al, int16(-1)<<al
	mask := *nz
	kex := 0 // the previous stage's end of block
	for k := se; k > 0; k-- {
		if mask&(1<<uint(k)) != 0 {
			kex = k
			break
		}
	}
	for k := ss; k <= se; k++ {
		at := 3 * (k - 1)
		if k > kex && r.decode(&stats[at]) != 0 {
			break
		}
		for {
			if mask&(1<<uint(k)) != 0 { // already non-zero: a correction bit
				if r.decode(&stats[at+2]) != 0 && coef != nil {
					if z := unzig[k]; coef[z] < 0 {
						coef[z] += m1
					} else {
						coef[z] += p1
					}
				}
				break
			}
			if r.decode(&stats[at+1]) != 0 { // newly non-zero
				v := p1
				if r.decode(&r.fixed) != 0 {
					v = m1
				}
				mask |= 1 << uint(k)
				if coef != nil {
					coef[unzig[k]] = v
				}
				break
			}
			at += 3
			if k++; k > se {
				return errCoefIndex
			}
		}
	}
	*nz = mask
	return nil
}

// arithBlock decodes one block's share of an arithmetic-coded scan.
func (d *decoder) arithBlock(s *scanComp, idx, row, col, ss, se int, ah, al uint) error {
	c := s.c
	if ss == 0 {
		if ah == 0 {
			pred, err := d.arithDC(s)
			if err != nil {
				return err
			}
			c.dc[idx] = int32(int16(pred << al))
		} else if d.ar.decode(&d.ar.fixed) != 0 {
			c.dc[idx] |= 1 << al
		}
		if se == 0 {
			return nil
		}
		ss = 1
	}
	coef := c.kept(row, col)
	var nz *uint64
	if d.progressive {
		nz = &c.nz[idx]
	}
	if ah != 0 {
		return d.arithRefine(s, coef, nz, ss, se, al)
	}
	if coef == nil {
		coef = d.scratch[:]
	}
	return d.arithAC(s, coef, nz, ss, se, al)
}

// arithStart resets the statistics a scan (or restart interval) begins with.
func (d *decoder) arithStart(sc []scanComp, ss int, ah uint) {
	r := &d.ar
	for i := range sc {
		if !d.progressive || ss == 0 && ah == 0 {
			r.dcStats[sc[i].tdc] = [64]uint8{}
			sc[i].pred, sc[i].dcCtx = 0, 0
		}
		if !d.progressive || ss > 0 {
			r.acStats[sc[i].tac] = [256]uint8{}
		}
	}
	r.fixed = 113
	r.resetCoder()
}

// arithRestart moves past the RSTn marker at a restart boundary and resets the coder.
func (d *decoder) arithRestart(sc []scanComp, ss int, ah uint) {
	r := &d.ar
	for r.pos < len(r.data) {
		if r.data[r.pos] != 0xFF || r.pos+1 < len(r.data) && r.data[r.pos+1] == 0 {
			r.pos++
			continue
		}
		for r.pos+1 < len(r.data) && r.data[r.pos+1] == 0xFF {
			r.pos++
		}
		if r.pos+1 < len(r.data) && r.data[r.pos+1] >= 0xD0 && r.data[r.pos+1] <= 0xD7 {
			r.pos += 2
			r.marker = false
		} else {
			r.marker = true
		}
		break
	}
	d.arithStart(sc, ss, ah)
}

// parseDAC reads arithmetic-coding conditioning values (T.81 B.2.4.3).
func (d *decoder) parseDAC(p []byte) error {
	if len(p)%2 != 0 {
		return FormatError("DAC length")
	}
	for ; len(p) > 0; p = p[2:] {
		class, id, v := p[0]>>4, p[0]&15, p[1]
		if id > 3 {
			return FormatError("DAC selector")
		}
		switch class {
		case 0:
			l, u := v&15, v>>4
			if l > u {
				return FormatError("DAC DC conditioning")
			}
			d.dcL[id], d.dcU[id] = l, u
		case 1:
			if v < 1 || v > 63 {
				return FormatError("DAC AC conditioning")
			}
			d.acK[id] = v
		default:
			return FormatError("DAC class")
		}
	}
	return nil
}
