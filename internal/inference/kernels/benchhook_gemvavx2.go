//go:build cspipe_bench

package kernels

// SetGemvAVX2 switches the AVX2 few-row driver (useGemvAVX2: one to four
// rows on 16-column panels), for graph's BenchmarkGemvAVX2Model. Off, those
// products run on the 6x16 tiles as before it.
func SetGemvAVX2(on bool) { useGemvAVX2 = on }

// SetHardSwishTile switches the one-call HARD_SWISH pass over a GEMM tile
// on the AVX2 path (hsTile), for graph's BenchmarkHardSwishTileModel. Off,
// the tiles call HardSwish row by row as before it.
func SetHardSwishTile(on bool) { hsTile = on }
