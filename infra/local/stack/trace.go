package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"
	"cloud.google.com/go/workflows/executions/apiv1/executionspb"
	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/cspipe/cspipe/internal/batch"
	"github.com/cspipe/cspipe/internal/publish"
	"github.com/cspipe/cspipe/internal/records"
)

// TraceUploads follows uploads of the input bucket through the pipeline, stage by stage, and
// says in a few lines how far they got: stored, notified on Pub/Sub, delivered to ScheduleRun,
// claimed, written as batch items, their runs (run.json, execution, plan), the shards' results
// and publication marker, and the result messages on the results topic. A test that waited in
// vain prints it, so its failure names the stage where the uploads stopped. It reads the stack's
// state directly (no IAM), and gives up on a part that does not answer within a few seconds
// (a Pub/Sub server that does not answer is itself the finding).
func (s *Stack) TraceUploads(ctx context.Context, names []string) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	fake := s.GCS.Fake()

	gens := map[string]int64{}
	for _, n := range names {
		if o, err := fake.GetObject(InputBucket, n); err == nil {
			gens[n] = o.Generation
		}
	}
	line("stored: %d of %d in gs://%s%s", len(gens), len(names), InputBucket, missing(names, func(n string) bool { return gens[n] != 0 }))

	msgs, ok := s.pubsubMessages(5 * time.Second)
	resultsNotified := map[string]int{} // results bucket object → its OBJECT_FINALIZE notifications
	if !ok {
		line("Pub/Sub: the local server did not answer within 5s (its lock is held): nothing is delivered")
	} else {
		notified := map[string]int{}
		for _, m := range msgs {
			a := m.Attributes
			if a["eventType"] != "OBJECT_FINALIZE" {
				continue
			}
			switch a["bucketId"] {
			case InputBucket:
				notified[a["objectId"]]++
			case ResultsBucket:
				resultsNotified[a["objectId"]]++
			}
		}
		line("notified (OBJECT_FINALIZE on %s): %d of %d%s", notificationsTopic, countIn(names, notified), len(names),
			missing(names, func(n string) bool { return notified[n] > 0 }))
	}
	if s.Eventarc != nil {
		line("eventarc deliveries accepted (all uploads of the stack): schedule-run %d, publish-results %d; dropped: %d, %d",
			s.Eventarc.Delivered("schedule-run"), s.Eventarc.Delivered("publish-results"),
			s.Eventarc.Dropped("schedule-run"), s.Eventarc.Dropped("publish-results"))
		waiting := 0
		for _, t := range []string{"schedule-run", "publish-results"} {
			started, failed := s.Eventarc.Attempts(t)
			waiting += started - failed - s.Eventarc.Delivered(t)
			line("  %s attempts: %d started, %d failed, %d awaiting the function's answer", t, started, failed,
				started-failed-s.Eventarc.Delivered(t))
			if err := s.Eventarc.Stopped(t); err != nil {
				line("  %s trigger STOPPED receiving: %v", t, err)
			}
		}
		if waiting > 0 {
			line("  where the functions' handlers wait (goroutines of this process inside functions/):\n%s", handlerStacks("cspipe/cspipe/functions/", 6))
		}
	}

	byBatch := map[string][]string{}
	claimed := 0
	for _, n := range names {
		g, ok := gens[n]
		if !ok {
			continue
		}
		o, err := fake.GetObject(StateBucket, batch.ClaimObject(n, g))
		if err != nil {
			continue
		}
		var c struct {
			BatchID string `json:"batch_id"`
		}
		if json.Unmarshal(o.Content, &c) == nil && c.BatchID != "" {
			claimed++
			byBatch[c.BatchID] = append(byBatch[c.BatchID], n)
		}
	}
	line("claimed by ScheduleRun: %d of %d", claimed, len(names))
	if o, err := fake.GetObject(StateBucket, batch.HeadObject()); err == nil {
		var h batch.Head
		if json.Unmarshal(o.Content, &h) == nil {
			line("head: batch %s %s (opened %s%s), unfinished %v", h.BatchID, h.State, h.OpenedAt.Format(time.TimeOnly),
				strings.TrimSuffix(" sealed "+h.SealedAt, " sealed "), h.Unfinished)
		}
	}
	batches := make([]string, 0, len(byBatch))
	for id := range byBatch {
		batches = append(batches, id)
	}
	slices.Sort(batches)
	execs := s.executionStates(ctx)
	for _, id := range batches {
		items := 0
		for _, n := range byBatch[id] {
			if _, err := fake.GetObject(StateBucket, batch.ItemObject(id, n, gens[n])); err == nil {
				items++
			}
		}
		runID := batch.RunID(id)
		line("batch %s: %d claimed, %d items written; %s; %s", id, len(byBatch[id]), items, s.traceRun(id, execs), s.tracePlan(id))
		line("  results of %s: %s", runID, s.traceResults(runID, resultsNotified, ok))
		if ok {
			recs, sums := 0, 0
			for _, m := range msgs {
				if m.Attributes["run_id"] != runID {
					continue
				}
				if m.Attributes["kind"] == "summary" {
					sums++
				} else {
					recs++
				}
			}
			line("  published on %s: %d record messages, %d summary messages", ResultsTopic, recs, sums)
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// pubsubMessages returns every message the local Pub/Sub holds, or false if its server lock is
// not free within d.
func (s *Stack) pubsubMessages(d time.Duration) ([]*pstest.Message, bool) {
	ch := make(chan []*pstest.Message, 1)
	go func() { ch <- s.PubSubServer.Messages() }()
	select {
	case m := <-ch:
		return m, true
	case <-time.After(d):
		return nil, false
	}
}

// executionStates maps run ids to their executions' names and states.
func (s *Stack) executionStates(ctx context.Context) map[string]string {
	out := map[string]string{}
	if s.Executions == nil {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := s.Executions.ListExecutions(ctx, &executionspb.ListExecutionsRequest{Parent: WorkflowParent()})
	if err != nil {
		return out
	}
	for _, e := range resp.Executions {
		var arg LaunchArgument
		if json.Unmarshal([]byte(e.Argument), &arg) != nil || arg.RunID == "" {
			continue
		}
		if out[arg.RunID] != "" {
			out[arg.RunID] += ", "
		}
		out[arg.RunID] += fmt.Sprintf("execution %s %s", lastSegment(e.Name), e.State)
	}
	return out
}

func (s *Stack) traceRun(id string, execs map[string]string) string {
	o, err := s.GCS.Fake().GetObject(StateBucket, batch.RunObject(id))
	if err != nil {
		return "no run.json"
	}
	var r batch.RunRecord
	if err := json.Unmarshal(o.Content, &r); err != nil {
		return "run.json unreadable: " + err.Error()
	}
	out := fmt.Sprintf("run.json %s (attempt %d", r.State, r.Attempt)
	if r.State == batch.RunPending {
		out += fmt.Sprintf(", lease of %s until %s", r.Holder, r.LeaseUntil.Format(time.TimeOnly))
	}
	if r.LastError != "" {
		out += ", last error: " + r.LastError
	}
	out += ")"
	if e := execs[r.RunID]; e != "" {
		out += ", " + e
	} else if r.Execution != "" {
		out += ", execution " + lastSegment(r.Execution) + " unknown to the engine"
	}
	return out
}

func (s *Stack) tracePlan(id string) string {
	o, err := s.GCS.Fake().GetObject(StateBucket, batch.PlanObject(id))
	if err != nil {
		return "not sealed and counted yet (no plan.json)"
	}
	var p batch.Plan
	if err := json.Unmarshal(o.Content, &p); err != nil {
		return "plan.json unreadable: " + err.Error()
	}
	return fmt.Sprintf("plan: %d items, %d shards", p.Items, p.ShardCount)
}

// traceResults lists what the run's shards left in the results bucket; when known, an object whose
// OBJECT_FINALIZE notification is not on Pub/Sub (notified, by object name) is marked as such.
func (s *Stack) traceResults(runID string, notified map[string]int, known bool) string {
	objs, _, err := s.GCS.Fake().ListObjectsWithOptions(ResultsBucket, fakestorage.ListOptions{Prefix: records.RunsPrefix + runID + "/"})
	if err != nil {
		return "listing: " + err.Error()
	}
	if len(objs) == 0 {
		return "nothing written"
	}
	var parts []string
	for _, a := range objs {
		rel := strings.TrimPrefix(a.Name, records.RunsPrefix+runID+"/")
		if known && notified[a.Name] == 0 {
			rel += " [no finalize notification]"
		}
		o, err := s.GCS.Fake().GetObject(ResultsBucket, a.Name)
		if err != nil {
			continue
		}
		switch {
		case strings.HasSuffix(a.Name, "/"+records.SummaryFile):
			var sum records.Summary
			_ = json.Unmarshal(o.Content, &sum)
			parts = append(parts, fmt.Sprintf("%s (%s, %d images)", rel, sum.Status, sum.Images))
		case strings.HasSuffix(a.Name, "/"+records.ResultsFile):
			parts = append(parts, fmt.Sprintf("%s (%d lines)", rel, strings.Count(string(o.Content), "\n")))
		case strings.HasSuffix(a.Name, "/"+publish.MarkerFile):
			var m publish.Marker
			_ = json.Unmarshal(o.Content, &m)
			parts = append(parts, fmt.Sprintf("%s (%d lines published, summary published %t, done %t)", rel, m.Published, m.SummaryPublished, m.Done))
		default:
			parts = append(parts, rel)
		}
	}
	return strings.Join(parts, ", ")
}

func countIn(names []string, m map[string]int) int {
	n := 0
	for _, name := range names {
		if m[name] > 0 {
			n++
		}
	}
	return n
}

// missing renders the names that fail has, as " (missing: a, b)", or "".
func missing(names []string, has func(string) bool) string {
	var out []string
	for _, n := range names {
		if !has(n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return " (missing: " + strings.Join(out, ", ") + ")"
}

// handlerStacks returns the stacks of up to most goroutines of this process whose stack names
// within (for the trace: inside one of the functions, which the stack runs in process), showing
// where an event that was delivered but never answered is waiting. Stacks hold code locations
// and argument words, never payloads.
func handlerStacks(within string, most int) string {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 2); err != nil {
		return "    (goroutine profile: " + err.Error() + ")"
	}
	var out []string
	for _, g := range strings.Split(buf.String(), "\n\n") {
		if strings.Contains(g, within) && len(out) < most {
			out = append(out, "    "+strings.ReplaceAll(strings.TrimSpace(g), "\n", "\n    "))
		}
	}
	if len(out) == 0 {
		return "    (none: the handler has returned or runs elsewhere)"
	}
	return strings.Join(out, "\n\n")
}
