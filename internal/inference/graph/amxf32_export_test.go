package graph

// SetAMXF32 sets the CSPIPE_AMXF32 switch for models planned from now on
// and returns the previous setting.
func SetAMXF32(on bool) (was bool) {
	was, amxF32 = amxF32, on
	return was
}
