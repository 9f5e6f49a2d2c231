package workflowexec

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/internal/batch"
	"github.com/cspipe/cspipe/internal/batch/executionstest"
)

const wf = "projects/p/locations/l/workflows/launch"

func TestClientAgainstFakeServer(t *testing.T) {
	srv, err := executionstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ec, err := Dial(t.Context(), srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	c := New(ec)

	if name, err := c.FindByLabel(t.Context(), wf, batch.LabelRunID, "batch-1"); err != nil || name != "" {
		t.Fatalf("find before create: %q, %v", name, err)
	}
	name, err := c.Create(t.Context(), wf, `{"run_id":"batch-1"}`, map[string]string{batch.LabelRunID: "batch-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(t.Context(), wf, `{"run_id":"batch-2"}`, map[string]string{batch.LabelRunID: "batch-2"}); err != nil {
		t.Fatal(err)
	}
	got, err := c.FindByLabel(t.Context(), wf, batch.LabelRunID, "batch-1")
	if err != nil || got != name {
		t.Errorf("find: %q, %v; want %q", got, err, name)
	}
	if got, err := c.FindByLabel(t.Context(), "projects/p/locations/l/workflows/other", batch.LabelRunID, "batch-1"); err != nil || got != "" {
		t.Errorf("find in another workflow: %q, %v", got, err)
	}
	ex := srv.Executions()
	if len(ex) != 2 {
		t.Fatalf("%d executions", len(ex))
	}
	if d := cmp.Diff(map[string]string{batch.LabelRunID: "batch-1"}, ex[0].GetLabels()); d != "" {
		t.Errorf("labels (-want +got):\n%s", d)
	}
	if ex[0].GetArgument() != `{"run_id":"batch-1"}` {
		t.Errorf("argument %q", ex[0].GetArgument())
	}

	srv.FailNextCreates(1)
	if _, err := c.Create(t.Context(), wf, `{}`, nil); err == nil {
		t.Error("injected failure not reported")
	}
}

func TestMatchesArgumentWhenLabelsAreMissing(t *testing.T) {
	srv, err := executionstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ec, err := Dial(t.Context(), srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	c := New(ec)
	name, err := c.Create(t.Context(), wf, `{"run_id":"batch-9"}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The label filter matches nothing; an unfiltered scan checks the argument.
	got, err := c.find(t.Context(), wf, "", batch.LabelRunID, "batch-9")
	if err != nil || got != name {
		t.Errorf("find by argument: %q, %v; want %q", got, err, name)
	}
}
