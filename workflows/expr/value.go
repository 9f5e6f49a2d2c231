// Package expr implements the Cloud Workflows expression language (the text inside `${…}`):
// literals, variables, member and index access, the operators with their documented precedence,
// and the standard-library functions the cspipe workflows use.
//
// Values are plain Go values: nil (null), bool, int64 (integer), float64 (double), string,
// []byte (bytes, which json.encode and text.encode return and http bodies may be), []any (list),
// map[string]any (map) and FuncRef (a reference to a subworkflow or a library function, as in
// `predicate: ${http.default_retry_predicate}`). Runtime errors are *Error values carrying the
// raised Workflows value, usually a map with "tags" and "message".
package expr

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
)

// FuncRef names a function or subworkflow used as a value.
type FuncRef struct{ Name string }

// TypeName is the Workflows name of v's type, as get_type reports it.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case int64:
		return "integer"
	case float64:
		return "double"
	case string:
		return "string"
	case []byte:
		return "bytes"
	case []any:
		return "list"
	case map[string]any:
		return "map"
	case FuncRef:
		return "function"
	}
	return fmt.Sprintf("unknown(%T)", v)
}

// Normalize converts Go values decoded from JSON or YAML (int, float32, []string, …) into the
// value model above. It returns an error for types with no Workflows equivalent.
func Normalize(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, int64, float64, string, []byte, FuncRef:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return float64(x), nil
		}
		return int64(x), nil
	case float32:
		return float64(x), nil
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := Normalize(e)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			n, err := Normalize(e)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
		}
		return out, nil
	}
	return nil, fmt.Errorf("value of Go type %T has no workflow equivalent", v)
}

// Copy returns a deep copy of v, so that assigning a list or map never aliases another variable
// (Workflows values behave as values, not references).
func Copy(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Copy(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Copy(e)
		}
		return out
	case []byte:
		return slices.Clone(x)
	}
	return v
}

// Equal is the == operator: deep equality where an integer equals the double of the same value.
func Equal(a, b any) bool {
	if fa, ok := asFloat(a); ok {
		if fb, ok := asFloat(b); ok {
			return fa == fb
		}
		return false
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool, string, FuncRef:
		return a == b
	case []byte:
		y, ok := b.([]byte)
		return ok && string(x) == string(y)
	case []any:
		y, ok := b.([]any)
		return ok && slices.EqualFunc(x, y, Equal)
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && maps.EqualFunc(x, y, Equal)
	}
	return false
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// FormatDouble renders a double the way string() does: shortest round-trip form.
func FormatDouble(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// SortedKeys returns a map's keys in lexical order (keys() and iteration use this order, which
// makes runs reproducible; Workflows documents no order).
func SortedKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}
