package graph

// SetStemRow32 switches runRows's whole-row stem kernel (stemRow32) for
// benchmarks in package graph_test; restore puts the old setting back.
func SetStemRow32(on bool) (restore func()) {
	old := stemRow32
	stemRow32 = on
	return func() { stemRow32 = old }
}
