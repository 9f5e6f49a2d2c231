package executions

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/workflows/executions/apiv1/executionspb"
	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/workflows"
	"github.com/cspipe/cspipe/workflows/engine"
	"github.com/cspipe/cspipe/workflows/internal/fakecloud"
)

// The deployed launch.yaml started through the real Executions client, as ScheduleRun does.
func TestLaunchThroughExecutionsAPI(t *testing.T) {
	compute, store := fakecloud.NewCompute(), blob.NewMemory()
	mux := http.NewServeMux()
	mux.Handle("/compute/v1/", compute)
	mux.Handle("/", &fakecloud.Storage{Store: store})
	api := httptest.NewServer(mux)
	defer api.Close()

	wf, err := workflows.Launch()
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.WithClock(engine.NewFakeClock(time.Unix(1_764_000_000, 0))), engine.WithHTTPClient(api.Client()))
	srv := NewServer(map[string]*engine.Workflow{workflows.LaunchName: wf}, WithEngine(eng))
	c, _ := startServer(t, srv)

	arg, _ := json.Marshal(map[string]any{
		"run_id": "r1", "image_reference": "repo/w@sha256:" + "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12",
		"project": "p", "zone": "z", "service_account": "sa@p.iam.gserviceaccount.com", "results_bucket": "results",
		"shard_count": 2, "compute_endpoint": api.URL + "/compute/v1", "storage_endpoint": api.URL,
	})
	e, err := c.CreateExecution(t.Context(), &executionspb.CreateExecutionRequest{
		Parent: parent + workflows.LaunchName, Execution: &executionspb.Execution{Argument: string(arg)}})
	if err != nil {
		t.Fatalf("CreateExecution: %v", err)
	}
	done := waitDone(t, c, e.Name)
	if done.State != executionspb.Execution_SUCCEEDED {
		t.Fatalf("state %v, error %v", done.State, done.Error)
	}
	var res struct {
		Status string `json:"status"`
		Shards []struct {
			Summary string `json:"summary_written_by"`
		} `json:"shards"`
	}
	if err := json.Unmarshal([]byte(done.Result), &res); err != nil {
		t.Fatalf("result %q: %v", done.Result, err)
	}
	// Nothing writes a workload summary here, so the workflow writes both and reports failure.
	if res.Status != "failed" || len(res.Shards) != 2 || res.Shards[0].Summary != "workflow" || res.Shards[1].Summary != "workflow" {
		t.Errorf("result = %s", done.Result)
	}
	created, deleted := compute.Created(), compute.Deleted()
	slices.Sort(created)
	slices.Sort(deleted)
	if diff := cmp.Diff(created, deleted); diff != "" || len(created) != 2 {
		t.Errorf("created %v, deleted %v", created, deleted)
	}
	for _, name := range []string{"runs/r1/shard-000/summary.json", "runs/r1/shard-001/summary.json"} {
		if _, err := store.Attrs(t.Context(), "results", name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
