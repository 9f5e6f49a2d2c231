package workflows

import "testing"

// TestLaunchLoads fails if launch.yaml uses anything outside the engine's supported subset.
func TestLaunchLoads(t *testing.T) {
	if _, err := Launch(); err != nil {
		t.Fatalf("launch.yaml: %v", err)
	}
}
