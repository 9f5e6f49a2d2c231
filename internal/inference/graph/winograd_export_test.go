package graph

// SetWinograd sets the Winograd path (on, and the variant: 2 or 4 forces
// F(2×2, 3×3) or F(4×4, 3×3), 0 lets each layer's shape choose) for models
// planned until restore is called.
func SetWinograd(on bool, variant int) (restore func()) {
	savedOn, savedVariant := winogradOn, winoVariant
	winogradOn, winoVariant = on, variant
	return func() { winogradOn, winoVariant = savedOn, savedVariant }
}
