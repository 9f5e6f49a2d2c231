package iam

import (
	"fmt"
	"strings"

	"cel.dev/cel-go/cel"
)

// mapping is one compiled attribute-mapping expression.
type mapping struct{ prg cel.Program }

// maxSubjectLen is Google's limit on the mapped google.subject.
const maxSubjectLen = 127

func compileMappings(m map[string]string) (map[string]mapping, error) {
	if _, ok := m["google.subject"]; !ok {
		return nil, fmt.Errorf("attribute mapping: google.subject is required")
	}
	env, err := cel.NewEnv(cel.Variable("assertion", cel.MapType(cel.StringType, cel.DynType)))
	if err != nil {
		return nil, err
	}
	out := map[string]mapping{}
	for k, expr := range m {
		if k != "google.subject" && k != "google.groups" && !strings.HasPrefix(k, "attribute.") {
			return nil, fmt.Errorf("attribute mapping: unsupported key %q", k)
		}
		a, iss := env.Compile(expr)
		if iss.Err() != nil {
			return nil, fmt.Errorf("attribute mapping %s: %w", k, iss.Err())
		}
		prg, err := env.Program(a)
		if err != nil {
			return nil, fmt.Errorf("attribute mapping %s: %w", k, err)
		}
		out[k] = mapping{prg: prg}
	}
	return out, nil
}

// mapAttributes evaluates every mapping on claims; each must yield a string.
func mapAttributes(ms map[string]mapping, claims map[string]any) (map[string]string, error) {
	out := map[string]string{}
	for k, m := range ms {
		v, _, err := m.prg.Eval(map[string]any{"assertion": claims})
		if err != nil {
			return nil, fmt.Errorf("attribute mapping %s: %w", k, err)
		}
		str, ok := v.Value().(string)
		if !ok {
			return nil, fmt.Errorf("attribute mapping %s: yields %T, want string", k, v.Value())
		}
		out[k] = str
	}
	return out, nil
}
