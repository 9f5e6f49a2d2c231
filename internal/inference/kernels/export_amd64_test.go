package kernels

// SetGemvMultiRow switches the few-row kernels' two- to four-row products
// (gemvMultiRow) for the external benchmarks and returns a function
// restoring the setting.
func SetGemvMultiRow(on bool) (restore func()) {
	saved := gemvMultiRow
	gemvMultiRow = on
	return func() { gemvMultiRow = saved }
}

// SetDWEight switches the eight-pixel stride-1 depthwise kernel (dwEight)
// for the external benchmarks and returns a function restoring the
// setting.
func SetDWEight(on bool) (restore func()) {
	saved := dwEight
	dwEight = on
	return func() { dwEight = saved }
}
