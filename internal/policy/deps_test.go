package policy

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPure fails if the policy package starts depending on a cloud SDK: it must stay a pure
// function of its inputs, usable from the CLI, the pin function and the local STS alike.
func TestPure(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"cloud.google.com/", "google.golang.org/api", "google.golang.org/grpc", "golang.org/x/oauth2", "/infra/local/"} {
			if strings.Contains(dep, banned) {
				t.Errorf("internal/policy depends on %s", dep)
			}
		}
	}
}
