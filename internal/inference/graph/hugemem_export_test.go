package graph

// SetHugePages turns huge-page blocks on or off for models planned from
// now on and returns the previous setting.
func SetHugePages(on bool) (was bool) {
	was, hugePagesOn = hugePagesOn, on
	return was
}

// HugeMappedBytes is how many bytes live huge-page blocks hold mapped.
func HugeMappedBytes() int64 { return hugeMapped.Load() }

// HugeWeights counts m's packed weight matrices (Winograd ones apart) and
// how many of them lie in its huge-page block.
func HugeWeights(m *Model) (onHuge, total, winoOnHuge, wino int) {
	winos := map[any]bool{}
	for _, nd := range m.nodes {
		if c, ok := nd.k.(*convKernel); ok && c.wino != nil {
			for _, p := range c.wino.pb {
				winos[p] = true
			}
		}
	}
	for _, p := range m.packedWeights() {
		if p.PanelsAt() == nil {
			continue
		}
		in := m.weights.holds(p.PanelsAt())
		if winos[p] {
			wino++
			if in {
				winoOnHuge++
			}
			continue
		}
		total++
		if in {
			onHuge++
		}
	}
	return onHuge, total, winoOnHuge, wino
}
