package kernels

// HugePage is the size and alignment of a transparent huge page where Go
// runs Linux on 4 KB base pages (x86-64; arm64 with 4 KB pages): MapHuge
// rounds its mappings up to it and starts them on its boundary.
const HugePage = 2 << 20

// Floats is how many floats b's panels and bias hold.
func (b *PackedB) Floats() (panels, bias int) { return len(b.panels), len(b.bias) }

// Relocate copies b's panels and bias into buffers of the same lengths
// that alloc returns (graph keeps them on huge pages) and makes b use
// them, leaving the old ones to the garbage collector: the same weights,
// bit for bit. b must not be in use meanwhile, and the new buffers must
// stay valid as long as b is used.
func (b *PackedB) Relocate(alloc func(n int) []float32) {
	panels, bias := alloc(len(b.panels)), alloc(len(b.bias))
	copy(panels, b.panels)
	copy(bias, b.bias)
	b.panels, b.bias = panels[:len(b.panels):len(b.panels)], bias[:len(b.bias):len(b.bias)]
}

// PanelsAt is where b's panels start (nil when empty): tests check where
// Relocate put them.
func (b *PackedB) PanelsAt() *float32 {
	if len(b.panels) == 0 {
		return nil
	}
	return &b.panels[0]
}
