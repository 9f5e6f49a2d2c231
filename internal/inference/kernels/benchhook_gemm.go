//go:build cspipe_bench && amd64

package kernels

// SetOneBandFullK switches the banded driver's single K block for
// one-band products (oneBandFullK), for graph's BenchmarkFullKModel.
func SetOneBandFullK(on bool) { oneBandFullK = on }

// SetReadAheadOn switches the read-ahead of later layers' weights
// (readAhead), for graph's BenchmarkReadAheadModel.
func SetReadAheadOn(on bool) { readAhead = on }
