package policy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEvaluateClauses(t *testing.T) {
	p := basePolicy()
	p.RestartPolicy = "Never"
	cond, err := p.Render()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compile(cond)
	if err != nil {
		t.Fatal(err)
	}
	debugClaims := claimsFor(p, testDigest)
	debugClaims["dbgstat"] = "enabled"
	delete(debugClaims["submods"].(map[string]any), "confidential_space")
	otherSA := claimsFor(p, testDigest)
	otherSA["google_service_accounts"] = []any{"evil@x.iam.gserviceaccount.com"}
	tagRef := claimsFor(p, testDigest)
	tagRef["submods"].(map[string]any)["container"].(map[string]any)["image_reference"] = testRepo + ":latest"
	evilRepo := claimsFor(p, testDigest)
	evilRepo["submods"].(map[string]any)["container"].(map[string]any)["image_reference"] = testRepo + "-evil@" + testDigest

	tests := []struct {
		name       string
		claims     map[string]any
		wantAllow  bool
		wantFailed string // substring of the first failed clause
		wantErr    string // substring of that clause's error
	}{
		{"allow", claimsFor(p, testDigest), true, "", ""},
		{"other digest", claimsFor(p, otherDig), false, "image_digest", ""},
		{"debug image", debugClaims, false, "dbgstat", ""},
		{"other service account", otherSA, false, "google_service_accounts", ""},
		{"tag reference", tagRef, false, "image_reference", ""},
		{"lookalike repository", evilRepo, false, "image_reference", ""},
		{"no submods", map[string]any{"swname": "CONFIDENTIAL_SPACE", "dbgstat": "disabled-since-boot"}, false, "support_attributes", "no such key: submods"},
		{"nil claims", nil, false, "swname", "no such key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := c.Evaluate(tt.claims)
			if v.Allow != tt.wantAllow {
				t.Fatalf("Allow = %v, want %v (%+v)", v.Allow, tt.wantAllow, v)
			}
			if len(v.Clauses) != 7 {
				t.Fatalf("got %d clauses, want 7: %+v", len(v.Clauses), v.Clauses)
			}
			f, failed := v.FailedClause()
			if failed != !tt.wantAllow {
				t.Fatalf("FailedClause present = %v, want %v", failed, !tt.wantAllow)
			}
			if !failed {
				return
			}
			if !strings.Contains(f.Expr, tt.wantFailed) {
				t.Errorf("first failed clause %q, want one about %q", f.Expr, tt.wantFailed)
			}
			if !strings.Contains(f.Err, tt.wantErr) {
				t.Errorf("clause error %q, want it to contain %q", f.Err, tt.wantErr)
			}
		})
	}
}

func TestSplitUsesSyntaxTree(t *testing.T) {
	// && inside a string literal, inside parentheses and inside a macro must not split.
	cond := `assertion.a == 'x && y' && (assertion.b == 1 || assertion.c && assertion.d) && ` +
		`assertion.e.exists(s, s == 'p' && s != 'q') && assertion.f == true`
	c, err := Compile(cond)
	if err != nil {
		t.Fatal(err)
	}
	v := c.Evaluate(map[string]any{"a": "x && y", "b": 1, "e": []any{"p"}, "f": true})
	var got []string
	for _, cl := range v.Clauses {
		got = append(got, cl.Expr)
	}
	want := []string{
		`assertion.a == 'x && y'`,
		`(assertion.b == 1 || assertion.c && assertion.d)`,
		`assertion.e.exists(s, s == 'p' && s != 'q')`,
		`assertion.f == true`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("clauses (-want +got):\n%s", diff)
	}
	if !v.Allow {
		t.Errorf("want allow: %+v", v)
	}
	// Parentheses around the whole conjunction cannot be cut; the clauses are then printed
	// from the syntax tree.
	c, err = Compile(`(assertion.a == 'x' && assertion.f)`)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, cl := range c.Evaluate(nil).Clauses {
		got = append(got, cl.Expr)
	}
	if diff := cmp.Diff([]string{`assertion.a == "x"`, `assertion.f`}, got); diff != "" {
		t.Errorf("parenthesized conjunction (-want +got):\n%s", diff)
	}
}

func TestCompileRefuses(t *testing.T) {
	for _, cond := range []string{"", "assertion.swname", "assertion.swname ==", "unknown.x == 1", strings.Repeat("x", MaxConditionLen+1)} {
		if _, err := Compile(cond); err == nil {
			t.Errorf("Compile(%.40q) accepted", cond)
		}
	}
}

func TestEvaluateMapped(t *testing.T) {
	c, err := Compile(`google.subject.startsWith('gcpcs::') && attribute.team == 'ml' && assertion.swname == 'CONFIDENTIAL_SPACE'`)
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"swname": "CONFIDENTIAL_SPACE"}
	if v := c.EvaluateMapped(claims, map[string]string{"google.subject": "gcpcs::x", "attribute.team": "ml"}); !v.Allow {
		t.Errorf("mapped attributes: %+v", v)
	}
	v := c.EvaluateMapped(claims, map[string]string{"google.subject": "gcpcs::x", "attribute.team": "ops"})
	if f, _ := v.FailedClause(); v.Allow || f.Expr != "attribute.team == 'ml'" {
		t.Errorf("wrong attribute: %+v", v)
	}
	if v := c.Evaluate(claims); v.Allow {
		t.Errorf("no mapped attributes: %+v", v)
	}
}

// TestMalformedClaimsDeny: every claim the production condition tests, when missing, null, of
// another type or a list where a string is expected (and a string where a list is), makes the
// condition deny: an evaluation error is a deny, and CEL's == across types is false. The
// pinned-endpoint clause admits a null env_override (no tee-env-* at all) by design, and only
// that.
func TestMalformedClaimsDeny(t *testing.T) {
	p := basePolicy()
	p.PinnedEndpoints = map[string]string{"CSPIPE_STS_ENDPOINT": ""}
	cond, err := p.Render()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compile(cond)
	if err != nil {
		t.Fatal(err)
	}
	if v := c.Evaluate(claimsFor(p, testDigest)); !v.Allow {
		t.Fatalf("well-formed claims denied: %+v", v)
	}
	type path []string
	paths := []path{
		{"swname"}, {"dbgstat"}, {"google_service_accounts"},
		{"submods", "confidential_space", "support_attributes"},
		{"submods", "container", "image_digest"},
		{"submods", "container", "image_reference"},
		{"submods", "container", "env_override"},
	}
	set := func(claims map[string]any, at path, v any, del bool) {
		m := claims
		for _, k := range at[:len(at)-1] {
			m = m[k].(map[string]any)
		}
		if del {
			delete(m, at[len(at)-1])
		} else {
			m[at[len(at)-1]] = v
		}
	}
	get := func(claims map[string]any, at path) any {
		var v any = claims
		for _, k := range at {
			v = v.(map[string]any)[k]
		}
		return v
	}
	for _, at := range paths {
		name := strings.Join(at, ".")
		good := get(claimsFor(p, testDigest), at)
		variants := map[string]any{"null": nil, "a number": 1, "a bool": true, "a map": map[string]any{}}
		if s, ok := good.(string); ok {
			variants["a list holding the value"] = []any{s}
		} else {
			variants["a string"] = "STABLE " + testSA + " CSPIPE_STS_ENDPOINT"
		}
		variants["missing"] = nil
		for vname, v := range variants {
			if name == "submods.container.env_override" && (vname == "null" || vname == "a map") {
				continue // no overrides: admitted by design
			}
			claims := claimsFor(p, testDigest)
			set(claims, at, v, vname == "missing")
			if verdict := c.Evaluate(claims); verdict.Allow {
				t.Errorf("%s %s: allowed", name, vname)
			}
		}
	}
	// The one override the endpoint clause exists for is refused whatever its value's type.
	for _, v := range []any{"https://evil.example", 1, nil, []any{"x"}} {
		claims := claimsFor(p, testDigest)
		set(claims, path{"submods", "container", "env_override"}, map[string]any{"CSPIPE_STS_ENDPOINT": v}, false)
		if verdict := c.Evaluate(claims); verdict.Allow {
			t.Errorf("env_override.CSPIPE_STS_ENDPOINT = %#v: allowed", v)
		}
	}
}
