//go:build !amd64

package jpegdec

// refineRun decodes one scan's refinement of a run of blocks of a row: nz holds their non-zero
// masks, kept (nil when the row has none) each one's kept column or -1, coef the row's kept
// blocks. Off amd64 it is the Go loop.
func (d *decoder) refineRun(t *huffTable, nz []uint64, kept []int32, coef []int16, band uint64, al uint) error {
	return d.refineRunGo(t, nz, kept, coef, band, al)
}

// firstRun decodes one scan's first pass of a run of blocks of a row (as refineRun). Off
// amd64 it is the Go loop.
func (d *decoder) firstRun(t *huffTable, nz []uint64, kept []int32, coef []int16, ss, se int, al uint) error {
	return d.firstRunGo(t, nz, kept, coef, ss, se, al)
}
