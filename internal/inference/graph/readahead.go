package graph

import "github.com/cspipe/cspipe/internal/inference/kernels"

// linkReadAhead tells the packed weights of every plain GEMM layer (a 1x1
// or gathered convolution, a fully connected layer) which weights the next
// GEMM of the model reads first, so that while it computes it can read the
// first part of them towards L2 (kernels.PackedB.SetReadAhead decides
// whether and how much: at batch 1, a 7x7 or 8x8 layer before a few-row
// product bound by its weights). Nodes without weights in between (depthwise, pooling) are
// passed over. The fused depthwise and pointwise bands and the Winograd
// path call their GEMMs band by band and read nothing ahead themselves,
// but their weights are read ahead for them by the layer before.
func (m *Model) linkReadAhead() {
	var cur *kernels.PackedB
	curRows := 0
	for _, n := range m.nodes {
		next := firstPacked(n.k)
		if next == nil {
			continue
		}
		if cur != nil {
			cur.SetReadAhead(next, curRows, gemmRows(n.k))
		}
		cur, curRows = aheadReader(n.k), gemmRows(n.k)
	}
}

// gemmRows is how many rows per image the first GEMM of kernel k runs: the
// output pixels of a convolution or a fused pointwise band, the input
// pixels of a fused expansion, a fully connected layer's rows.
func gemmRows(k kernel) int {
	switch k := k.(type) {
	case hardSwishAfter:
		return gemmRows(k.k)
	case *convKernel:
		return k.oh * k.ow
	case *fcKernel:
		return k.rows
	case *depthwiseKernel:
		return k.p.H * k.p.W
	case *dwPointwise:
		return k.pw.oh * k.pw.ow
	}
	return 0
}

// firstPacked returns the first packed float weights kernel k's GEMMs read
// (nil: none).
func firstPacked(k kernel) *kernels.PackedB {
	for _, p := range packedOf(nil, k) {
		if p != nil && p.N > 0 && p.K > 0 {
			return p
		}
	}
	return nil
}

// aheadReader returns the packed weights of k's GEMM when k runs it over
// all of a layer's rows at once (then it can read the next weights ahead),
// else nil.
func aheadReader(k kernel) *kernels.PackedB {
	switch k := k.(type) {
	case hardSwishAfter:
		return aheadReader(k.k)
	case *convKernel:
		if k.wino == nil && !k.rows && !k.columns && k.pb.N > 0 {
			return k.pb
		}
	case *fcKernel:
		return k.pb
	}
	return nil
}
