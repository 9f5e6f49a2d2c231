package publishresults

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/envconfig"
	"github.com/cspipe/cspipe/internal/fnutil"
	"github.com/cspipe/cspipe/internal/fnutil/fnutiltest"
	"github.com/cspipe/cspipe/internal/publish/pubsubtopic"
	"github.com/cspipe/cspipe/internal/records"
)

type stack struct {
	url   string
	store *blob.GCS
	ps    *pstest.Server
}

// newStack serves PublishResults over HTTP against fake-gcs-server and pstest, through the real
// storage and pubsub/v2 clients.
func newStack(t *testing.T, env map[string]string) *stack {
	t.Helper()
	_, sc := fnutiltest.FakeGCS(t, "results")
	ps := pstest.NewServerWithAddress("127.0.0.1:0")
	t.Cleanup(func() { ps.Close() })
	conn, err := grpc.NewClient(ps.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := pubsub.NewClient(t.Context(), "secundus", option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	if _, err := pc.TopicAdminClient.CreateTopic(t.Context(), &pubsubpb.Topic{Name: "projects/secundus/topics/results"}); err != nil {
		t.Fatal(err)
	}
	pub := pc.Publisher("results")
	t.Cleanup(pub.Stop)
	var cfg Config
	if err := envconfig.Load(&cfg, envconfig.MapEnv(env)); err != nil {
		t.Fatal(err)
	}
	f, err := New(cfg, Deps{Store: blob.NewGCS(sc), Topic: pubsubtopic.New(pub), Log: fnutil.DiscardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return &stack{url: fnutiltest.Serve(t, f.Handle), store: blob.NewGCS(sc), ps: ps}
}

func testEnv() map[string]string {
	return map[string]string{"CSPIPE_RESULTS_BUCKET": "results", "CSPIPE_PROJECT": "secundus",
		"CSPIPE_RESULTS_TOPIC": "projects/secundus/topics/results", "CSPIPE_PUBLISH_CHUNK": "3", "CSPIPE_MAX_EVENT_AGE": "0"}
}

func (s *stack) put(t *testing.T, name, data string) int64 {
	t.Helper()
	a, err := s.store.Write(t.Context(), "results", name, blob.Object{Data: []byte(data), ContentType: "application/json"}, blob.Cond{})
	if err != nil {
		t.Fatal(err)
	}
	return a.Generation
}

func (s *stack) send(t *testing.T, id, name string, gen int64) {
	t.Helper()
	if err := fnutiltest.Send(t.Context(), s.url, fnutiltest.StorageEvent(id, "results", name, gen, 1, time.Now())); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func TestHTTPRedeliveryPublishesOnce(t *testing.T) {
	s := newStack(t, testEnv())
	var lines []string
	for i := range 8 {
		b, _ := json.Marshal(records.Record{RunID: "batch-1", Image: fmt.Sprintf("im%d.jpg", i), Status: records.StatusOK})
		lines = append(lines, string(b))
	}
	rg := s.put(t, "runs/batch-1/results.jsonl", strings.Join(lines, "\n")+"\n")
	sg := s.put(t, "runs/batch-1/summary.json", `{"run_id":"batch-1","shard":0,"shard_count":1,"status":"ok","images":8,"succeeded":8}`)
	s.send(t, "r", "runs/batch-1/results.jsonl", rg) // ignored: not a summary
	s.send(t, "s", "runs/batch-1/summary.json", sg)
	s.send(t, "s", "runs/batch-1/summary.json", sg) // redelivery
	s.send(t, "s", "runs/batch-1/summary.json", sg)
	s.send(t, "m", "runs/batch-1/published.json", 1) // the marker's own finalize: ignored
	msgs := s.ps.Messages()
	var got []string
	for _, m := range msgs {
		if m.OrderingKey != "batch-1" || m.Attributes[records.AttrRunID] != "batch-1" {
			t.Errorf("message %s: ordering key %q attrs %v", m.Data, m.OrderingKey, m.Attributes)
		}
		got = append(got, m.Attributes[records.AttrKind]+":"+m.Attributes[records.AttrImage])
	}
	want := []string{"image:im0.jpg", "image:im1.jpg", "image:im2.jpg", "image:im3.jpg", "image:im4.jpg",
		"image:im5.jpg", "image:im6.jpg", "image:im7.jpg", "summary:"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("messages (-want +got):\n%s", d)
	}
	if string(msgs[0].Data) != lines[0] {
		t.Errorf("first message data %s, want %s", msgs[0].Data, lines[0])
	}
}

func TestHTTPFailedShardSummary(t *testing.T) {
	s := newStack(t, testEnv())
	sg := s.put(t, "runs/batch-2/shard-001/summary.json",
		`{"run_id":"batch-2","shard":1,"shard_count":2,"status":"failed","error":"VM timed out","source":"workflow"}`)
	s.send(t, "f", "runs/batch-2/shard-001/summary.json", sg)
	s.send(t, "f", "runs/batch-2/shard-001/summary.json", sg)
	msgs := s.ps.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	want := map[string]string{"run_id": "batch-2", "kind": "summary", "status": "failed", "shard": "1", "index": "summary"}
	if d := cmp.Diff(want, msgs[0].Attributes); d != "" {
		t.Errorf("attributes (-want +got):\n%s", d)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		topic, want string
		ok          bool
	}{
		{"results", "results", true},
		{"projects/secundus/topics/results", "results", true},
		{"projects/other/topics/results", "", false},
		{"projects/secundus/subscriptions/results", "", false},
	}
	for _, tc := range tests {
		got, err := Config{Project: "secundus", ResultsTopic: tc.topic}.topicID()
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("topicID(%q) = %q, %v", tc.topic, got, err)
		}
	}
	var cfg Config
	if err := envconfig.Load(&cfg, envconfig.MapEnv(nil)); err == nil {
		t.Error("empty environment accepted")
	}
	env := testEnv()
	env["CSPIPE_PUBLISH_CHUNK"] = "0"
	if err := envconfig.Load(&cfg, envconfig.MapEnv(env)); err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg, Deps{Store: blob.NewMemory(), Topic: pubsubtopic.New(&pubsub.Publisher{})}); err == nil {
		t.Error("chunk 0 accepted")
	}
}

// TestFromEnv builds the deployed function from the environment with emulator hosts set.
func TestFromEnv(t *testing.T) {
	ps := pstest.NewServerWithAddress("127.0.0.1:0")
	defer ps.Close()
	t.Setenv("PUBSUB_EMULATOR_HOST", ps.Addr)
	t.Setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:1")
	if f, err := fromEnv(t.Context(), envconfig.MapEnv(testEnv())); err != nil || f == nil {
		t.Fatalf("fromEnv: %v", err)
	}
	env := testEnv()
	env["CSPIPE_RESULTS_TOPIC"] = "projects/elsewhere/topics/results"
	if _, err := fromEnv(t.Context(), envconfig.MapEnv(env)); err == nil {
		t.Error("topic of another project accepted")
	}
}
