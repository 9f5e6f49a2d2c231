package expr

import (
	"context"
	"fmt"
	"math"
	"strings"
)

// Func is a library function callable from an expression. Arguments are positional.
type Func func(ctx context.Context, args []any) (any, error)

// Scope resolves variables.
type Scope interface {
	Lookup(name string) (any, bool)
}

// Env is what an expression is evaluated against.
type Env struct {
	Vars Scope
	// Funcs are the callable functions by full dotted name (Builtins plus the engine's own).
	Funcs map[string]Func
	// Names are dotted names usable as values when no variable shadows them: constants such as
	// http.default_retry, and FuncRefs for subworkflows and predicates.
	Names map[string]any
}

// Eval evaluates e.
func (e *Expr) Eval(ctx context.Context, env *Env) (any, error) {
	return eval(ctx, env, e.root)
}

func eval(ctx context.Context, env *Env, n node) (any, error) {
	switch x := n.(type) {
	case *litNode:
		return x.v, nil
	case *pathNode:
		return evalPath(env, x)
	case *memberNode:
		v, err := eval(ctx, env, x.x)
		if err != nil {
			return nil, err
		}
		return field(v, x.name)
	case *indexNode:
		v, err := eval(ctx, env, x.x)
		if err != nil {
			return nil, err
		}
		idx, err := eval(ctx, env, x.index)
		if err != nil {
			return nil, err
		}
		return Index(v, idx)
	case *callNode:
		return evalCall(ctx, env, x)
	case *unaryNode:
		v, err := eval(ctx, env, x.x)
		if err != nil {
			return nil, err
		}
		return unary(x.op, v)
	case *binaryNode:
		return evalBinary(ctx, env, x)
	case *listNode:
		out := make([]any, len(x.elems))
		for i, el := range x.elems {
			v, err := eval(ctx, env, el)
			if err != nil {
				return nil, err
			}
			out[i] = Copy(v)
		}
		return out, nil
	case *mapNode:
		out := make(map[string]any, len(x.keys))
		for i, k := range x.keys {
			v, err := eval(ctx, env, x.vals[i])
			if err != nil {
				return nil, err
			}
			out[k] = Copy(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("internal: unknown node %T", n)
}

func evalPath(env *Env, x *pathNode) (any, error) {
	if env.Vars != nil {
		if v, ok := env.Vars.Lookup(x.names[0]); ok {
			var err error
			for _, name := range x.names[1:] {
				if v, err = field(v, name); err != nil {
					return nil, err
				}
			}
			return v, nil
		}
	}
	// The longest dotted prefix that names a library value wins; the rest are fields.
	for n := len(x.names); n > 0; n-- {
		full := strings.Join(x.names[:n], ".")
		v, ok := env.Names[full]
		if !ok {
			if _, isFunc := env.Funcs[full]; isFunc && n == len(x.names) {
				return FuncRef{Name: full}, nil
			}
			continue
		}
		var err error
		for _, name := range x.names[n:] {
			if v, err = field(v, name); err != nil {
				return nil, err
			}
		}
		return v, nil
	}
	return nil, NewError(TagKeyError, "variable %q is not defined", x.names[0])
}

func field(v any, name string) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, NewError(TagTypeError, "cannot read field %q of a %s", name, TypeName(v))
	}
	f, ok := m[name]
	if !ok {
		return nil, NewError(TagKeyError, "key not found: %s", name)
	}
	return f, nil
}

// Index is v[idx]: a list element by integer index or a map value by string key.
func Index(v, idx any) (any, error) {
	switch c := v.(type) {
	case []any:
		i, ok := idx.(int64)
		if !ok {
			return nil, NewError(TagTypeError, "list index must be an integer, got %s", TypeName(idx))
		}
		if i < 0 || i >= int64(len(c)) {
			return nil, NewError(TagIndexError, "list index %d out of range (length %d)", i, len(c))
		}
		return c[i], nil
	case map[string]any:
		k, ok := idx.(string)
		if !ok {
			return nil, NewError(TagTypeError, "map key must be a string, got %s", TypeName(idx))
		}
		f, ok := c[k]
		if !ok {
			return nil, NewError(TagKeyError, "key not found: %s", k)
		}
		return f, nil
	}
	return nil, NewError(TagTypeError, "cannot index a %s", TypeName(v))
}

func evalCall(ctx context.Context, env *Env, x *callNode) (any, error) {
	f, ok := env.Funcs[x.name]
	if !ok {
		return nil, NewError(TagKeyError, "function %q is not defined", x.name)
	}
	args := make([]any, len(x.args))
	for i, a := range x.args {
		v, err := eval(ctx, env, a)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	return f(ctx, args)
}

func unary(op string, v any) (any, error) {
	switch op {
	case "not":
		b, ok := v.(bool)
		if !ok {
			return nil, NewError(TagTypeError, "not: operand must be a boolean, got %s", TypeName(v))
		}
		return !b, nil
	case "-":
		switch n := v.(type) {
		case int64:
			return -n, nil
		case float64:
			return -n, nil
		}
		return nil, NewError(TagTypeError, "unary -: operand must be a number, got %s", TypeName(v))
	}
	return nil, fmt.Errorf("internal: unknown unary %q", op)
}

func evalBinary(ctx context.Context, env *Env, x *binaryNode) (any, error) {
	l, err := eval(ctx, env, x.l)
	if err != nil {
		return nil, err
	}
	if x.op == "and" || x.op == "or" {
		lb, ok := l.(bool)
		if !ok {
			return nil, NewError(TagTypeError, "%s: operands must be booleans, got %s", x.op, TypeName(l))
		}
		if (x.op == "and" && !lb) || (x.op == "or" && lb) {
			return lb, nil // short-circuit
		}
		r, err := eval(ctx, env, x.r)
		if err != nil {
			return nil, err
		}
		rb, ok := r.(bool)
		if !ok {
			return nil, NewError(TagTypeError, "%s: operands must be booleans, got %s", x.op, TypeName(r))
		}
		return rb, nil
	}
	r, err := eval(ctx, env, x.r)
	if err != nil {
		return nil, err
	}
	return Binary(x.op, l, r)
}

// Binary applies a (non-short-circuit) binary operator.
func Binary(op string, l, r any) (any, error) {
	switch op {
	case "==":
		return Equal(l, r), nil
	case "!=":
		return !Equal(l, r), nil
	case "in":
		switch c := r.(type) {
		case []any:
			for _, e := range c {
				if Equal(l, e) {
					return true, nil
				}
			}
			return false, nil
		case map[string]any:
			k, ok := l.(string)
			if !ok {
				return nil, NewError(TagTypeError, "in: map keys are strings, got %s", TypeName(l))
			}
			_, found := c[k]
			return found, nil
		}
		return nil, NewError(TagTypeError, "in: right operand must be a list or map, got %s", TypeName(r))
	case "<", "<=", ">", ">=":
		return compare(op, l, r)
	case "+":
		if ls, ok := l.(string); ok {
			if rs, ok := r.(string); ok {
				return ls + rs, nil
			}
			return nil, NewError(TagTypeError, "+: cannot add %s to string", TypeName(r))
		}
	}
	return arith(op, l, r)
}

func compare(op string, l, r any) (any, error) {
	var c int
	if lf, ok := asFloat(l); ok {
		rf, ok := asFloat(r)
		if !ok {
			return nil, NewError(TagTypeError, "%s: cannot compare %s with %s", op, TypeName(l), TypeName(r))
		}
		li, lint := l.(int64)
		ri, rint := r.(int64)
		switch {
		case lint && rint:
			c = cmp3(li < ri, li > ri)
		default:
			c = cmp3(lf < rf, lf > rf)
		}
	} else if ls, ok := l.(string); ok {
		rs, ok := r.(string)
		if !ok {
			return nil, NewError(TagTypeError, "%s: cannot compare %s with %s", op, TypeName(l), TypeName(r))
		}
		c = strings.Compare(ls, rs)
	} else {
		return nil, NewError(TagTypeError, "%s: cannot compare %s with %s", op, TypeName(l), TypeName(r))
	}
	switch op {
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	}
	return c >= 0, nil
}

func cmp3(lt, gt bool) int {
	if lt {
		return -1
	}
	if gt {
		return 1
	}
	return 0
}

func arith(op string, l, r any) (any, error) {
	li, lint := l.(int64)
	ri, rint := r.(int64)
	lf, lnum := asFloat(l)
	rf, rnum := asFloat(r)
	if !lnum || !rnum {
		return nil, NewError(TagTypeError, "%s: unsupported operand types %s and %s", op, TypeName(l), TypeName(r))
	}
	bothInt := lint && rint
	switch op {
	case "+":
		if bothInt {
			s := li + ri
			if (s > li) != (ri > 0) {
				return nil, NewError(TagValueError, "+: integer overflow")
			}
			return s, nil
		}
		return lf + rf, nil
	case "-":
		if bothInt {
			s := li - ri
			if (s < li) != (ri > 0) {
				return nil, NewError(TagValueError, "-: integer overflow")
			}
			return s, nil
		}
		return lf - rf, nil
	case "*":
		if bothInt {
			p := li * ri
			if li != 0 && (p/li != ri || (li == -1 && ri == math.MinInt64)) {
				return nil, NewError(TagValueError, "*: integer overflow")
			}
			return p, nil
		}
		return lf * rf, nil
	case "/":
		if rf == 0 {
			return nil, NewError(TagZeroDivisionError, "division by zero")
		}
		return lf / rf, nil // "/" is float division, even for two integers
	case "//", "%":
		if rf == 0 {
			return nil, NewError(TagZeroDivisionError, "division by zero")
		}
		if bothInt {
			q := li / ri
			if (li%ri != 0) && ((li < 0) != (ri < 0)) {
				q-- // floor, not truncation
			}
			if op == "//" {
				return q, nil
			}
			return li - q*ri, nil
		}
		q := math.Floor(lf / rf)
		if op == "//" {
			return q, nil
		}
		return lf - q*rf, nil
	}
	return nil, fmt.Errorf("internal: unknown operator %q", op)
}
