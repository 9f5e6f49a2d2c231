//go:build cspipe_bench && amd64

package kernels

// SetOneBandFullK switches the banded driver's single K block for
// one-band products (oneBandFullK), for graph's BenchmarkFullKModel.
func SetOneBandFullK(on bool) { oneBandFullK = on }

// SetReadAheadOn switches the read-ahead of later layers' weights
// (readAhead), for graph's BenchmarkReadAheadModel.
func SetReadAheadOn(on bool) { readAhead = on }

// SetHalfPanel switches the 16-column tiles for a last panel of at most 16
// real columns (halfPanel), for graph's BenchmarkHalfPanelModel.
func SetHalfPanel(on bool) { halfPanel = on }

// SetMaskedTail switches the masked in-place 32-column tiles for a last
// panel of 17 to 31 real columns (maskedTail), for graph's
// BenchmarkHalfPanelModel.
func SetMaskedTail(on bool) { maskedTail = on }
