package graph

import (
	"fmt"
	"strings"
)

// Describe lists the planned operators in execution order, one line each:
// the kernel that runs it, what was fused into it (bounds, HARD_SWISH, a
// residual, a 1x1 expansion, padding), its input count and output shape.
// Operator names are left out, so two readers that planned the same
// network the same way give the same lines; tests compare them.
func (m *Model) Describe() []string {
	lines := make([]string, len(m.nodes))
	for i, nd := range m.nodes {
		lines[i] = fmt.Sprintf("%s ins=%d out=%v", describeKernel(nd.k), len(nd.ins), m.tensors[nd.out].Shape)
	}
	return lines
}

func describeKernel(k kernel) string {
	switch k := k.(type) {
	case hardSwishAfter:
		return describeKernel(k.k) + " +hardswish-pass"
	case *convKernel:
		s := fmt.Sprintf("conv %dx%d/%dx%d pad %d,%d %s", k.kh, k.kw, k.sh, k.sw, k.padT, k.padL, describeBounds(k.lo, k.hi))
		if k.hs {
			s += " +hardswish"
		}
		if k.residual {
			s += " +residual " + describeBounds(k.rlo, k.rhi)
		}
		if k.wino != nil {
			s += fmt.Sprintf(" +winograd F(%dx%d,3x3)", k.wino.m, k.wino.m)
		}
		return s
	case *depthwiseKernel:
		p := &k.p
		s := fmt.Sprintf("depthwise %dx%d/%dx%d pad %d,%d mult %d %s", p.KH, p.KW, p.SH, p.SW, p.PadT, p.PadL, k.mult, describeBounds(p.Lo, p.Hi))
		if k.hs {
			s += " +hardswish"
		}
		if e := k.expand; e != nil {
			s += fmt.Sprintf(" +expand %d->%d %s", e.cin, e.cout, describeBounds(e.lo, e.hi))
			if e.hardSwish {
				s += " +hardswish"
			}
		}
		return s
	case *dwPointwise:
		s := "[" + describeKernel(k.dw) + "] then [" + describeKernel(k.pw) + "]"
		if k.res != 0 {
			s += " +residual"
			if k.clamp {
				s += " " + describeBounds(k.lo, k.hi)
			}
		}
		return s
	case *fcKernel:
		s := "fully-connected " + describeBounds(k.lo, k.hi)
		if k.hs {
			s += " +hardswish"
		}
		return s
	case *binaryKernel:
		op := "add"
		if k.mul {
			op = "mul"
		}
		if k.clamp {
			return op + " " + describeBounds(k.lo, k.hi)
		}
		return op
	case *unaryKernel:
		return fmt.Sprintf("%s %s", strings.ToLower(k.op.String()), describeBounds(k.lo, k.hi))
	case *poolKernel:
		op := "average-pool"
		if k.max {
			op = "max-pool"
		}
		return fmt.Sprintf("%s %dx%d/%dx%d pad %d,%d %s", op, k.kh, k.kw, k.sh, k.sw, k.padT, k.padL, describeBounds(k.lo, k.hi))
	case *padKernel:
		return fmt.Sprintf("pad %v", k.before)
	case *qconvKernel:
		op := "qconv"
		if k.depthwise {
			op = "qdepthwise"
		}
		s := fmt.Sprintf("%s %dx%d/%dx%d pad %d,%d", op, k.kh, k.kw, k.sh, k.sw, k.padT, k.padL)
		if k.padded {
			s += " +padded"
		}
		return s
	case *qblockKernel:
		s := "[" + describeKernel(k.dw) + "] then [" + describeKernel(k.pr) + "]"
		if k.ex != nil {
			s = "[" + describeKernel(k.ex) + "] then " + s
		}
		if k.add != nil {
			s += " +residual"
		}
		return s
	}
	return strings.TrimPrefix(strings.TrimPrefix(fmt.Sprintf("%T", k), "*"), "graph.")
}

// describeBounds writes fused float bounds, open ends as "-" and "+".
func describeBounds(lo, hi float32) string {
	l, h := "-", "+"
	if lo > NoBounds.Lo {
		l = fmt.Sprint(lo)
	}
	if hi < NoBounds.Hi {
		h = fmt.Sprint(hi)
	}
	return "[" + l + "," + h + "]"
}
