package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	executionspb "cloud.google.com/go/workflows/executions/apiv1/executionspb"
	"google.golang.org/api/iterator"

	"github.com/cspipe/cspipe/infra/local/stack"
	"github.com/cspipe/cspipe/internal/records"
)

// TestFailedRunIsNeverSilent drives a failing run the way a user does (upload → ScheduleRun →
// the launch workflow with the argument ScheduleRun built) on the local stack: the pinned image
// lacks what its entrypoint needs, so the shard's VM dies without a summary. The workflow's error
// summary must land in the results bucket (it was refused when ScheduleRun sent the workload's
// storage endpoint as the workflow's, …/storage/v1//storage/v1/b/…), reach the results topic as
// a failed summary with the reason, and the execution's result must say failed.
func TestFailedRunIsNeverSilent(t *testing.T) {
	e := newEnv(t, stack.Options{BatchQuiet: 2 * time.Second})
	ctx := t.Context()

	var mu sync.Mutex
	var summaries []records.Summary
	rctx, stopRecv := context.WithCancel(ctx)
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		sub := e.s.PubSub.Subscriber("projects/" + stack.Secundus.ID + "/subscriptions/" + stack.ResultsSub)
		_ = sub.Receive(rctx, func(_ context.Context, m *pubsub.Message) {
			m.Ack()
			if m.Attributes[records.AttrKind] != "summary" {
				return
			}
			var s records.Summary
			if err := json.Unmarshal(m.Data, &s); err != nil {
				t.Errorf("summary message: %v", err)
				return
			}
			mu.Lock()
			summaries = append(summaries, s)
			mu.Unlock()
		})
	}()
	defer func() { stopRecv(); <-recvDone }()

	// A shell script as entrypoint: the image has no /bin/sh, so it cannot run in its image root.
	img, err := stack.WorkloadImage([]byte("#!/bin/sh\nexit 0\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := e.s.Push(ctx, img, e.s.PrimusRepository(), "broken")
	if err != nil {
		t.Fatal(err)
	}
	e.pinned(ref)
	e.upload(e.secundus, stack.InputBucket, "photos/a.png", photo(1))

	var got records.Summary
	deadline := time.Now().Add(90 * time.Second)
	for got.RunID == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no summary on the results topic: the failed run was silent; where the upload is:\n%s",
				e.s.TraceUploads(t.Context(), []string{"photos/a.png"}))
		}
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		if len(summaries) > 0 {
			got = summaries[0]
		}
		mu.Unlock()
	}
	if got.Status != records.StatusFailed || got.Source != "workflow" || got.Error == "" {
		t.Errorf("summary on the topic = %+v, want failed, written by the workflow, with a reason", got)
	}
	stored := e.summary(got.RunID, time.Second)
	if stored.Status != records.StatusFailed || stored.Error != got.Error {
		t.Errorf("summary.json = %+v, want the failed summary published", stored)
	}

	// The execution's result says failed, with the shard's reason.
	ec, err := e.s.ExecutionsClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	it := ec.ListExecutions(ctx, &executionspb.ListExecutionsRequest{Parent: stack.WorkflowParent(), View: executionspb.ExecutionView_FULL})
	var results []string
	for {
		ex, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, ex.GetState().String()+" "+ex.GetResult())
	}
	if len(results) != 1 {
		t.Fatalf("executions: %q, want one", results)
	}
	var res struct {
		Status string `json:"status"`
		Shards []struct {
			Status       string  `json:"status"`
			SummaryBy    *string `json:"summary_written_by"`
			SummaryError *string `json:"summary_error"`
		} `json:"shards"`
	}
	_, body, _ := strings.Cut(results[0], " ")
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatalf("execution result %q: %v", results[0], err)
	}
	if res.Status != "failed" || len(res.Shards) != 1 || res.Shards[0].SummaryBy == nil || *res.Shards[0].SummaryBy != "workflow" || res.Shards[0].SummaryError != nil {
		t.Errorf("execution = %s, want a failed result whose shard summary the workflow wrote", results[0])
	}
}
