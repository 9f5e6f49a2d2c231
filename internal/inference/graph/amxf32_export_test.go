package graph

// SetAMXF32 sets the CSPIPE_AMXF32 switch for models planned from now on
// and returns the previous setting.
func SetAMXF32(on bool) (was bool) {
	was, amxF32 = amxF32, on
	return was
}

// BF3Layers counts m's 1x1 convolutions with a bf16x3 form and the bytes
// their split weights take.
func BF3Layers(m *Model) (layers, bytes int) {
	for _, nd := range m.nodes {
		if c, ok := nd.k.(*convKernel); ok && c.bf3 != nil {
			layers++
			bytes += c.bf3.pb.Bytes()
		}
	}
	return layers, bytes
}

// BF3Calls is how many GEMM calls have run on the bf16x3 tiles.
func BF3Calls() int64 { return bf3Calls.Load() }

// BF3Shape reports, for m's planned operator i, whether it has a bf16x3
// form and then its K and N.
func BF3Shape(m *Model, i int) (tiled bool, k, n int) {
	if c, ok := m.nodes[i].k.(*convKernel); ok && c.bf3 != nil {
		return true, c.bf3.pb.K, c.bf3.pb.N
	}
	return false, 0, 0
}
