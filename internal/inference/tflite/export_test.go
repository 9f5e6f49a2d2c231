package tflite

// Work exposes the planner's cost estimate to the external tests.
func Work(m *Model) int64 { return m.work }
