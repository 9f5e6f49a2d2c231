package expr

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Builtins returns the pure library functions (no clock, environment or network): the engine
// adds sys.*, http.* predicates and subworkflow references on top.
func Builtins() map[string]Func {
	return map[string]Func{
		"len":                    fnLen,
		"keys":                   fnKeys,
		"default":                fnDefault,
		"string":                 fnString,
		"int":                    fnInt,
		"double":                 fnDouble,
		"get_type":               arity(1, func(a []any) (any, error) { return TypeName(a[0]), nil }),
		"map.get":                fnMapGet,
		"map.merge":              fnMapMerge,
		"list.concat":            fnListConcat,
		"text.split":             strFn2(func(s, sep string) any { return toList(strings.Split(s, sep)) }),
		"text.to_lower":          strFn1(func(s string) any { return strings.ToLower(s) }),
		"text.to_upper":          strFn1(func(s string) any { return strings.ToUpper(s) }),
		"text.url_encode":        strFn1(func(s string) any { return urlEncode(s) }),
		"text.replace_all":       fnReplaceAll,
		"text.replace_all_regex": fnReplaceAllRegex,
		"text.match_regex":       fnMatchRegex,
		"text.substring":         fnSubstring,
		"text.encode":            strFn1(func(s string) any { return []byte(s) }),
		"text.decode":            fnTextDecode,
		"json.encode":            fnJSONEncode,
		"json.encode_to_string":  fnJSONEncodeToString,
		"json.decode":            fnJSONDecode,
		"base64.encode":          fnBase64Encode,
		"base64.decode":          strFn1err(func(s string) (any, error) { return base64Decode(s) }),
		"math.min":               numFn2(math.Min, func(a, b int64) int64 { return min(a, b) }),
		"math.max":               numFn2(math.Max, func(a, b int64) int64 { return max(a, b) }),
		"math.abs":               fnAbs,
		"math.floor":             fnFloor,
		"time.format":            fnTimeFormat,
	}
}

func arity(n int, f func([]any) (any, error)) Func {
	return func(_ context.Context, a []any) (any, error) {
		if len(a) != n {
			return nil, NewError(TagTypeError, "expected %d argument(s), got %d", n, len(a))
		}
		return f(a)
	}
}

func wantString(v any, what string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", NewError(TagTypeError, "%s must be a string, got %s", what, TypeName(v))
	}
	return s, nil
}

func strFn1(f func(string) any) Func {
	return strFn1err(func(s string) (any, error) { return f(s), nil })
}

func strFn1err(f func(string) (any, error)) Func {
	return arity(1, func(a []any) (any, error) {
		s, err := wantString(a[0], "argument")
		if err != nil {
			return nil, err
		}
		return f(s)
	})
}

func strFn2(f func(a, b string) any) Func {
	return arity(2, func(a []any) (any, error) {
		s, err := wantString(a[0], "first argument")
		if err != nil {
			return nil, err
		}
		t, err := wantString(a[1], "second argument")
		if err != nil {
			return nil, err
		}
		return f(s, t), nil
	})
}

func toList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

var fnLen = arity(1, func(a []any) (any, error) {
	switch x := a[0].(type) {
	case string:
		return int64(utf8.RuneCountInString(x)), nil
	case []byte:
		return int64(len(x)), nil
	case []any:
		return int64(len(x)), nil
	case map[string]any:
		return int64(len(x)), nil
	}
	return nil, NewError(TagTypeError, "len: unsupported type %s", TypeName(a[0]))
})

var fnKeys = arity(1, func(a []any) (any, error) {
	m, ok := a[0].(map[string]any)
	if !ok {
		return nil, NewError(TagTypeError, "keys: argument must be a map, got %s", TypeName(a[0]))
	}
	return toList(SortedKeys(m)), nil
})

var fnDefault = arity(2, func(a []any) (any, error) {
	if a[0] == nil {
		return a[1], nil
	}
	return a[0], nil
})

var fnString = arity(1, func(a []any) (any, error) {
	switch x := a[0].(type) {
	case string:
		return x, nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return FormatDouble(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return nil, NewError(TagTypeError, "string: cannot convert %s", TypeName(a[0]))
})

var fnInt = arity(1, func(a []any) (any, error) {
	switch x := a[0].(type) {
	case int64:
		return x, nil
	case float64:
		if math.IsNaN(x) || x > math.MaxInt64 || x < math.MinInt64 {
			return nil, NewError(TagValueError, "int: %v out of range", x)
		}
		return int64(x), nil // truncates toward zero
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return nil, NewError(TagValueError, "int: cannot parse %q", x)
		}
		return n, nil
	}
	return nil, NewError(TagTypeError, "int: cannot convert %s", TypeName(a[0]))
})

var fnDouble = arity(1, func(a []any) (any, error) {
	switch x := a[0].(type) {
	case int64:
		return float64(x), nil
	case float64:
		return x, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return nil, NewError(TagValueError, "double: cannot parse %q", x)
		}
		return f, nil
	}
	return nil, NewError(TagTypeError, "double: cannot convert %s", TypeName(a[0]))
})

// map.get(map, key) returns null when the key (or, for a list of keys, any step of the path) is
// missing; it never raises KeyError.
var fnMapGet = arity(2, func(a []any) (any, error) {
	path, ok := a[1].([]any)
	if !ok {
		path = []any{a[1]}
	}
	v := a[0]
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			if v == nil {
				return nil, nil
			}
			return nil, NewError(TagTypeError, "map.get: not a map: %s", TypeName(v))
		}
		ks, err := wantString(k, "map.get key")
		if err != nil {
			return nil, err
		}
		v = m[ks]
	}
	return v, nil
})

var fnMapMerge = arity(2, func(a []any) (any, error) {
	m1, ok1 := a[0].(map[string]any)
	m2, ok2 := a[1].(map[string]any)
	if !ok1 || !ok2 {
		return nil, NewError(TagTypeError, "map.merge: arguments must be maps")
	}
	out := Copy(m1).(map[string]any)
	for k, v := range m2 {
		out[k] = Copy(v)
	}
	return out, nil
})

var fnListConcat = arity(2, func(a []any) (any, error) {
	l, ok := a[0].([]any)
	if !ok {
		return nil, NewError(TagTypeError, "list.concat: first argument must be a list, got %s", TypeName(a[0]))
	}
	out := Copy(l).([]any)
	return append(out, Copy(a[1])), nil
})

var fnReplaceAll = arity(3, func(a []any) (any, error) {
	s, err1 := wantString(a[0], "source")
	o, err2 := wantString(a[1], "substring")
	n, err3 := wantString(a[2], "replacement")
	if err := firstErr(err1, err2, err3); err != nil {
		return nil, err
	}
	return strings.ReplaceAll(s, o, n), nil
})

func compileRegex(p string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, NewError(TagValueError, "invalid regular expression %q: %v", p, err)
	}
	return re, nil
}

var fnReplaceAllRegex = arity(3, func(a []any) (any, error) {
	s, err1 := wantString(a[0], "source")
	p, err2 := wantString(a[1], "pattern")
	n, err3 := wantString(a[2], "replacement")
	if err := firstErr(err1, err2, err3); err != nil {
		return nil, err
	}
	re, err := compileRegex(p)
	if err != nil {
		return nil, err
	}
	return re.ReplaceAllString(s, n), nil
})

var fnMatchRegex = arity(2, func(a []any) (any, error) {
	s, err1 := wantString(a[0], "source")
	p, err2 := wantString(a[1], "pattern")
	if err := firstErr(err1, err2); err != nil {
		return nil, err
	}
	re, err := compileRegex(p)
	if err != nil {
		return nil, err
	}
	return re.MatchString(s), nil
})

// text.substring(s, start, end): characters [start, end). Google's reference does not say what
// an index outside the string does, so the engine refuses one (ValueError) rather than clip it:
// a workflow that passes here cannot depend on either behaviour.
var fnSubstring = arity(3, func(a []any) (any, error) {
	s, err := wantString(a[0], "source")
	if err != nil {
		return nil, err
	}
	i, ok1 := a[1].(int64)
	j, ok2 := a[2].(int64)
	if !ok1 || !ok2 {
		return nil, NewError(TagTypeError, "text.substring: indices must be integers")
	}
	r := []rune(s)
	if i < 0 || j < i || j > int64(len(r)) {
		return nil, NewError(TagValueError, "text.substring: indices [%d, %d) are outside the string's %d characters (clip them first)", i, j, len(r))
	}
	return string(r[i:j]), nil
})

var fnTextDecode = arity(1, func(a []any) (any, error) {
	b, ok := a[0].([]byte)
	if !ok {
		return nil, NewError(TagTypeError, "text.decode: argument must be bytes, got %s", TypeName(a[0]))
	}
	if !utf8.Valid(b) {
		return nil, NewError(TagValueError, "text.decode: bytes are not valid UTF-8")
	}
	return string(b), nil
})

// EncodeJSON renders v as JSON. Bytes are base64 text (they cannot be JSON otherwise).
func EncodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ToJSONable(v)); err != nil {
		return nil, NewError(TagValueError, "json.encode: %v", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

var fnJSONEncode = arity(1, func(a []any) (any, error) { return EncodeJSON(a[0]) })

var fnJSONEncodeToString = arity(1, func(a []any) (any, error) {
	b, err := EncodeJSON(a[0])
	return string(b), err
})

// DecodeJSON parses JSON into the value model: a number without fraction or exponent that fits
// is an integer, any other number a double.
func DecodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, NewError(TagValueError, "json.decode: %v", err)
	}
	if dec.More() {
		return nil, NewError(TagValueError, "json.decode: trailing data")
	}
	return fromJSON(v), nil
}

func fromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return n
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case []any:
		for i, e := range x {
			x[i] = fromJSON(e)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = fromJSON(e)
		}
	}
	return v
}

var fnJSONDecode = arity(1, func(a []any) (any, error) {
	switch x := a[0].(type) {
	case []byte:
		return DecodeJSON(x)
	case string:
		return DecodeJSON([]byte(x))
	}
	return nil, NewError(TagTypeError, "json.decode: argument must be bytes or string, got %s", TypeName(a[0]))
})

var fnBase64Encode = arity(1, func(a []any) (any, error) {
	b, ok := a[0].([]byte)
	if !ok {
		return nil, NewError(TagTypeError, "base64.encode: argument must be bytes, got %s", TypeName(a[0]))
	}
	return base64.StdEncoding.EncodeToString(b), nil
})

func base64Decode(s string) (any, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, NewError(TagValueError, "base64.decode: %v", err)
	}
	return b, nil
}

func numFn2(ff func(a, b float64) float64, fi func(a, b int64) int64) Func {
	return arity(2, func(a []any) (any, error) {
		li, lint := a[0].(int64)
		ri, rint := a[1].(int64)
		if lint && rint {
			return fi(li, ri), nil
		}
		lf, ok1 := asFloat(a[0])
		rf, ok2 := asFloat(a[1])
		if !ok1 || !ok2 {
			return nil, NewError(TagTypeError, "arguments must be numbers, got %s and %s", TypeName(a[0]), TypeName(a[1]))
		}
		return ff(lf, rf), nil
	})
}

var fnAbs = arity(1, func(a []any) (any, error) {
	switch x := a[0].(type) {
	case int64:
		if x < 0 {
			return -x, nil
		}
		return x, nil
	case float64:
		return math.Abs(x), nil
	}
	return nil, NewError(TagTypeError, "math.abs: argument must be a number, got %s", TypeName(a[0]))
})

var fnFloor = arity(1, func(a []any) (any, error) {
	switch x := a[0].(type) {
	case int64:
		return x, nil
	case float64:
		return int64(math.Floor(x)), nil
	}
	return nil, NewError(TagTypeError, "math.floor: argument must be a number, got %s", TypeName(a[0]))
})

// time.format(seconds) renders unix seconds as an RFC 3339 UTC timestamp.
var fnTimeFormat = arity(1, func(a []any) (any, error) {
	f, ok := asFloat(a[0])
	if !ok {
		return nil, NewError(TagTypeError, "time.format: argument must be a number, got %s", TypeName(a[0]))
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC().Format(time.RFC3339Nano), nil
})

// urlEncode percent-encodes every byte outside the unreserved set (A-Z a-z 0-9 - _ . ~), so the
// result is safe as a path segment or a query value.
func urlEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
