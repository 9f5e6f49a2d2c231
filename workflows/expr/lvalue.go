package expr

import (
	"context"
	"fmt"
)

// Target is the left side of an assignment: a variable name followed by field names and
// bracketed index expressions (`x`, `x.y`, `x[i]["k"]`).
type Target struct {
	src  string
	root string
	path []node // each either *litNode (a field name) or an index expression
}

// Root is the variable the target assigns into.
func (t *Target) Root() string { return t.root }

// String is the target's source text.
func (t *Target) String() string { return t.src }

// Expressions returns the compiled index expressions (for load-time function checks).
func (t *Target) Expressions() []*Expr {
	var out []*Expr
	for _, n := range t.path {
		if _, lit := n.(*litNode); !lit {
			out = append(out, &Expr{root: n})
		}
	}
	return out
}

// ParseTarget parses an assignment target.
func ParseTarget(src string) (*Target, error) {
	e, err := Parse(src)
	if err != nil {
		return nil, err
	}
	t := &Target{src: src}
	var walk func(n node) error
	walk = func(n node) error {
		switch x := n.(type) {
		case *pathNode:
			t.root = x.names[0]
			for _, f := range x.names[1:] {
				t.path = append(t.path, &litNode{v: f})
			}
			return nil
		case *memberNode:
			if err := walk(x.x); err != nil {
				return err
			}
			t.path = append(t.path, &litNode{v: x.name})
			return nil
		case *indexNode:
			if err := walk(x.x); err != nil {
				return err
			}
			t.path = append(t.path, x.index)
			return nil
		}
		return fmt.Errorf("%q is not an assignable target", src)
	}
	if err := walk(e.root); err != nil {
		return nil, err
	}
	return t, nil
}

// Keys evaluates the target's path: each element is a string (map key) or int64 (list index).
func (t *Target) Keys(ctx context.Context, env *Env) ([]any, error) {
	keys := make([]any, len(t.path))
	for i, n := range t.path {
		if l, ok := n.(*litNode); ok {
			keys[i] = l.v
			continue
		}
		v, err := eval(ctx, env, n)
		if err != nil {
			return nil, err
		}
		switch v.(type) {
		case string, int64:
		default:
			return nil, NewError(TagTypeError, "%s: key must be a string or integer, got %s", t.src, TypeName(v))
		}
		keys[i] = v
	}
	return keys, nil
}

// SetPath returns a copy of root with the value at keys replaced by v. Only the maps and lists
// along the path are copied, so values already handed out are never mutated. Missing map keys
// along the path create empty maps.
func SetPath(root any, keys []any, v any) (any, error) {
	if len(keys) == 0 {
		return v, nil
	}
	switch c := root.(type) {
	case map[string]any:
		k, ok := keys[0].(string)
		if !ok {
			return nil, NewError(TagTypeError, "map key must be a string, got %s", TypeName(keys[0]))
		}
		child, exists := c[k]
		if !exists && len(keys) > 1 {
			child = map[string]any{}
		}
		nv, err := SetPath(child, keys[1:], v)
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(c)+1)
		for kk, vv := range c {
			out[kk] = vv
		}
		out[k] = nv
		return out, nil
	case []any:
		i, ok := keys[0].(int64)
		if !ok {
			return nil, NewError(TagTypeError, "list index must be an integer, got %s", TypeName(keys[0]))
		}
		if i < 0 || i >= int64(len(c)) {
			return nil, NewError(TagIndexError, "list index %d out of range (length %d)", i, len(c))
		}
		nv, err := SetPath(c[i], keys[1:], v)
		if err != nil {
			return nil, err
		}
		out := append([]any(nil), c...)
		out[i] = nv
		return out, nil
	}
	return nil, NewError(TagTypeError, "cannot assign into a %s", TypeName(root))
}
