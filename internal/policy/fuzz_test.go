package policy

import (
	"strings"
	"testing"
)

// FuzzRender checks the property the gate rests on: whatever the inputs, either Render refuses
// them, or the rendered condition admits claims that run the given digest and denies claims that
// run any other digest, even when the attacker adds claims of their own.
func FuzzRender(f *testing.F) {
	f.Add(testRepo, testDigest, testSA, "", "", "", "", false)
	f.Add(testRepo, testDigest, testSA, "CSPIPE_TOP_K", "5", "Never", "STABLE", false)
	f.Add(testRepo, testDigest, testSA, "", "", "", "", true)
	f.Add(testRepo+":x' || true || '", testDigest, testSA, "", "", "", "", false)
	f.Add(testRepo, testDigest+"' || true || '", testSA, "", "", "", "", false)
	f.Add(testRepo, "x' || true || '", testSA, "", "", "", "", false)
	f.Add(testRepo, testDigest, "a@b.co' in assertion.x || true || '", "", "", "", "", false)
	f.Add(testRepo, testDigest, testSA, "A", "x' || true || '", "", "", false)
	f.Add(testRepo, testDigest, testSA, "A == 'x' || true || A", "x", "", "", false)
	f.Add(testRepo, testDigest, testSA, "A", "x", "Never' || true || '", "", false)
	f.Add(testRepo, testDigest, testSA, "", "", "", "STABLE' in [] || true || '", false)
	f.Add(testRepo+"@' || true || '", testDigest, testSA, "", "", "", "", false)
	f.Fuzz(func(t *testing.T, repo, digest, sa, envName, envVal, restart, support string, debug bool) {
		p := Policy{ImageRepository: repo, ImageDigest: digest, ServiceAccounts: []string{sa},
			SupportAttribute: support, RestartPolicy: restart, AllowDebugImageUnsafe: debug}
		if envName != "" || envVal != "" {
			p.EnvOverrides = map[string]string{envName: envVal}
		}
		cond, err := p.Render()
		if err != nil {
			return
		}
		c, err := Compile(cond)
		if err != nil {
			t.Fatalf("rendered condition does not compile: %v\n%s", err, cond)
		}
		if v := c.Evaluate(claimsFor(p, digest)); !v.Allow {
			t.Fatalf("matching claims denied: %+v\n%s", v, cond)
		}
		other := otherDig
		if digest == otherDig {
			other = testDigest
		}
		for name, claims := range map[string]map[string]any{
			"plain":    claimsFor(p, other),
			"injected": inject(claimsFor(p, other), digest),
		} {
			if v := c.Evaluate(claims); v.Allow {
				t.Fatalf("%s claims with digest %s admitted by:\n%s", name, other, cond)
			}
		}
		if strings.Count(cond, digest) != 1 {
			t.Fatalf("digest appears %d times in %s", strings.Count(cond, digest), cond)
		}
	})
}

// inject adds claims an attacker might hope the condition reads instead of the real ones.
func inject(c map[string]any, want string) map[string]any {
	c["image_digest"] = want
	c["true"] = true
	c["x"] = true
	c["A"] = want
	ctr := c["submods"].(map[string]any)["container"].(map[string]any)
	ctr["image_digests"] = []any{want}
	ctr["image_reference"] = "x@" + want
	ctr["args"] = []any{want}
	ctr["env"] = map[string]any{"DIGEST": want}
	return c
}

// FuzzPinnedEndpoint: whatever the pinned value and whatever override a token carries, the
// condition admits the token exactly when the override is absent or equal to a non-empty pin.
func FuzzPinnedEndpoint(f *testing.F) {
	f.Add("CSPIPE_STS_ENDPOINT", "http://127.0.0.1:4000", "http://127.0.0.1:4001", true)
	f.Add("CSPIPE_STS_ENDPOINT", "", "https://sts.googleapis.com", true)
	f.Add("CSPIPE_STS_ENDPOINT", "http://127.0.0.1:4000", "http://127.0.0.1:4000", true)
	f.Add("CSPIPE_STORAGE_ENDPOINT", "http://a' || true || '", "x", true)
	f.Add("A' in x || true || 'B", "", "x", false)
	f.Fuzz(func(t *testing.T, name, pinned, override string, present bool) {
		p := Policy{ImageRepository: testRepo, ImageDigest: testDigest, ServiceAccounts: []string{testSA},
			PinnedEndpoints: map[string]string{name: pinned}}
		cond, err := p.Render()
		if err != nil {
			return
		}
		c := claimsFor(Policy{ImageRepository: testRepo, ServiceAccounts: []string{testSA}}, testDigest)
		env := map[string]any{"OTHER": override}
		if present {
			env[name] = override
		}
		c["submods"].(map[string]any)["container"].(map[string]any)["env_override"] = env
		v, err := Explain(cond, c)
		if err != nil {
			t.Fatalf("rendered condition does not compile: %v\n%s", err, cond)
		}
		want := !present || (pinned != "" && override == pinned)
		if v.Allow != want {
			t.Fatalf("pin %s=%q, override present=%v %q: allow %v, want %v\n%s", name, pinned, present, override, v.Allow, want, cond)
		}
	})
}
