package jpegdec

// unzig maps a zig-zag index to the natural (row-major) index of an 8×8 block.
var unzig = func() [64]uint8 {
	var z [64]uint8
	k := 0
	for s := 0; s < 15; s++ { // s = row + col, one anti-diagonal at a time
		lo, hi := max(0, s-7), min(s, 7)
		if s%2 == 0 { // even diagonals run up and to the right: row decreases
			for r := hi; r >= lo; r-- {
				z[k] = uint8(r*8 + s - r)
				k++
			}
		} else {
			for r := lo; r <= hi; r++ {
				z[k] = uint8(r*8 + s - r)
				k++
			}
		}
	}
	return z
}()

func (d *decoder) parseFrame(p []byte, progressive bool) error {
	if len(p) < 6 {
		return FormatError("frame header length")
	}
	if p[0] != 8 {
		return unsupported("%d-bit samples", p[0])
	}
	d.height, d.width = int(p[1])<<8|int(p[2]), int(p[3])<<8|int(p[4])
	if d.height == 0 || d.width == 0 {
		return unsupported("frame of %dx%d", d.width, d.height)
	}
	n := int(p[5])
	if n < 1 || n > 4 || n == 2 {
		return unsupported("%d components", n)
	}
	if len(p) != 6+3*n {
		return FormatError("frame header length")
	}
	d.progressive = progressive
	d.comps = make([]component, n)
	d.hmax, d.vmax = 1, 1
	for i := range d.comps {
		c := &d.comps[i]
		c.id, c.h, c.v, c.tq = p[6+3*i], int(p[7+3*i]>>4), int(p[7+3*i]&15), p[8+3*i]
		if c.tq > 3 {
			return FormatError("quantisation table selector")
		}
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 {
			return FormatError("sampling factors")
		}
		if n == 1 {
			c.h, c.v = 1, 1 // a single component is never interleaved
		}
		d.hmax, d.vmax = max(d.hmax, c.h), max(d.vmax, c.v)
	}
	for i := range d.comps {
		// libjpeg upsamples by integral factors only and refuses the rest ("fractional
		// sampling not implemented").
		if c := &d.comps[i]; d.hmax%c.h != 0 || d.vmax%c.v != 0 {
			return unsupported("sampling factors %dx%d with a maximum of %dx%d (fractional upsampling)", c.h, c.v, d.hmax, d.vmax)
		}
	}
	d.mcusX = (d.width + 8*d.hmax - 1) / (8 * d.hmax)
	d.mcusY = (d.height + 8*d.vmax - 1) / (8 * d.vmax)
	for i := range d.comps {
		c := &d.comps[i]
		c.bw, c.bh = d.mcusX*c.h, d.mcusY*c.v
	}
	d.sawFrame = true
	return nil
}

func (d *decoder) parseDHT(p []byte) error {
	for len(p) > 0 {
		if len(p) < 17 {
			return FormatError("DHT length")
		}
		class, id := p[0]>>4, p[0]&15
		if class > 1 || id > 3 {
			return FormatError("DHT selector")
		}
		var counts [16]uint8
		total := 0
		for i := range counts {
			counts[i] = p[1+i]
			total += int(p[1+i])
		}
		if total == 0 || total > 256 || len(p) < 17+total {
			return FormatError("DHT length")
		}
		t := &d.dcHuff[id]
		if class == 1 {
			t = &d.acHuff[id]
		}
		vals := append([]uint8(nil), p[17:17+total]...)
		if err := t.build(counts, vals); err != nil {
			return err
		}
		p = p[17+total:]
	}
	return nil
}

func (d *decoder) parseDQT(p []byte) error {
	for len(p) > 0 {
		prec, id := p[0]>>4, p[0]&15
		if id > 3 || prec > 1 {
			return FormatError("DQT selector")
		}
		size := 64 * (1 + int(prec))
		if len(p) < 1+size {
			return FormatError("DQT length")
		}
		for k := range 64 {
			v := uint16(p[1+k])
			if prec == 1 {
				v = uint16(p[1+2*k])<<8 | uint16(p[2+2*k])
			}
			d.quant[id][unzig[k]] = v
		}
		d.quantSet[id] = true
		p = p[1+size:]
	}
	return nil
}
