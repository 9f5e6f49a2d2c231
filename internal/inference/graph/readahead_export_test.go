package graph

// ReadAheadLinks returns, for each planned node whose GEMM reads a later
// node's weights ahead, the pair of node indices (reader, read), and for
// every node whether it has packed float weights.
func (m *Model) ReadAheadLinks() (links [][2]int, weights []bool) {
	owner := make(map[any]int)
	weights = make([]bool, len(m.nodes))
	for i, n := range m.nodes {
		if p := firstPacked(n.k); p != nil {
			owner[p] = i
			weights[i] = true
		}
	}
	for i, n := range m.nodes {
		if p := aheadReader(n.k); p != nil && p.ReadAhead() != nil {
			j, ok := owner[p.ReadAhead()]
			if !ok {
				j = -1
			}
			links = append(links, [2]int{i, j})
		}
	}
	return links, weights
}

// UnlinkReadAhead makes no GEMM of m read later weights ahead.
func (m *Model) UnlinkReadAhead() {
	for _, n := range m.nodes {
		for _, p := range packedOf(nil, n.k) {
			if p != nil {
				p.SetReadAhead(nil, 0, 0)
			}
		}
	}
}
