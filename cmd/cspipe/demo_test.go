package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMakeRunFromBareClone clones the repository's committed HEAD into an empty directory (no
// sibling folders, nothing untracked) and runs `make run` there, as a new user would.
func TestMakeRunFromBareClone(t *testing.T) {
	if testing.Short() {
		t.Skip("clones the repository and runs the whole demo; skipped under -short")
	}
	for _, tool := range []string{"git", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to test `make run` from a clone: %v", tool, err)
		}
	}
	wd, _ := os.Getwd()
	top, err := exec.Command("git", "-C", wd, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("the repository is not a git checkout, so a bare clone cannot be tested: %v", err)
	}
	parent := t.TempDir() // holds only the clone: no ../shared next to it
	clone := filepath.Join(parent, "cspipe")
	if out, err := exec.Command("git", "clone", "--quiet", "--no-hardlinks", strings.TrimSpace(string(top)), clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 12*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "run")
	cmd.Dir = clone
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make run in a bare clone: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "both outcomes as expected") {
		t.Errorf("make run passed without its final line:\n%s", out)
	}
	// The demo's batch closes when it holds all its photos, not after a quiet period. (Only a
	// stall of the quiet period in the middle of the uploads splits them into two runs; then the
	// last batch closes on "quiet", and nothing here applies.)
	if strings.Contains(string(out), "went into 1 run(s)") && !strings.Contains(string(out), "the batch closed on max_items") {
		t.Errorf("the demo's one run did not close on max_items:\n%s", out)
	}
}
