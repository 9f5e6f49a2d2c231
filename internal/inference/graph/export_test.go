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

// SetTeamHelp turns the batched workers' helping each other on or off
// and returns the restore.
func SetTeamHelp(on bool) (restore func()) {
	old := teamHelp
	teamHelp = on
	return func() { teamHelp = old }
}

// HelpedChunks is how many operator chunks the workers of batched runs
// have run for each other so far.
func HelpedChunks() int64 { return helpedChunks.Load() }

// SetBatchTail turns the batch's tail (tail.go) on or off and returns the
// restore.
func SetBatchTail(on bool) (restore func()) {
	old := batchTail
	batchTail = on
	return func() { batchTail = old }
}

// Tail is the index of the first node of the batch's tail (NumNodes: none).
func (m *Model) Tail() int { return m.tail }
