//go:build amd64

package kernels

// sumRowsAVX2 is SumRows for the first n channels (n a multiple of 8, at
// most c): out[j] += in[r*c+j] for r = 0, 1, ... in order. Implemented in
// poolrows_amd64.s.
//
//go:noescape
func sumRowsAVX2(out, in *float32, rows, c, n int)

// rowsOpAVX2 is MulRows (op 1) or AddRows (op 0) for the first n channels
// of every row (n a multiple of 8, at most c). Implemented in
// poolrows_amd64.s.
//
//go:noescape
func rowsOpAVX2(dst, a, s *float32, rows, c, n, op int)
