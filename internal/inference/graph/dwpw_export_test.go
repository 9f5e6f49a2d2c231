package graph

import "github.com/cspipe/cspipe/internal/inference/kernels"

// SetDWPWHSRows sets dwpwHSRows (read while a model runs) and returns
// the setting before.
func SetDWPWHSRows(on bool) bool {
	saved := dwpwHSRows
	dwpwHSRows = on
	return saved
}

// SetFusedBands sets the fused pairs' band sizing (fusedBandBytes,
// fusedMinPixels) for models planned until restore is called.
func SetFusedBands(bytes, minPixels int) (restore func()) {
	b, p := fusedBandBytes, fusedMinPixels
	fusedBandBytes, fusedMinPixels = bytes, minPixels
	return func() { fusedBandBytes, fusedMinPixels = b, p }
}

// SetDWPWEvenRows sets dwpwEvenRows (read while a model runs) and returns
// the setting before.
func SetDWPWEvenRows(on bool) bool {
	saved := dwpwEvenRows
	dwpwEvenRows = on
	return saved
}

// SetDWHotInput sets dwHotInput (read while a model runs).
func SetDWHotInput(on bool) { dwHotInput = on }

// SetDWPWPlanes sets dwpwPlanes (read while a model runs).
func SetDWPWPlanes(on bool) { dwpwPlanes = on }

// SetDWPWSession sets every switch this session's fused-pair and
// depthwise changes added that is read while a model runs (dwpwHSRows,
// dwpwEvenRows, dwHotInput, dwpwPlanes): on as by default, off as
// before them. The band sizes are set at planning (SetFusedBands).
func SetDWPWSession(on bool) {
	dwpwHSRows = on && kernels.Path() == "avx2"
	dwpwEvenRows, dwHotInput, dwpwPlanes = on, on, on
}

// SetDWPWPair sets dwpwPair (read while a model runs) and returns the
// setting before.
func SetDWPWPair(on bool) bool {
	saved := dwpwPair
	dwpwPair = on
	return saved
}

// SetDWPWPacked sets dwpwPacked for stride across sw (read while a model
// runs) and returns the setting before.
func SetDWPWPacked(sw int, on bool) bool {
	saved := dwpwPacked[sw-1]
	dwpwPacked[sw-1] = on
	return saved
}

// SetDWPWAhead sets dwpwAhead (read while a model runs).
func SetDWPWAhead(on bool) { dwpwAhead = on }

// SetDWPWAheadSmallK sets dwpwAheadSmallK (read while a model runs).
func SetDWPWAheadSmallK(on bool) { dwpwAheadSmallK = on }
