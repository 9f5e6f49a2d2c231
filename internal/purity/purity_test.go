package purity

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/cspipe/cspipe/"

// noNetwork is what a pure package may not reach: cloud clients, RPC, HTTP, network fakes.
var noNetwork = []string{"cloud.google.com/go/", "google.golang.org/api/", "google.golang.org/grpc", "github.com/fsouza/", "net/http"}

// rules: each pure package, whether the rule covers all its dependencies or only its direct
// imports (the batch and publish cores sit behind interfaces whose adapters live in subpackages),
// and what it must not reach (a prefix, or for policy anywhere in the path).
var rules = []struct {
	pkg      string
	allDeps  bool
	banned   []string
	anywhere bool
}{
	{pkg: "internal/archive", allDeps: true, banned: noNetwork},
	{pkg: "internal/events", allDeps: true, banned: noNetwork},
	{pkg: "internal/batch", banned: noNetwork},
	{pkg: "internal/publish", banned: noNetwork},
	{pkg: "internal/policy", allDeps: true, anywhere: true,
		banned: []string{"cloud.google.com/", "google.golang.org/api", "google.golang.org/grpc", "golang.org/x/oauth2", "/infra/local/"}},
}

func TestPurePackages(t *testing.T) {
	args := []string{"list", "-f", `{{.ImportPath}}|{{join .Imports " "}}|{{join .Deps " "}}`}
	for _, r := range rules {
		args = append(args, mod+r.pkg)
	}
	out, err := exec.CommandContext(t.Context(), "go", args...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(rules) {
		t.Fatalf("go list printed %d packages, want %d", len(lines), len(rules))
	}
	for i, r := range rules {
		f := strings.Split(lines[i], "|")
		if len(f) != 3 || f[0] != mod+r.pkg {
			t.Fatalf("unexpected go list line %q", lines[i])
		}
		deps := f[1]
		if r.allDeps {
			deps = f[2]
		}
		for _, dep := range strings.Fields(deps) {
			for _, banned := range r.banned {
				if strings.HasPrefix(dep, banned) || (r.anywhere && strings.Contains(dep, banned)) {
					t.Errorf("pure package %s depends on %s", r.pkg, dep)
				}
			}
		}
	}
}
