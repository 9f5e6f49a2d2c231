package expr

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

type mapScope map[string]any

func (m mapScope) Lookup(name string) (any, bool) { v, ok := m[name]; return v, ok }

func testEnv() *Env {
	return &Env{
		Vars: mapScope{
			"n":    int64(7),
			"d":    2.5,
			"s":    "abc",
			"list": []any{int64(1), "two", 3.0},
			"m":    map[string]any{"a": int64(1), "nested": map[string]any{"b": "deep"}, "nul": nil},
		},
		Funcs: Builtins(),
		Names: map[string]any{"http.default_retry": map[string]any{"max_retries": int64(5)}},
	}
}

// Each row cites the Workflows documentation it follows ("datatypes" = syntax/datatypes,
// "expressions" = syntax/expressions, "stdlib/X" = the standard library page of X).
func TestEval(t *testing.T) {
	tests := []struct {
		src  string
		want any
	}{
		// datatypes: integers are 64-bit signed, doubles 64-bit floats.
		{"1 + 2", int64(3)},
		{"1 + 2.0", 3.0},       // expressions: mixing integer and double gives a double.
		{"7 / 2", 3.5},         // expressions: "/" is float division, even for integers.
		{"6 / 3", 2.0},         // expressions: float division of integers is still a double.
		{"7 // 2", int64(3)},   // expressions: "//" is floor division.
		{"-7 // 2", int64(-4)}, // floor, not truncation toward zero.
		{"7.5 // 2", 3.0},      // floor division of doubles stays a double.
		{"7 % 3", int64(1)},    // expressions: "%" is the remainder.
		{"-7 % 3", int64(2)},   // our choice: remainder follows floor division (a == (a//b)*b + a%b).
		// datatypes, order of operations: * / // % bind tighter than + -, comparisons tighter
		// than and, and tighter than or; parentheses first.
		{"2 + 3 * 4", int64(14)},
		{"(2 + 3) * 4", int64(20)},
		{"10 - 4 - 3", int64(3)}, // left associative
		{"1 < 2 and 3 > 4 or true", true},
		{"true or false and false", true},
		{"-2 * 3", int64(-6)},
		{"not false and false", false}, // not binds tighter than and
		// datatypes: logical operators in lower or upper case.
		{"TRUE AND NOT FALSE", true},
		// expressions: "+" also concatenates strings.
		{`"a" + "b" + s`, "ababc"},
		// expressions: comparison and equality; an integer equals the same double.
		{"1 == 1.0", true},
		{`"a" < "b"`, true},
		{"n >= 7", true},
		{`"1" == 1`, false},
		{"null == null", true},
		{`[1, "x"] == [1, "x"]`, true},
		// expressions: "in" tests list membership and map keys.
		{`"two" in list`, true},
		{"2 in list", false},
		{`"a" in m`, true},
		{`"zz" in m`, false},
		// expressions: object.field, object["field"], list[index].
		{"m.a", int64(1)},
		{`m["nested"]["b"]`, "deep"},
		{"m.nested.b", "deep"},
		{"list[1]", "two"},
		{"list[n - 5]", 3.0},
		{`{"k": [1, 2]}.k[1]`, int64(2)},
		// stdlib/expression helpers: default returns the fallback for null.
		{`default(m.nul, "fb")`, "fb"},
		{`default(map.get(m, "missing"), 5)`, int64(5)},
		{`default(0, 5)`, int64(0)},
		// stdlib/map.get: null for a missing key, a list of keys walks nested maps.
		{`map.get(m, "missing")`, nil},
		{`map.get(m, ["nested", "b"])`, "deep"},
		{`map.get(m, ["missing", "b"])`, nil},
		// stdlib/expression helpers: len of strings, lists, maps; keys of a map.
		{`len("héllo")`, int64(5)},
		{"len(list)", int64(3)},
		{"len(m)", int64(3)},
		{"keys(m.nested)", []any{"b"}},
		// stdlib/expression helpers: type conversion.
		{"string(42)", "42"},
		{"string(2.5)", "2.5"},
		{"string(true)", "true"},
		{`int("17")`, int64(17)},
		{"int(2.9)", int64(2)},
		{"int(-2.9)", int64(-2)},
		{`double("1.5")`, 1.5},
		{"double(3)", 3.0},
		{"get_type(d)", "double"},
		{"get_type(n)", "integer"},
		{"get_type(json.encode(1))", "bytes"},
		// stdlib/text.
		{`text.split("a,b", ",")`, []any{"a", "b"}},
		{`text.to_lower("AbC")`, "abc"},
		{`text.replace_all("a-b-c", "-", "+")`, "a+b+c"},
		{`text.replace_all_regex("Run_ID.1", "[^a-z0-9-]", "-")`, "-un----1"},
		{`text.match_regex("abc123", "^[a-z]+[0-9]+$")`, true},
		{`text.substring("abcdef", 1, 3)`, "bc"},
		{`text.substring("abc", 1, 3)`, "bc"},
		{`text.substring("abc", 3, 3)`, ""},
		{`text.url_encode("runs/a b/summary.json")`, "runs%2Fa%20b%2Fsummary.json"},
		{`text.decode(text.encode("hé"))`, "hé"},
		// stdlib/json: encode returns bytes; decode takes bytes or a string.
		{`text.decode(json.encode({"a": [1, 2.5, null]}))`, `{"a":[1,2.5,null]}`},
		{`json.encode_to_string("x")`, `"x"`},
		{`json.decode("{\"a\": 1, \"b\": 1.5}")`, map[string]any{"a": int64(1), "b": 1.5}},
		{`json.decode(json.encode([true]))`, []any{true}},
		// stdlib/list.concat and map.merge return new values.
		{"list.concat([1], 2)", []any{int64(1), int64(2)}},
		{`map.merge({"a": 1}, {"b": 2})`, map[string]any{"a": int64(1), "b": int64(2)}},
		// stdlib/math.
		{"math.min(3, 5)", int64(3)},
		{"math.max(3, 5.5)", 5.5},
		{"math.floor(2.7)", int64(2)},
		{"math.abs(-4)", int64(4)},
		// stdlib/time.format of unix seconds.
		{"time.format(0)", "1970-01-01T00:00:00Z"},
		// stdlib/base64.
		{`base64.encode(text.encode("hi"))`, "aGk="},
		// Dotted library names resolve when no variable shadows them.
		{"http.default_retry.max_retries", int64(5)},
		{"text.match_regex", FuncRef{Name: "text.match_regex"}},
		// Escapes in string literals.
		{`"a\"b\n"`, "a\"b\n"},
		{`'single'`, "single"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e, err := Parse(tt.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := e.Eval(t.Context(), testEnv())
			if err != nil {
				t.Fatalf("Eval: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestEvalErrors(t *testing.T) {
	tests := []struct {
		src string
		tag string
	}{
		{`m.missing`, TagKeyError},                      // expressions: a missing map key raises KeyError.
		{`m["missing"]`, TagKeyError},                   // same with brackets.
		{`list[3]`, TagIndexError},                      // a list index out of range raises IndexError.
		{`list[-1]`, TagIndexError},                     // negative indices are out of range.
		{`list["a"]`, TagTypeError},                     // a list index must be an integer.
		{`1 + "a"`, TagTypeError},                       // + on a number and a string is a TypeError.
		{`"a" + 1`, TagTypeError},                       // no implicit string conversion.
		{`not 1 == 2`, TagTypeError},                    // not binds tighter than ==, so it sees the integer 1.
		{`1 and true`, TagTypeError},                    // datatypes: logical operators only on booleans.
		{`1 / 0`, TagZeroDivisionError},                 // division by zero.
		{`1 // 0`, TagZeroDivisionError},                // floor division by zero.
		{`int("x")`, TagValueError},                     // conversion of a bad string.
		{`text.substring("abc", 1, 99)`, TagValueError}, // no clipping: Google does not document it.
		{`text.substring("abc", -1, 2)`, TagValueError},
		{`text.substring("abc", 2, 1)`, TagValueError},
		{`undefined_var`, TagKeyError},             // an undefined variable.
		{`s.field`, TagTypeError},                  // field access on a string.
		{`1 < "a"`, TagTypeError},                  // mixed-type ordering.
		{`9223372036854775807 + 1`, TagValueError}, // 64-bit integer overflow is an error, not a wrap.
		{`json.decode("{")`, TagValueError},
		{`len(1)`, TagTypeError},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e, err := Parse(tt.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			_, err = e.Eval(t.Context(), testEnv())
			werr, ok := err.(*Error)
			if !ok || !werr.HasTag(tt.tag) {
				t.Fatalf("got error %v, want tag %s", err, tt.tag)
			}
		})
	}
}

func TestEvalShortCircuit(t *testing.T) {
	// and/or evaluate the right operand only when needed, so a guard protects an access.
	for _, src := range []string{`"zz" in m and m.zz == 1`, `not ("zz" in m) or m.zz == 1`} {
		e, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Eval(t.Context(), testEnv()); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, src := range []string{"1 +", "(1", "a.", "[1, 2", `"open`, "1 ? 2", "{1: 2}", "and"} {
		if _, err := Parse(src); err == nil {
			t.Errorf("Parse(%q) succeeded, want error", src)
		}
	}
}

func TestFunctions(t *testing.T) {
	e, err := Parse(`default(map.get(a, "b"), text.to_lower(string(len(c))))`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"default", "map.get", "text.to_lower", "string", "len"}
	if diff := cmp.Diff(want, e.Functions()); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1 + 2 * 3", `m["a"].b[0]`, `text.split("a,b", ",")`, `{"a": [1, 2.5]}`, "not a or b", `"\u00e9"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			return
		}
		_, _ = e.Eval(t.Context(), testEnv()) // must not panic
	})
}

func TestSetPath(t *testing.T) {
	env := testEnv()
	orig := env.Vars.(mapScope)["m"]
	tests := []struct {
		target string
		root   any
		want   any
	}{
		{"m.a", orig, map[string]any{"a": int64(9), "nested": map[string]any{"b": "deep"}, "nul": nil}},
		{`m["new"]["x"]`, orig, map[string]any{"a": int64(1), "nested": map[string]any{"b": "deep"}, "nul": nil, "new": map[string]any{"x": int64(9)}}},
		{"l[s == \"abc\" and 1 or 0]", []any{int64(0), int64(1)}, nil}, // TypeError: and needs booleans
		{"l[n - 6]", []any{int64(0), int64(1)}, []any{int64(0), int64(9)}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			tg, err := ParseTarget(tt.target)
			if err != nil {
				t.Fatal(err)
			}
			keys, err := tg.Keys(t.Context(), env)
			if tt.want == nil {
				if err == nil {
					t.Fatal("want error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := SetPath(tt.root, keys, int64(9))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
	// The original value is untouched (copy on write).
	if diff := cmp.Diff(map[string]any{"a": int64(1), "nested": map[string]any{"b": "deep"}, "nul": nil}, orig); diff != "" {
		t.Errorf("original mutated (-want +got)\n%s", diff)
	}
	if _, err := ParseTarget("f(x)"); err == nil {
		t.Error("ParseTarget(f(x)) succeeded")
	}
}
