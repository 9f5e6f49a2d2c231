//go:build cspipe_bench && amd64

package kernels

// SetAVX2Prefetch switches the AVX2 GEMM driver's read of the next panel's
// weights ahead (avx2Prefetch), for graph's BenchmarkAVX2PanelModel.
func SetAVX2Prefetch(on bool) { avx2Prefetch = on }

// SetAVX2PrefetchSpread switches the spread of that read over a band's
// first row tiles (avx2PrefetchSpread), for BenchmarkAVX2PanelModel.
func SetAVX2PrefetchSpread(on bool) { avx2PrefetchSpread = on }

// SetAVX2PrefetchFine lets that spread read as little as 16 bytes a pass of
// four k steps (on, the default) or no less than a line (off:
// avx2PrefetchMinPass), for BenchmarkAVX2PanelModel.
func SetAVX2PrefetchFine(on bool) {
	avx2PrefetchMinPass = 64
	if on {
		avx2PrefetchMinPass = 16
	}
}

// SetAVX2PrefetchAhead sets how many panels ahead that read runs
// (avx2PrefetchAhead, 1 by default), for BenchmarkAVX2PanelModel.
func SetAVX2PrefetchAhead(d int) { avx2PrefetchAhead = d }

// SetAVX2KC sets the AVX2 driver's K block (avx2KC; 0, the default, lets
// gemmBlocksAVX2 pick), for BenchmarkAVX2PanelModel.
func SetAVX2KC(kc int) { avx2KC = kc }

// SetAVX2Quad switches avx2Quad, for BenchmarkAVX2PanelModel.
func SetAVX2Quad(on bool) { avx2Quad = on }
