package engine

import (
	"context"

	"github.com/cspipe/cspipe/workflows/expr"
)

// tmpl is a YAML value whose strings may be `${…}` expressions, compiled at load time.
type tmpl interface {
	eval(ctx context.Context, env *expr.Env) (any, error)
}

type (
	tLit  struct{ v any }
	tExpr struct {
		e    *expr.Expr
		line int
	}
	tList []tmpl
	tMap  struct {
		keys []string
		vals []tmpl
	}
)

func (t tLit) eval(context.Context, *expr.Env) (any, error) { return t.v, nil }

func (t tExpr) eval(ctx context.Context, env *expr.Env) (any, error) { return t.e.Eval(ctx, env) }

func (t tList) eval(ctx context.Context, env *expr.Env) (any, error) {
	out := make([]any, len(t))
	for i, e := range t {
		v, err := e.eval(ctx, env)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (t *tMap) eval(ctx context.Context, env *expr.Env) (any, error) {
	out := make(map[string]any, len(t.keys))
	for i, k := range t.keys {
		v, err := t.vals[i].eval(ctx, env)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}
