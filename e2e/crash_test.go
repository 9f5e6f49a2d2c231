package e2e

import (
	"testing"
	"time"

	"github.com/cspipe/cspipe/infra/local/stack"
	"github.com/cspipe/cspipe/internal/records"
)

// TestWorkloadCrashStillDeletesVMAndReports runs an image whose program dies without writing a
// summary (a shell script: the image has no /bin/sh, so it cannot even start in its image root,
// as on Google): the workflow must still delete the VM and write an error summary for the shard.
func TestWorkloadCrashStillDeletesVMAndReports(t *testing.T) {
	e := newEnv(t, stack.Options{})
	crash := []byte("#!/bin/sh\necho 'workload: simulated crash' >&2\nexit 3\n")
	img, err := stack.WorkloadImage(crash, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := e.s.Push(t.Context(), img, e.s.PrimusRepository(), "crash")
	if err != nil {
		t.Fatal(err)
	}
	e.pinned(ref)
	state := e.launch("run-crash", ref, map[string]string{"CSPIPE_INPUT_PREFIX": "photos/"}, false)
	s := e.summary("run-crash", 10*time.Second)
	if s.Status != records.StatusFailed || s.Source != "workflow" {
		t.Errorf("summary = %+v (execution %s), want a failed summary written by the workflow", s, state)
	}
	if n := len(e.s.Compute.Instances()); n != 0 {
		t.Errorf("%d VM(s) left after the crash: %+v", n, e.s.Compute.Instances())
	}
}
