//go:build !amd64

package jpegdec

// refineSkipRun drops one scan's refinement of a run of blocks that are not kept (nz, their
// non-zero masks, updated), from the start of the first one's band; off amd64 it is the Go
// loop.
func (d *decoder) refineSkipRun(t *huffTable, nz []uint64, band uint64) error {
	return d.refineSkipRunGo(t, nz, band)
}
