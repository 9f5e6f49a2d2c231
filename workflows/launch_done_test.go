package workflows

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/workflows/internal/fakecloud"
)

// shardTimes records when (virtual time) each VM's workload exited and when the VM was deleted,
// and the VM's status at deletion.
type shardTimes struct {
	mu       sync.Mutex
	finished map[string]time.Time
	deleted  map[string]time.Time
	statusAt map[string]string
}

func (w *world) watchShards() *shardTimes {
	st := &shardTimes{finished: map[string]time.Time{}, deleted: map[string]time.Time{}, statusAt: map[string]string{}}
	write := w.compute.OnFinished
	w.compute.OnFinished = func(inst fakecloud.Instance) {
		write(inst)
		st.mu.Lock()
		st.finished[inst.Name] = w.clock.Now()
		st.mu.Unlock()
	}
	w.compute.OnDeleted = func(inst fakecloud.Instance) {
		st.mu.Lock()
		st.deleted[inst.Name] = w.clock.Now()
		st.statusAt[inst.Name] = inst.Status
		st.mu.Unlock()
	}
	return st
}

// A shard is done when its summary.json exists or its VM is TERMINATED, whichever comes first.
// On the debug image the launcher holds the VM RUNNING after the workload exits, so a workflow
// that waits for TERMINATED burns the whole timeout; on the production image the VM powers off
// only after a shutdown delay. Either way the shard must end within one poll of its summary.
func TestLaunchShardEndsAtItsSummary(t *testing.T) {
	const poll = 10
	tests := []struct {
		name  string
		debug bool
	}{
		{"debug VM held running", true},
		{"production VM in its shutdown delay", false},
	}
	// One shard: the fake clock adds up the sleeps of parallel branches.
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.compute.ShutdownGets = 1_000_000 // the power-off never shows within the run
			st := w.watchShards()
			start := w.clock.Now()
			res, err := w.run(t.Context(), t, w.args(1, map[string]any{"debug": tc.debug, "poll_seconds": poll, "timeout_seconds": 3600}))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			sums := w.checkCleanup(t, 1)
			for i, s := range sums {
				if s.Source != "workload" {
					t.Errorf("shard %d summary = %+v, want the workload's", i, s)
				}
			}
			if res["status"] != "ok" {
				t.Errorf("result = %v", res)
			}
			for _, name := range w.compute.Created() {
				fin, del := st.finished[name], st.deleted[name]
				if fin.IsZero() || del.IsZero() {
					t.Fatalf("%s: finished %v, deleted %v", name, fin, del)
				}
				if lag := del.Sub(fin); lag > poll*time.Second {
					t.Errorf("%s deleted %v after its summary, want within one %d s poll", name, lag, poll)
				}
				if st.statusAt[name] != "RUNNING" {
					t.Errorf("%s was %s when deleted; this test wants the VM still running", name, st.statusAt[name])
				}
			}
			if took := w.clock.Now().Sub(start); took > 2*time.Minute {
				t.Errorf("run took %v of virtual time", took)
			}
		})
	}
}

// A VM that powers off without a summary still ends its shard (a workload that crashed): the
// workflow writes the error summary.
func TestLaunchTerminatedWithoutSummary(t *testing.T) {
	w := newWorld(t)
	w.workloadWrites = false
	res, err := w.run(t.Context(), t, w.args(1, nil))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	sums := w.checkCleanup(t, 1)
	if s := sums[0]; s.Source != "workflow" || s.Status != "failed" || s.Error == "" {
		t.Errorf("summary = %+v, want the workflow's failed summary", s)
	}
	if res["status"] != "failed" {
		t.Errorf("result = %v", res)
	}
}

// Network settings reach the instance: a name becomes global/networks/NAME, a subnetwork name
// lives in the zone's region, and external_ip false sends no accessConfigs (the VM then needs
// Private Google Access on its subnetwork).
func TestLaunchNetworkSettings(t *testing.T) {
	tests := []struct {
		name  string
		extra map[string]any
		want  map[string]any
	}{
		{"defaults", nil, map[string]any{"network": "global/networks/default",
			"accessConfigs": []any{map[string]any{"type": "ONE_TO_ONE_NAT", "name": "External NAT"}}}},
		{"custom network, no external IP", map[string]any{"network": "vpc-a", "subnetwork": "workloads", "external_ip": false},
			map[string]any{"network": "global/networks/vpc-a", "subnetwork": "regions/us-central1/subnetworks/workloads"}},
		{"shared VPC paths", map[string]any{"network": "projects/host/global/networks/shared",
			"subnetwork": "projects/host/regions/us-central1/subnetworks/ws", "external_ip": true},
			map[string]any{"network": "projects/host/global/networks/shared", "subnetwork": "projects/host/regions/us-central1/subnetworks/ws",
				"accessConfigs": []any{map[string]any{"type": "ONE_TO_ONE_NAT", "name": "External NAT"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			var nics any
			w.compute.OnDeleted = func(inst fakecloud.Instance) { nics = inst.Body["networkInterfaces"] }
			if _, err := w.run(t.Context(), t, w.args(1, tc.extra)); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if diff := cmp.Diff([]any{tc.want}, nics); diff != "" {
				t.Errorf("networkInterfaces (-want +got)\n%s", diff)
			}
		})
	}
}
