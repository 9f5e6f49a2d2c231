package pubsubtopic

import (
	"errors"
	"testing"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cspipe/cspipe/internal/publish"
)

func TestPublishOrderedAgainstPstest(t *testing.T) {
	srv := pstest.NewServerWithAddress("127.0.0.1:0")
	defer srv.Close()
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := pubsub.NewClient(t.Context(), "proj", option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.TopicAdminClient.CreateTopic(t.Context(), &pubsubpb.Topic{Name: "projects/proj/topics/results"}); err != nil {
		t.Fatal(err)
	}
	p := c.Publisher("results")
	defer p.Stop()
	topic := New(p)
	var msgs []publish.Message
	var want []string
	for _, d := range []string{"a", "b", "c", "d"} {
		msgs = append(msgs, publish.Message{Data: []byte(d), OrderingKey: "run-1", Attributes: map[string]string{"kind": "image"}})
		want = append(want, d)
	}
	if err := topic.Publish(t.Context(), msgs); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range srv.Messages() {
		got = append(got, string(m.Data))
		if m.OrderingKey != "run-1" || m.Attributes["kind"] != "image" {
			t.Errorf("message %q: key %q attrs %v", m.Data, m.OrderingKey, m.Attributes)
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("messages (-want +got):\n%s", d)
	}

	// A topic that does not exist fails, and the ordering key is resumed for the next call.
	bad := New(c.Publisher("missing"))
	defer bad.p.Stop()
	if err := bad.Publish(t.Context(), msgs[:1]); err == nil {
		t.Error("publishing to a missing topic succeeded")
	}
	err = bad.Publish(t.Context(), msgs[:1])
	var paused pubsub.ErrPublishingPaused
	if err == nil || errors.As(err, &paused) {
		t.Errorf("second publish: %v; want the topic error, not a paused ordering key", err)
	}
}
