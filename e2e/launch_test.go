package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/cspipe/cspipe/infra/local/stack"
	"github.com/cspipe/cspipe/internal/records"
)

// TestPinnedImageRunsAndUnpinnedImageIsRefused launches the deployed workflow twice against the
// same model: Primus's pinned image classifies every photo; the same program pushed to
// Secundus's own repository (another digest) is refused by STS, and the refusal is the run's error.
func TestPinnedImageRunsAndUnpinnedImageIsRefused(t *testing.T) {
	e := newEnv(t, stack.Options{})
	ref := e.push(e.s.PrimusRepository(), "latest", nil)
	e.pinDirect(ref, false)
	m := e.uploadModel()
	for i, name := range []string{"photos/a.png", "photos/b.png"} {
		e.upload(e.secundus, stack.InputBucket, name, photo(i))
	}
	e.upload(e.secundus, stack.InputBucket, "photos/notes.txt", []byte("not an image"))

	state := e.launch("run-ok", ref, map[string]string{"CSPIPE_INPUT_PREFIX": "photos/"}, false)
	if !strings.HasPrefix(state, "SUCCEEDED") {
		t.Errorf("execution: %s", state)
	}
	s := e.summary("run-ok", 10*time.Second)
	if s.Status != records.StatusOK || s.Images != 3 || s.Succeeded != 2 || s.Failed != 1 {
		t.Errorf("summary = %+v, want ok with 2 of 3 images classified", s)
	}
	if s.ModelSHA256 != m.SHA256 || !strings.HasSuffix(ref, "@"+s.ImageDigest) {
		t.Errorf("summary binds model %s image %s; want %s and %s", s.ModelSHA256, s.ImageDigest, m.SHA256, ref)
	}
	e.waitObject(e.secundus, stack.ResultsBucket, records.Prefix("run-ok", 0, 1)+records.ReceiptFile, time.Second)

	// The codelab's unauthorized workload: the same program, another digest, Secundus's repository.
	bad := e.push(e.s.SecundusRepository(), "latest", map[string]string{"org.cspipe.variant": "secundus"})
	if strings.Split(bad, "@")[1] == strings.Split(ref, "@")[1] {
		t.Fatal("the unauthorized image has the pinned digest")
	}
	e.launch("run-unauth", bad, map[string]string{"CSPIPE_INPUT_PREFIX": "photos/"}, false)
	s = e.summary("run-unauth", 10*time.Second)
	if s.Status != records.StatusFailed || !strings.Contains(s.Error, "rejected by the attribute condition") {
		t.Errorf("unauthorized summary = %+v, want failed with the STS rejection", s)
	}
	if len(e.s.Compute.Instances()) != 0 {
		t.Errorf("VMs left: %+v", e.s.Compute.Instances())
	}
}
