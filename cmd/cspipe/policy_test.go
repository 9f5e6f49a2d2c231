package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/receipt/receipttest"
)

const (
	cliRepo   = "us-docker.pkg.dev/primus-proj/repo/workload"
	cliDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	cliSA     = "workload-sa@secundus-proj.iam.gserviceaccount.com"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(t.Context(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func cliClaims(digest string) map[string]any {
	return map[string]any{
		"swname":                  "CONFIDENTIAL_SPACE",
		"dbgstat":                 "disabled-since-boot",
		"google_service_accounts": []any{cliSA},
		"submods": map[string]any{
			"confidential_space": map[string]any{"support_attributes": []any{"LATEST", "STABLE", "USABLE"}},
			"container":          map[string]any{"image_digest": digest, "image_reference": cliRepo + "@" + digest, "restart_policy": "Never"},
		},
	}
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "claims.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPolicyRenderCLI(t *testing.T) {
	code, out, errOut := runCLI(t, "policy", "render", "--image-repo", cliRepo, "--digest", cliDigest,
		"--service-account", cliSA, "--env", "CSPIPE_TOP_K=5", "--restart-policy", "Never")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	for _, want := range []string{"image_digest == '" + cliDigest + "'", "env_override.CSPIPE_TOP_K == '5'", "restart_policy == 'Never'", "dbgstat == 'disabled-since-boot'"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestPolicyRenderCLIRefuses(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"tag", []string{"--image-repo", cliRepo, "--digest", "latest", "--service-account", cliSA}, 1, "ImageDigest"},
		{"injection", []string{"--image-repo", cliRepo + ":x' || true || '", "--digest", cliDigest, "--service-account", cliSA}, 1, "ImageRepository"},
		{"no sa", []string{"--image-repo", cliRepo, "--digest", cliDigest}, 1, "ServiceAccounts"},
		{"bad env", []string{"--image-repo", cliRepo, "--digest", cliDigest, "--service-account", cliSA, "--env", "NOVALUE"}, 2, "NAME=VALUE"},
		{"unknown flag", []string{"--nope"}, 2, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"policy", "render"}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) || out != "" {
				t.Errorf("exit %d (want %d), stdout %q, stderr %q (want %q)", code, tt.wantCode, out, errOut, tt.wantErr)
			}
		})
	}
}

func TestPolicyExplainCLI(t *testing.T) {
	_, cond, _ := runCLI(t, "policy", "render", "--image-repo", cliRepo, "--digest", cliDigest, "--service-account", cliSA)
	cond = strings.TrimSpace(cond)
	condFile := filepath.Join(t.TempDir(), "cond.cel")
	if err := os.WriteFile(condFile, []byte(cond+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := "sha256:" + strings.Repeat("e", 64)
	payload, _ := json.Marshal(cliClaims(other))
	jwtFile := filepath.Join(t.TempDir(), "token")
	jwt := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." +
		base64.RawURLEncoding.EncodeToString(payload) + ".c2ln"
	if err := os.WriteFile(jwtFile, []byte(jwt), 0o600); err != nil {
		t.Fatal(err)
	}
	noSubmods := writeJSON(t, map[string]any{"swname": "CONFIDENTIAL_SPACE"})
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"allow", []string{"--condition", cond, "--claims-file", writeJSON(t, cliClaims(cliDigest))}, 0, []string{"verdict: ALLOW"}},
		{"deny from token", []string{"--condition-file", condFile, "--token-file", jwtFile}, 3,
			[]string{"verdict: DENY", "signature", "FAIL  assertion.submods.container.image_digest", "first failing clause: assertion.submods.container.image_digest"}},
		{"missing key", []string{"--condition", cond, "--claims-file", noSubmods}, 3, []string{"no such key: submods"}},
		{"json", []string{"--condition", cond, "--claims-file", noSubmods, "--json"}, 3, []string{`"allow": false`, `"signature_checked": false`, `"pass": true`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"policy", "explain"}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stdout %s stderr %s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
		})
	}
	if code, _, _ := runCLI(t, "policy", "explain", "--condition", cond); code != 2 {
		t.Errorf("explain without claims: exit %d, want 2", code)
	}
	if code, _, errOut := runCLI(t, "policy", "explain", "--condition", cond, "--token-file", writeJSON(t, "x")); code != 1 || !strings.Contains(errOut, "JWT") {
		t.Errorf("explain with a non-JWT token: exit %d, stderr %s", code, errOut)
	}
}

// Issue 11: `cspipe policy explain --claims-file /dev/zero` read until the OOM killer came. Every
// file the CLI reads is bounded, and the error names the limit.
func TestCLIFilesAreBounded(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero on this system")
	}
	dir := t.TempDir()
	cond := filepath.Join(dir, "cond.txt")
	os.WriteFile(cond, []byte("assertion.swname == 'CONFIDENTIAL_SPACE'"), 0o644)
	claims := filepath.Join(dir, "claims.json")
	os.WriteFile(claims, []byte(`{"swname":"CONFIDENTIAL_SPACE"}`), 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"claims file", []string{"policy", "explain", "--condition-file", cond, "--claims-file", "/dev/zero"}, "claims file /dev/zero: larger than the limit of 1048576 bytes"},
		{"token file", []string{"policy", "explain", "--condition-file", cond, "--token-file", "/dev/zero"}, "token file /dev/zero: larger than the limit of 1048576 bytes"},
		{"condition file", []string{"policy", "explain", "--condition-file", "/dev/zero", "--claims-file", claims}, "condition file /dev/zero: larger than the limit of 65536 bytes"},
		{"JWKS file", []string{"verify-receipt", "--results-dir", writeRun(t, receipttest.New("https://i")), "--jwks", "/dev/zero"}, "JWKS file /dev/zero: larger than the limit"},
		{"workflow file", []string{"workflow", "check", "/dev/zero"}, "workflow /dev/zero: larger than the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.args...)
			if code == 0 || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("exit %d, output %q; want an error containing %q", code, out+errOut, tt.want)
			}
		})
	}
}
