package events

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPureDependencies fails if this pure package starts to depend on a cloud client, an RPC
// stack or a network fake.
func TestPureDependencies(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"cloud.google.com/go/", "google.golang.org/api/", "google.golang.org/grpc", "github.com/fsouza/", "net/http"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("pure package depends on %s", dep)
			}
		}
	}
}
