package batch

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreImports fails if this core package starts to import a cloud client, an RPC stack or a
// network fake itself. (It reaches storage only through internal/blob's Store interface; the
// cloud adapters live in its subpackages.)
func TestCoreImports(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-f", "{{join .Imports \" \"}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"cloud.google.com/go/", "google.golang.org/api/", "google.golang.org/grpc", "github.com/fsouza/", "net/http"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("core package imports %s", dep)
			}
		}
	}
}
