package policy

import "testing"

// BenchmarkEvaluate measures one verdict (whole condition plus each clause) on the rendered
// production condition, as the local STS computes it per token exchange.
func BenchmarkEvaluate(b *testing.B) {
	cond, err := basePolicy().Render()
	if err != nil {
		b.Fatal(err)
	}
	c, err := Compile(cond)
	if err != nil {
		b.Fatal(err)
	}
	claims := claimsFor(basePolicy(), testDigest)
	b.ReportAllocs()
	for b.Loop() {
		if !c.Evaluate(claims).Allow {
			b.Fatal("denied")
		}
	}
}

// BenchmarkRender measures validation, rendering and the cel-go check of a condition.
func BenchmarkRender(b *testing.B) {
	p := basePolicy()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Render(); err != nil {
			b.Fatal(err)
		}
	}
}
