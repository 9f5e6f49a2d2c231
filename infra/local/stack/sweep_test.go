package stack

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/cspipe/cspipe/internal/batch"
	"github.com/cspipe/cspipe/internal/publish"
	"github.com/cspipe/cspipe/internal/records"
)

// TestRestartFailsRunThatDiedWithTheStack: a run was in flight (sealed, started) when the stack
// stopped; its execution is gone after the restart. The sweeper fails it, and its failed summary
// with the reason reaches the results topic: nothing silent, nothing pending forever.
func TestRestartFailsRunThatDiedWithTheStack(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(t.Context(), Options{DataDir: dir, SweepEvery: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const id = "20261129-090000-1"
	put := func(name string, v any) {
		b, _ := json.Marshal(v)
		s.GCS.Fake().CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: StateBucket, Name: name, ContentType: "application/json"}, Content: b})
	}
	put(batch.HeadObject(), batch.Head{BatchID: id, Seq: 1, State: batch.HeadSealed, OpenedAt: time.Now().Add(-time.Minute).UTC(), Unfinished: []string{id}})
	put("batches/"+id+"/run.json", batch.RunRecord{BatchID: id, RunID: batch.RunID(id), State: batch.RunStarted, Attempt: 1,
		Execution: WorkflowParent() + "/executions/from-the-last-stack", StartedAt: time.Now().UTC()})
	s.Close()

	s, err = Start(t.Context(), Options{DataDir: dir, SweepEvery: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var got records.Summary
	sub := s.PubSub.Subscriber("projects/" + Secundus.ID + "/subscriptions/" + ResultsSub)
	err = sub.Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		if m.Attributes[records.AttrKind] == "summary" && m.Attributes[records.AttrRunID] == batch.RunID(id) {
			_ = json.Unmarshal(m.Data, &got)
			cancel()
		}
	})
	if got.RunID == "" {
		t.Fatalf("no summary for the dead run on the results topic: %v", err)
	}
	// Let PublishResults finish its bookkeeping before the stack and its data dir go away.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		o, err := s.GCS.Fake().GetObject(ResultsBucket, records.Prefix(batch.RunID(id), 0, 1)+publish.MarkerFile)
		var m publish.Marker
		if err == nil && json.Unmarshal(o.Content, &m) == nil && m.Done {
			break
		}
	}
	if got.Status != records.StatusFailed || got.Source != "sweeper" || !strings.Contains(got.Error, "from-the-last-stack ended GONE") {
		t.Errorf("summary = %+v, want failed by the sweeper naming the gone execution", got)
	}
}
