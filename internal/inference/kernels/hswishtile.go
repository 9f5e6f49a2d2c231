package kernels

// hsTile lets the GEMM tiles' HARD_SWISH epilogue take a whole tile per
// call on the AVX2 path (hardSwishTile); benchmarks switch it off to
// compare with one HardSwish call per row.
var hsTile = true
