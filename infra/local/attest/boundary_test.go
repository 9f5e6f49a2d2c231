package attest

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNotLinkedIntoProduction fails if a deployable or production package (functions/,
// workload/, internal/) comes to depend on the local stack, whose issuer signs tokens with a
// throwaway key and whose IAM admits whatever the test set up. (go test puts GOROOT/bin first
// on PATH, so "go" is the toolchain running the test.)
func TestNotLinkedIntoProduction(t *testing.T) {
	const mod = "github.com/cspipe/cspipe/"
	cmd := exec.Command("go", "list", "-e",
		"-f", `{{.ImportPath}} {{join .Deps " "}}`, mod+"functions/...", mod+"workload/...", mod+"internal/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatal("go list printed nothing")
	}
	for _, line := range lines {
		f := strings.Fields(line)
		// Test-helper packages (…test, like httptest) may use the local stack.
		if len(f) == 0 || strings.HasSuffix(f[0], "test") {
			continue
		}
		for _, d := range f[1:] {
			if strings.HasPrefix(d, mod+"infra/local") {
				t.Errorf("production package %s depends on %s", f[0], d)
			}
		}
	}
}
