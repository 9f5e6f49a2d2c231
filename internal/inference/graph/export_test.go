package graph

// SetFinishFusion turns the graph-level fusions in Builder.Finish on or off
// for the external benchmarks and returns a function restoring the setting.
func SetFinishFusion(on bool) (restore func()) {
	saved := finishFusion
	finishFusion = on
	return func() { finishFusion = saved }
}

// SetStemRows switches runRows for the RGB stems of models planned until
// restore is called.
func SetStemRows(on bool) (restore func()) {
	saved := stemRows
	stemRows = on
	return func() { stemRows = saved }
}

// SetExpandBlocked switches DepthwiseBlocked for fused expansions' bands
// (read at run time) and returns a function restoring the setting.
func SetExpandBlocked(on bool) (restore func()) {
	saved := expandBlocked
	expandBlocked = on
	return func() { expandBlocked = saved }
}

// Split is the index of the first planned node run on whole sub-batches.
func (m *Model) Split() int { return m.split }

// NumNodes is the number of planned operators.
func (m *Model) NumNodes() int { return len(m.nodes) }
