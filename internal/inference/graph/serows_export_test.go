package graph

// SetSERows switches the squeeze-excite row kernels (seRows: one
// kernels.SumRows, MulRows or AddRows call per image) and returns the
// restore.
func SetSERows(on bool) (restore func()) {
	saved := seRows
	seRows = on
	return func() { seRows = saved }
}
