package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/cspipe/cspipe/infra/local/stack"
	"github.com/cspipe/cspipe/internal/records"
)

const rejected = "rejected by the attribute condition"

// TestGateRefusals runs the pinned image in ways a production condition must refuse: on the
// debug image family, under another service account, and after Primus re-pinned a new digest.
func TestGateRefusals(t *testing.T) {
	e := newEnv(t, stack.Options{})
	ref := e.push(e.s.PrimusRepository(), "v1", nil)
	e.pinned(ref)
	e.uploadModel()
	e.upload(e.secundus, stack.InputBucket, "photos/a.png", photo(1))
	in := map[string]string{"CSPIPE_INPUT_PREFIX": "photos/"}

	t.Run("debug image family", func(t *testing.T) {
		e.launch("run-debug", ref, in, true)
		s := e.summary("run-debug", 10*time.Second)
		if s.Status != records.StatusFailed || !strings.Contains(s.Error, rejected) {
			t.Errorf("debug run summary = %+v, want the STS rejection", s)
		}
	})

	t.Run("wrong service account", func(t *testing.T) {
		other := "other-sa@" + stack.Secundus.ID + ".iam.gserviceaccount.com"
		// Same bucket access as workload-sa, so only the condition tells them apart.
		for _, g := range [][2]string{{stack.InputBucket, "roles/storage.objectViewer"}, {stack.ResultsBucket, "roles/storage.objectUser"}} {
			if err := e.s.IAM.SetBucketRoles(g[0], iam.ServiceAccount(other), g[1]); err != nil {
				t.Fatal(err)
			}
		}
		// The workflow may attach it (actAs) and it may pull the image, so Compute and the
		// launcher let the VM start and only the condition can refuse the token.
		if err := e.s.IAM.Grant(iam.ServiceAccountResource(stack.Secundus.ID, other).Name, iam.ServiceAccount(stack.WorkflowSA), "roles/iam.serviceAccountUser"); err != nil {
			t.Fatal(err)
		}
		if err := e.s.IAM.Grant(iam.RepositoryResource(stack.Primus.ID, stack.Location, "workloads").Name, iam.ServiceAccount(other), "roles/artifactregistry.reader"); err != nil {
			t.Fatal(err)
		}
		arg := e.s.NewLaunchArgument("run-other-sa", ref, in)
		arg.ServiceAccount = other
		ex, err := e.s.StartLaunch(t.Context(), arg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.Executions.Wait(t.Context(), ex.GetName()); err != nil {
			t.Fatal(err)
		}
		s := e.summary("run-other-sa", 10*time.Second)
		if s.Status != records.StatusFailed || !strings.Contains(s.Error, rejected) {
			t.Errorf("other-SA run summary = %+v, want the STS rejection", s)
		}
	})

	t.Run("re-pin refuses the old image", func(t *testing.T) {
		newRef := e.push(e.s.PrimusRepository(), "v2", map[string]string{"org.cspipe.build": "2"})
		e.pinned(newRef)
		e.launch("run-old", ref, in, false)
		if s := e.summary("run-old", 10*time.Second); s.Status != records.StatusFailed || !strings.Contains(s.Error, rejected) {
			t.Errorf("old image after re-pin: summary = %+v, want the STS rejection", s)
		}
		e.launch("run-new", newRef, in, false)
		if s := e.summary("run-new", 10*time.Second); s.Status != records.StatusOK || s.Succeeded != 1 {
			t.Errorf("new image: summary = %+v, want ok", s)
		}
	})
}
