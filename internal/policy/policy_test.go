package policy

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	testRepo   = "us-docker.pkg.dev/primus-proj/repo/workload"
	testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	otherDig   = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	testSA     = "workload-sa@secundus-proj.iam.gserviceaccount.com"
)

func basePolicy() Policy {
	return Policy{ImageRepository: testRepo, ImageDigest: testDigest, ServiceAccounts: []string{testSA}}
}

// claimsFor returns production-image claims that satisfy p except that the container runs
// digest (and the reference names it).
func claimsFor(p Policy, digest string) map[string]any {
	env := map[string]any{}
	for k, v := range p.EnvOverrides {
		env[k] = v
	}
	for k, v := range p.PinnedEndpoints {
		if v != "" {
			env[k] = v
		}
	}
	sas := []any{}
	for _, sa := range p.ServiceAccounts {
		sas = append(sas, sa)
	}
	restart := p.RestartPolicy
	if restart == "" {
		restart = "Never"
	}
	support := p.SupportAttribute
	if support == "" {
		support = "STABLE"
	}
	return map[string]any{
		"swname":                  "CONFIDENTIAL_SPACE",
		"dbgstat":                 "disabled-since-boot",
		"google_service_accounts": sas,
		"submods": map[string]any{
			"confidential_space": map[string]any{"support_attributes": []any{"LATEST", "USABLE", support}},
			"container": map[string]any{
				"image_digest":    digest,
				"image_reference": p.ImageRepository + "@" + digest,
				"env_override":    env,
				"restart_policy":  restart,
			},
		},
	}
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
	}{
		{"minimal", basePolicy()},
		{"full", Policy{
			ImageRepository:  "127.0.0.1:5000/primus/workload",
			ImageDigest:      testDigest,
			ServiceAccounts:  []string{"b-sa@p.iam.gserviceaccount.com", "a-sa@p.iam.gserviceaccount.com"},
			SupportAttribute: "LATEST",
			EnvOverrides:     map[string]string{"CSPIPE_TOP_K": "5", "CSPIPE_MODEL": "gs://primus-models/model.tar.gz"},
			RestartPolicy:    "Never",
		}},
		{"debug_unsafe", func() Policy { p := basePolicy(); p.AllowDebugImageUnsafe = true; return p }()},
		{"endpoints", func() Policy {
			p := basePolicy()
			p.PinnedEndpoints = map[string]string{"CSPIPE_STS_ENDPOINT": "http://127.0.0.1:4000",
				"CSPIPE_IAMCREDENTIALS_ENDPOINT": "http://127.0.0.1:4000", "CSPIPE_STORAGE_ENDPOINT": ""}
			return p
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Render()
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file (run with -update): %v", err)
			}
			if diff := cmp.Diff(strings.TrimSuffix(string(want), "\n"), got); diff != "" {
				t.Errorf("rendered condition differs from %s (-want +got):\n%s", path, diff)
			}
			if v, err := Explain(got, claimsFor(tt.p, tt.p.ImageDigest)); err != nil || !v.Allow {
				t.Errorf("matching claims: verdict %+v, err %v; want allow", v, err)
			}
			if v, _ := Explain(got, claimsFor(tt.p, otherDig)); v.Allow {
				t.Errorf("other digest admitted: %+v", v)
			}
		})
	}
}

func TestRenderRefuses(t *testing.T) {
	tests := []struct {
		name      string
		mutate    func(*Policy)
		wantField string
	}{
		{"empty repo", func(p *Policy) { p.ImageRepository = "" }, fieldRepo},
		{"repo with tag", func(p *Policy) { p.ImageRepository = testRepo + ":latest" }, fieldRepo},
		{"repo with digest", func(p *Policy) { p.ImageRepository = testRepo + "@" + testDigest }, fieldRepo},
		{"repo with quote", func(p *Policy) { p.ImageRepository = testRepo + "'" }, fieldRepo},
		{"repo with backslash", func(p *Policy) { p.ImageRepository = `us-docker.pkg.dev\x` }, fieldRepo},
		{"repo with newline", func(p *Policy) { p.ImageRepository = testRepo + "\n" }, fieldRepo},
		{"repo upper case", func(p *Policy) { p.ImageRepository = "us-docker.pkg.dev/P/repo" }, fieldRepo},
		{"repo without path", func(p *Policy) { p.ImageRepository = "us-docker.pkg.dev" }, fieldRepo},
		{"empty digest", func(p *Policy) { p.ImageDigest = "" }, fieldDigest},
		{"tag as digest", func(p *Policy) { p.ImageDigest = "latest" }, fieldDigest},
		{"short digest", func(p *Policy) { p.ImageDigest = "sha256:abc123" }, fieldDigest},
		{"upper-case digest", func(p *Policy) { p.ImageDigest = strings.ToUpper(testDigest) }, fieldDigest},
		{"digest injection", func(p *Policy) { p.ImageDigest = testDigest + "' || true || '" }, fieldDigest},
		{"sha512 digest", func(p *Policy) { p.ImageDigest = "sha512:" + strings.Repeat("a", 128) }, fieldDigest},
		{"no service account", func(p *Policy) { p.ServiceAccounts = nil }, fieldSA},
		{"empty service account", func(p *Policy) { p.ServiceAccounts = []string{""} }, fieldSA},
		{"not an email", func(p *Policy) { p.ServiceAccounts = []string{"workload-sa"} }, fieldSA},
		{"sa injection", func(p *Policy) { p.ServiceAccounts = []string{"a@b.com' in x || true || '"} }, fieldSA},
		{"sa upper case", func(p *Policy) { p.ServiceAccounts = []string{"SA@p.iam.gserviceaccount.com"} }, fieldSA},
		{"bad support attribute", func(p *Policy) { p.SupportAttribute = "stable" }, fieldSupport},
		{"env name lower", func(p *Policy) { p.EnvOverrides = map[string]string{"top_k": "5"} }, fieldEnv},
		{"env name injection", func(p *Policy) { p.EnvOverrides = map[string]string{"A == 'x' || true || B": "x"} }, fieldEnv},
		{"env empty value", func(p *Policy) { p.EnvOverrides = map[string]string{"A": ""} }, fieldEnv},
		{"env value quote", func(p *Policy) { p.EnvOverrides = map[string]string{"A": "x' || true || '"} }, fieldEnv},
		{"env value nonprintable", func(p *Policy) { p.EnvOverrides = map[string]string{"A": "x\x00"} }, fieldEnv},
		{"env value unicode", func(p *Policy) { p.EnvOverrides = map[string]string{"A": "caf\u00e9"} }, fieldEnv},
		{"bad restart policy", func(p *Policy) { p.RestartPolicy = "never" }, fieldRestart},
		{"endpoint name lower", func(p *Policy) { p.PinnedEndpoints = map[string]string{"sts": ""} }, fieldEndpoint},
		{"endpoint quote", func(p *Policy) { p.PinnedEndpoints = map[string]string{"A": "http://x' || true || '"} }, fieldEndpoint},
		{"endpoint not a URL", func(p *Policy) { p.PinnedEndpoints = map[string]string{"A": "127.0.0.1:80"} }, fieldEndpoint},
		{"endpoint with user", func(p *Policy) { p.PinnedEndpoints = map[string]string{"A": "http://u@127.0.0.1:80"} }, fieldEndpoint},
		{"endpoint also env override", func(p *Policy) {
			p.PinnedEndpoints = map[string]string{"A": ""}
			p.EnvOverrides = map[string]string{"A": "x"}
		}, fieldEndpoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := basePolicy()
			tt.mutate(&p)
			got, err := p.Render()
			if err == nil {
				t.Fatalf("Render = %q, want error", got)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			if !strings.HasPrefix(fe.Field, tt.wantField) {
				t.Errorf("error names field %q, want %q (%v)", fe.Field, tt.wantField, err)
			}
		})
	}
}

func TestRenderTooLong(t *testing.T) {
	p := basePolicy()
	p.EnvOverrides = map[string]string{}
	for _, n := range []string{"A", "B", "C", "D", "E"} {
		p.EnvOverrides[n] = strings.Repeat("v", 1000)
	}
	if got, err := p.Render(); err == nil || !strings.Contains(err.Error(), "4096") {
		t.Fatalf("Render = %d chars, err %v; want the 4096 limit error", len(got), err)
	}
}

func TestParseDigest(t *testing.T) {
	d, err := ParseDigest(testDigest)
	if err != nil || d.String() != testDigest || d.IsZero() {
		t.Fatalf("ParseDigest(valid) = %v, %v", d, err)
	}
	for _, bad := range []string{"", "latest", "sha256:", testDigest + " ", " " + testDigest, "sha256:" + strings.Repeat("g", 64), "'" + testDigest + "'"} {
		if _, err := ParseDigest(bad); err == nil {
			t.Errorf("ParseDigest(%q) accepted", bad)
		}
	}
}

// TestPinnedEndpoints: the token may carry no override of a pinned endpoint, or exactly the
// deployment's value; anything else — another loopback port included — is denied by the clause
// that names the endpoint. Tokens whose env_override is null (no tee-env-* at all) pass.
func TestPinnedEndpoints(t *testing.T) {
	const sts, own = "CSPIPE_STS_ENDPOINT", "http://127.0.0.1:4000"
	p := basePolicy()
	p.PinnedEndpoints = map[string]string{sts: own, "CSPIPE_STORAGE_ENDPOINT": ""}
	cond, err := p.Render()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		override any
		allow    bool
		clause   string // part of the failed clause's text
	}{
		{"no overrides (null)", nil, true, ""},
		{"other overrides only", map[string]any{"CSPIPE_RUN_ID": "r"}, true, ""},
		{"deployment's own STS", map[string]any{sts: own}, true, ""},
		{"STS on another loopback port", map[string]any{sts: "http://127.0.0.1:4001"}, false, sts},
		{"STS with a path suffix", map[string]any{sts: own + "/x"}, false, sts},
		{"storage overridden at all", map[string]any{"CSPIPE_STORAGE_ENDPOINT": "http://127.0.0.1:4000"}, false, "CSPIPE_STORAGE_ENDPOINT"},
		{"storage overridden to empty", map[string]any{"CSPIPE_STORAGE_ENDPOINT": ""}, false, "CSPIPE_STORAGE_ENDPOINT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := claimsFor(basePolicy(), testDigest)
			c["submods"].(map[string]any)["container"].(map[string]any)["env_override"] = tt.override
			v, err := Explain(cond, c)
			if err != nil {
				t.Fatal(err)
			}
			if v.Allow != tt.allow {
				t.Fatalf("allow = %v, want %v (%+v)", v.Allow, tt.allow, v)
			}
			if f, ok := v.FailedClause(); !tt.allow && (!ok || !strings.Contains(f.Expr, tt.clause)) {
				t.Errorf("failed clause %q, want the one naming %s", f.Expr, tt.clause)
			}
		})
	}
}
