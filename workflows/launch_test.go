package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/records"
	"github.com/cspipe/cspipe/workflows/engine"
	"github.com/cspipe/cspipe/workflows/expr"
	"github.com/cspipe/cspipe/workflows/internal/fakecloud"
)

const (
	testRun     = "run-2026-11-28_A"
	testBucket  = "results"
	testDigest  = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	testRef     = "us-docker.pkg.dev/p/r/workload@" + testDigest
	vmPrefix    = "cspipe-run-2026-11-28-a-"
	clockOrigin = 1_764_000_000
)

// world is a fake Compute + Storage behind one httptest server, and an engine pointed at it.
type world struct {
	compute *fakecloud.Compute
	store   *blob.Memory
	clock   *engine.FakeClock
	storage *fakecloud.Storage
	srv     *httptest.Server
	// workloadWrites makes a VM write its summary when its workload exits (a healthy workload).
	workloadWrites bool
}

func newWorld(t *testing.T) *world {
	t.Helper()
	mem := blob.NewMemory()
	return newWorldWithStore(t, mem, mem)
}

// newWorldWithStore serves served (a wrapper of mem, or mem itself) as Cloud Storage.
func newWorldWithStore(t *testing.T, served blob.Store, mem *blob.Memory) *world {
	t.Helper()
	w := &world{compute: fakecloud.NewCompute(), store: mem, clock: engine.NewFakeClock(time.Unix(clockOrigin, 0)), workloadWrites: true}
	w.compute.OnFinished = func(inst fakecloud.Instance) {
		if !w.workloadWrites {
			return
		}
		var shard, count int
		_ = json.Unmarshal([]byte(inst.Metadata["tee-env-CSPIPE_SHARD_INDEX"]), &shard)
		_ = json.Unmarshal([]byte(inst.Metadata["tee-env-CSPIPE_SHARD_COUNT"]), &count)
		s := records.Summary{RunID: inst.Metadata["tee-env-CSPIPE_RUN_ID"], Shard: shard, ShardCount: count, Status: records.StatusOK, Images: 4, Succeeded: 4, Source: "workload"}
		b, _ := json.Marshal(s)
		name := records.Prefix(s.RunID, shard, count) + records.SummaryFile
		if _, err := w.store.Write(context.Background(), testBucket, name, blob.Object{Data: b, ContentType: "application/json"}, blob.Cond{}); err != nil {
			t.Errorf("workload summary: %v", err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/compute/v1/", w.compute)
	w.storage = &fakecloud.Storage{Store: served}
	mux.Handle("/", w.storage)
	w.srv = httptest.NewServer(mux)
	t.Cleanup(w.srv.Close)
	return w
}

func (w *world) args(shards int, extra map[string]any) map[string]any {
	a := map[string]any{
		"run_id": testRun, "image_reference": testRef, "project": "proj", "zone": "us-central1-a",
		"machine_type": "n2d-standard-2", "service_account": "workload-sa@proj.iam.gserviceaccount.com",
		"results_bucket": testBucket, "env": map[string]any{"CSPIPE_TOP_K": "3", "CSPIPE_RUN_ID": "spoofed"},
		"shard_count": shards, "timeout_seconds": 3600,
		"compute_endpoint": w.srv.URL + "/compute/v1", "storage_endpoint": w.srv.URL,
	}
	for k, v := range extra {
		a[k] = v
	}
	return a
}

func (w *world) run(ctx context.Context, t *testing.T, args map[string]any) (map[string]any, error) {
	t.Helper()
	wf, err := Launch()
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	eng := engine.New(engine.WithClock(w.clock), engine.WithHTTPClient(w.srv.Client()))
	res, err := eng.Run(ctx, wf, args)
	m, _ := res.(map[string]any)
	return m, err
}

// checkCleanup asserts that every VM created was deleted and that each shard has a summary,
// and returns the summaries.
func (w *world) checkCleanup(t *testing.T, shards int) []records.Summary {
	t.Helper()
	created, deleted := w.compute.Created(), w.compute.Deleted()
	slices.Sort(created)
	slices.Sort(deleted)
	if diff := cmp.Diff(created, deleted); diff != "" {
		t.Errorf("created VMs not all deleted (-created +deleted)\n%s", diff)
	}
	if live := w.compute.Live(); len(live) != 0 {
		t.Errorf("VMs left running: %v", live)
	}
	var out []records.Summary
	for i := range shards {
		name := records.Prefix(testRun, i, shards) + records.SummaryFile
		rc, _, err := w.store.NewReader(context.Background(), testBucket, name)
		if err != nil {
			t.Errorf("shard %d: no summary at %s: %v", i, name, err)
			out = append(out, records.Summary{})
			continue
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		var s records.Summary
		if err := json.Unmarshal(b, &s); err != nil {
			t.Errorf("shard %d summary %s: %v", i, b, err)
		}
		out = append(out, s)
	}
	return out
}

func metadata(inst map[string]any) map[string]string {
	out := map[string]string{}
	items := inst["metadata"].(map[string]any)["items"].([]any)
	for _, it := range items {
		m := it.(map[string]any)
		out[m["key"].(string)] = m["value"].(string)
	}
	return out
}

func TestLaunchOneShard(t *testing.T) {
	w := newWorld(t)
	var insertAt atomic.Int64
	w.compute.InsertStatus = func(string) int { insertAt.Store(w.clock.Now().Unix()); return 0 }
	var body map[string]any
	var bodyOnce sync.Once
	w.compute.GetStatus = func(name string, _ int) int {
		bodyOnce.Do(func() {
			if inst, ok := w.compute.Get(name); ok {
				body = inst.Body
			}
		})
		return 0
	}
	res, err := w.run(t.Context(), t, w.args(1, map[string]any{"not_before": clockOrigin + 7200}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := insertAt.Load(); got < clockOrigin+7200 {
		t.Errorf("VM created at %d, before not_before %d", got, clockOrigin+7200)
	}
	if diff := cmp.Diff([]string{vmPrefix + "0"}, w.compute.Created()); diff != "" {
		t.Errorf("created (-want +got)\n%s", diff)
	}
	sums := w.checkCleanup(t, 1)
	if sums[0].Source != "workload" || sums[0].Status != records.StatusOK {
		t.Errorf("summary = %+v, want the workload's", sums[0])
	}
	if res["status"] != "ok" || res["shard_count"] != int64(1) {
		t.Errorf("result = %v", res)
	}
	// The VM is a Confidential Space VM running the pinned image.
	want := map[string]any{
		"confidentialInstanceConfig": map[string]any{"confidentialInstanceType": "SEV"},
		"shieldedInstanceConfig":     map[string]any{"enableSecureBoot": true},
		"machineType":                "zones/us-central1-a/machineTypes/n2d-standard-2",
		"serviceAccounts": []any{map[string]any{"email": "workload-sa@proj.iam.gserviceaccount.com",
			"scopes": []any{"https://www.googleapis.com/auth/cloud-platform"}}},
	}
	for k, v := range want {
		if diff := cmp.Diff(v, body[k]); diff != "" {
			t.Errorf("instance %s (-want +got)\n%s", k, diff)
		}
	}
	// TERMINATE on host maintenance, and Compute deletes the VM by itself 30 minutes after the
	// timeout even if the execution was cancelled and never cleaned up.
	wantSched := map[string]any{"onHostMaintenance": "TERMINATE", "maxRunDuration": map[string]any{"seconds": "5400"}, "instanceTerminationAction": "DELETE"}
	if diff := cmp.Diff(wantSched, body["scheduling"]); diff != "" {
		t.Errorf("scheduling (-want +got)\n%s", diff)
	}
	disk := body["disks"].([]any)[0].(map[string]any)["initializeParams"].(map[string]any)["sourceImage"]
	if disk != "projects/confidential-space-images/global/images/family/confidential-space" {
		t.Errorf("sourceImage = %v", disk)
	}
	wantMD := map[string]string{
		"tee-image-reference": testRef, "tee-restart-policy": "Never", "tee-container-log-redirect": "false",
		"tee-env-CSPIPE_RUN_ID": testRun, "tee-env-CSPIPE_SHARD_INDEX": "0", "tee-env-CSPIPE_SHARD_COUNT": "1",
		"tee-env-CSPIPE_TOP_K": "3",
	}
	if diff := cmp.Diff(wantMD, metadata(body)); diff != "" {
		t.Errorf("metadata (-want +got)\n%s", diff)
	}
}

func TestLaunchThreeShardsDebug(t *testing.T) {
	w := newWorld(t)
	var mu sync.Mutex
	families := map[string]string{}
	w.compute.GetStatus = func(name string, _ int) int {
		if inst, ok := w.compute.Get(name); ok {
			mu.Lock()
			families[name] = inst.Body["disks"].([]any)[0].(map[string]any)["initializeParams"].(map[string]any)["sourceImage"].(string) +
				" " + inst.Metadata["tee-container-log-redirect"] + " " + inst.Metadata["tee-env-CSPIPE_SHARD_INDEX"]
			mu.Unlock()
		}
		return 0
	}
	res, err := w.run(t.Context(), t, w.args(3, map[string]any{"debug": true}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	sums := w.checkCleanup(t, 3)
	for i, s := range sums {
		if s.Source != "workload" || s.Shard != i || s.ShardCount != 3 {
			t.Errorf("shard %d summary = %+v", i, s)
		}
	}
	wantFam := map[string]string{}
	for i, n := range []string{"0", "1", "2"} {
		wantFam[vmPrefix+n] = "projects/confidential-space-images/global/images/family/confidential-space-debug true " + []string{"0", "1", "2"}[i]
	}
	if diff := cmp.Diff(wantFam, families); diff != "" {
		t.Errorf("debug VMs (-want +got)\n%s", diff)
	}
	if res["status"] != "ok" || len(res["shards"].([]any)) != 3 {
		t.Errorf("result = %v", res)
	}
}

func TestLaunchCreateFailure(t *testing.T) {
	w := newWorld(t)
	var inserts1 atomic.Int32
	w.compute.InsertStatus = func(name string) int {
		if name == vmPrefix+"1" {
			inserts1.Add(1)
			return http.StatusBadRequest
		}
		return 0
	}
	res, err := w.run(t.Context(), t, w.args(3, nil))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := inserts1.Load(); got != 1 {
		t.Errorf("a 400 on insert was tried %d times, want 1 (no retry on 4xx)", got)
	}
	if diff := cmp.Diff([]string{vmPrefix + "0", vmPrefix + "2"}, sorted(w.compute.Created())); diff != "" {
		t.Errorf("created (-want +got)\n%s", diff)
	}
	sums := w.checkCleanup(t, 3)
	if s := sums[1]; s.Source != "workflow" || s.Status != records.StatusFailed || s.RunID != testRun || s.Shard != 1 || s.ShardCount != 3 ||
		!strings.Contains(s.Error, "creating VM "+vmPrefix+"1") || !strings.Contains(s.Error, "400") {
		t.Errorf("shard 1 summary = %+v", s)
	}
	if sums[0].Source != "workload" || sums[2].Source != "workload" {
		t.Errorf("healthy shards' summaries: %+v %+v", sums[0], sums[2])
	}
	if res["status"] != "failed" {
		t.Errorf("result status = %v, want failed", res["status"])
	}
}

func TestLaunchTimeout(t *testing.T) {
	w := newWorld(t)
	w.compute.RunningGets = -1 // the workload never finishes
	start := w.clock.Now()
	res, err := w.run(t.Context(), t, w.args(1, map[string]any{"timeout_seconds": 1800}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if waited := w.clock.Now().Sub(start); waited < 1800*time.Second || waited > 2000*time.Second {
		t.Errorf("gave up after %v of virtual time, want about the 1800 s timeout", waited)
	}
	sums := w.checkCleanup(t, 1)
	if len(w.compute.Deleted()) != 1 {
		t.Errorf("deleted %v, want the one VM", w.compute.Deleted())
	}
	if s := sums[0]; s.Source != "workflow" || s.Status != records.StatusFailed || !strings.Contains(s.Error, "timeout") {
		t.Errorf("summary = %+v", s)
	}
	if res["status"] != "failed" {
		t.Errorf("result = %v", res)
	}
}

func TestLaunch503Storm(t *testing.T) {
	w := newWorld(t)
	var inserts atomic.Int32
	w.compute.InsertStatus = func(string) int {
		if inserts.Add(1) <= 2 {
			return http.StatusTooManyRequests
		}
		return 0
	}
	// Every VM's first 12 gets fail with 503: more than one poll's retries, so the wait loop
	// must keep polling through them.
	w.compute.GetStatus = func(_ string, n int) int {
		if n <= 12 {
			return http.StatusServiceUnavailable
		}
		return 0
	}
	res, err := w.run(t.Context(), t, w.args(2, nil))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	sums := w.checkCleanup(t, 2)
	for i, s := range sums {
		if s.Source != "workload" {
			t.Errorf("shard %d summary = %+v, want the workload's", i, s)
		}
	}
	if len(w.compute.Created()) != 2 || res["status"] != "ok" {
		t.Errorf("created %v, result %v", w.compute.Created(), res)
	}
}

func TestLaunchForeignVM(t *testing.T) {
	w := newWorld(t)
	// Another run already holds shard 0's name: this run must fail the shard and leave that VM.
	w.compute.InsertStatus = nil
	w.workloadWrites = false
	foreign := w.args(1, map[string]any{"run_id": "run-2026-11-28-a"}) // same VM names after lower-casing
	foreign["compute_endpoint"] = w.srv.URL + "/compute/v1"
	w.compute.RunningGets = -1
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		for len(w.compute.Created()) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	wf, _ := Launch()
	_, _ = engine.New(engine.WithClock(engine.NewFakeClock(time.Unix(clockOrigin, 0))), engine.WithHTTPClient(w.srv.Client()), engine.WithCancelGrace(0)).Run(ctx, wf, foreign)
	if len(w.compute.Live()) != 1 {
		t.Fatalf("setup: live VMs %v", w.compute.Live())
	}
	res, err := w.run(t.Context(), t, w.args(1, nil))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if live := w.compute.Live(); len(live) != 1 || live[0].Metadata["tee-env-CSPIPE_RUN_ID"] != "run-2026-11-28-a" {
		t.Errorf("the other run's VM was touched: %v", live)
	}
	rc, _, err := w.store.NewReader(t.Context(), testBucket, "runs/"+testRun+"/summary.json")
	if err != nil {
		t.Fatalf("no error summary: %v", err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if !strings.Contains(string(b), "409") || res["status"] != "failed" {
		t.Errorf("summary %s, result %v", b, res)
	}
}

func TestLaunchCancel(t *testing.T) {
	w := newWorld(t)
	w.compute.RunningGets = -1
	ctx, cancel := context.WithCancel(t.Context())
	w.clock.OnSleep = func(context.Context, time.Duration) error {
		// Cancel once all three VMs exist and have been polled.
		live := w.compute.Live()
		polled := 0
		for _, i := range live {
			if i.Gets > 0 {
				polled++
			}
		}
		if polled == 3 {
			cancel()
		}
		return nil
	}
	_, err := w.run(ctx, t, w.args(3, nil))
	if !errors.Is(err, engine.ErrCancelled) {
		t.Fatalf("Run: got %v, want ErrCancelled", err)
	}
	if len(w.compute.Created()) != 3 {
		t.Fatalf("created %v", w.compute.Created())
	}
	for i, s := range w.checkCleanup(t, 3) {
		if s.Source != "workflow" || !strings.Contains(s.Error, "cancelled") {
			t.Errorf("shard %d summary = %+v", i, s)
		}
	}
}

func TestLaunchRefusesBadArguments(t *testing.T) {
	tests := []struct {
		name  string
		extra map[string]any
		want  string
	}{
		{"tag instead of digest", map[string]any{"image_reference": "us-docker.pkg.dev/p/r/workload:latest"}, "pinned by digest"},
		{"short digest", map[string]any{"image_reference": "repo@sha256:abc"}, "pinned by digest"},
		{"no bucket", map[string]any{"results_bucket": ""}, "results_bucket"},
		{"shard count", map[string]any{"shard_count": 0}, "shard_count"},
		// Google runs at most 20 parallel iterations at once: a 21st shard would wait for one of
		// them to end and then meet the run's deadline.
		{"more shards than run at once", map[string]any{"shard_count": 21}, "shard_count"},
		{"debug type", map[string]any{"debug": "yes"}, "debug"},
		{"poll seconds", map[string]any{"poll_seconds": 0}, "poll_seconds"},
		// The workload's endpoint (with the JSON API path) passed as the workflow's: the workflow
		// would call …/storage/v1//storage/v1/b/… and every failure summary would be refused.
		{"storage endpoint with a path", map[string]any{"storage_endpoint": "http://127.0.0.1:1/storage/v1/"}, "storage_endpoint"},
		{"network path of another shape", map[string]any{"network": "global/networks/default"}, "network"},
		{"subnetwork type", map[string]any{"subnetwork": 3}, "subnetwork"},
		{"external ip type", map[string]any{"external_ip": "no"}, "external_ip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			_, err := w.run(t.Context(), t, w.args(1, tt.extra))
			var we *expr.Error
			if !errors.As(err, &we) || !we.HasTag("ValueError") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want a ValueError about %s", err, tt.want)
			}
			if len(w.compute.Created()) != 0 {
				t.Errorf("created VMs %v despite a bad argument", w.compute.Created())
			}
		})
	}
}

func sorted(s []string) []string { slices.Sort(s); return s }

func TestLaunchOnCancelArgument(t *testing.T) {
	// A run whose execution was cancelled on Google left a VM; an execution with the same
	// argument plus on_cancel: true deletes it and writes the shard's summary.
	w := newWorld(t)
	w.compute.RunningGets = -1
	ctx, cancel := context.WithCancel(t.Context())
	w.clock.OnSleep = func(context.Context, time.Duration) error {
		if len(w.compute.Live()) == 2 {
			cancel()
		}
		return nil
	}
	wf, err := Launch()
	if err != nil {
		t.Fatal(err)
	}
	// No on_cancel by the engine here (zero grace), as on Google.
	_, err = engine.New(engine.WithClock(w.clock), engine.WithHTTPClient(w.srv.Client()), engine.WithCancelGrace(0)).Run(ctx, wf, w.args(2, nil))
	if !errors.Is(err, engine.ErrCancelled) || len(w.compute.Live()) != 2 {
		t.Fatalf("setup: err %v, live %d", err, len(w.compute.Live()))
	}
	w.clock.OnSleep = nil
	res, err := w.run(t.Context(), t, w.args(2, map[string]any{"on_cancel": true, "poll_seconds": 1}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for i, s := range w.checkCleanup(t, 2) {
		if s.Source != "workflow" || !strings.Contains(s.Error, "cancelled") {
			t.Errorf("shard %d summary = %+v", i, s)
		}
	}
	if res["status"] != "failed" {
		t.Errorf("result = %v", res)
	}
}
