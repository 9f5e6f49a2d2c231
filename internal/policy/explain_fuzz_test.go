package policy

import (
	"encoding/json"
	"testing"
)

// FuzzExplain feeds arbitrary conditions and claims (both outside input to `cspipe policy
// explain`) to Compile and Evaluate. Nothing may panic, and because the clauses are the
// operands of the top-level &&, the whole condition allows exactly when every clause passes.
func FuzzExplain(f *testing.F) {
	f.Add(`assertion.swname == 'CONFIDENTIAL_SPACE' && 'STABLE' in assertion.submods.confidential_space.support_attributes`,
		`{"swname":"CONFIDENTIAL_SPACE","submods":{"confidential_space":{"support_attributes":["STABLE"]}}}`)
	f.Add(`assertion.a == 1 && (assertion.b || assertion.c) && assertion.d.exists(x, x == 'y' && true)`, `{"a":1,"b":true,"d":["y"]}`)
	f.Add(`assertion.a && assertion.b`, `{"a":true}`)
	f.Add(`true && false`, `null`)
	f.Add(`assertion.x.startsWith('p@') && int(assertion.n) >= 3`, `{"x":"p@sha256:1","n":"3"}`)
	f.Fuzz(func(t *testing.T, cond, claimsJSON string) {
		c, err := Compile(cond)
		if err != nil {
			return
		}
		var claims map[string]any
		_ = json.Unmarshal([]byte(claimsJSON), &claims)
		v := c.Evaluate(claims)
		all := len(v.Clauses) > 0
		for _, cl := range v.Clauses {
			all = all && cl.Pass
		}
		if v.Allow != all {
			t.Fatalf("allow=%v but all clauses pass=%v\ncondition: %s\nclaims: %s\n%+v", v.Allow, all, cond, claimsJSON, v)
		}
	})
}
