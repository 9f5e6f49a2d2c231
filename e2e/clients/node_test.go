package clients

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cspipe/cspipe/infra/local/stack"
)

// TestNodeClients runs tools/clients/roundtrip.js: Node's @google-cloud/storage and
// @google-cloud/pubsub from npm with the emulator environment only.
func TestNodeClients(t *testing.T) {
	needStack(t)
	script, err := filepath.Abs("../../tools/clients/roundtrip.js")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(script), "node_modules", "@google-cloud", "pubsub")); err != nil {
		t.Fatalf("Node's Google clients are not installed (scripts/deps.sh installs them): %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	files := photos(t)
	const prefix = "node/"
	args := append([]string{script, stack.InputBucket, prefix, "projects/" + stack.Secundus.ID + "/topics/" + stack.ResultsTopic,
		"node-client-test", "150"}, files...)
	tl := newTally(prefix, files)
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("roundtrip.js: %v\n%s\n%s\nwhere the uploads are:\n%s", err, out, stderr, tl.trace())
	}
	var got struct {
		Records   map[string]int `json:"records"`
		Summaries []struct {
			RunID  string `json:"run_id"`
			Images int    `json:"images"`
		} `json:"summaries"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("roundtrip.js printed %q: %v", out, err)
	}
	for o, n := range got.Records {
		tl.records[o] = n
	}
	runs := map[string]bool{}
	for _, s := range got.Summaries {
		tl.runs[s.RunID] = true
		tl.summaries[s.RunID] += s.Images
		tl.sumCount[s.RunID]++
		runs[s.RunID] = true
	}
	if len(runs) == 0 {
		t.Fatalf("no summary for the uploaded photos: %s", out)
	}
	tl.check(t)
}
