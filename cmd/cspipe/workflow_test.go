package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWorkflowCheckLaunch(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"workflow", "check", filepath.Join("..", "..", "workflows", "launch.yaml")}, &out, &errb); code != 0 {
		t.Fatalf("check launch.yaml: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "ok") {
		t.Errorf("stdout = %q", out.String())
	}
}

func TestWorkflowCheckRefuses(t *testing.T) {
	p := writeFile(t, "bad.yaml", "main:\n  steps:\n    - a:\n        call: googleapis.run.v2.jobs.run\n")
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"workflow", "check", p}, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "line 4") || !strings.Contains(errb.String(), "googleapis.run.v2.jobs.run") {
		t.Errorf("exit %d, stderr %q: want non-zero naming the call and line 4", code, errb.String())
	}
}

func TestWorkflowRun(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"path": r.URL.Path, "auth": r.Header.Get("Authorization")})
	}))
	defer api.Close()
	p := writeFile(t, "wf.yaml", `
main:
  params: [args]
  steps:
    - get:
        call: http.get
        args:
          url: ${"https://example.invalid/v1/" + args.name}
          auth:
            type: OAuth2
        result: r
    - done:
        return:
          echo: ${r.body.path}
          auth: ${r.body.auth}
          n: ${args.n * 2}
`)
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"workflow", "run", p, "--args", `{"name": "x", "n": 21}`, "--http-endpoint", "https://example.invalid=" + api.URL}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("stdout %q: %v", out.String(), err)
	}
	if diff := cmp.Diff(map[string]any{"echo": "/v1/x", "auth": "", "n": 42.0}, got); diff != "" {
		t.Errorf("result (-want +got)\n%s", diff)
	}
}

func TestWorkflowRunFailure(t *testing.T) {
	p := writeFile(t, "fail.yaml", "- a:\n    raise: {tags: [\"ValueError\"], message: \"nope\"}\n")
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"workflow", "run", p}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "nope") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
