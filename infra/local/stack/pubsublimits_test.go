package stack

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// The local Pub/Sub takes what Pub/Sub takes and refuses what it refuses
// (https://cloud.google.com/pubsub/quotas, resource limits; PubsubMessage: data or an attribute),
// through Google's Go client: pstest enforced no limit, and the front's gRPC default refused
// every publish over 4 MiB (RESOURCE_EXHAUSTED) that Pub/Sub accepts.
func TestPublishLimits(t *testing.T) {
	c := frontClient(t)
	pub := c.Publisher("t")
	defer pub.Stop()
	publish := func(m *pubsub.Message) error {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second) // the client retries a refusal it takes for transient
		defer cancel()
		_, err := pub.Publish(ctx, m).Get(ctx)
		return err
	}

	if err := publish(&pubsub.Message{Data: make([]byte, 6<<20)}); err != nil {
		t.Errorf("a 6 MiB message (Pub/Sub takes up to 10 MiB): %v", err)
	}
	if err := publish(&pubsub.Message{Data: []byte("x"), Attributes: map[string]string{strings.Repeat("k", 256): strings.Repeat("v", 1024)}}); err != nil {
		t.Errorf("an attribute at both limits: %v", err)
	}
	for _, tc := range []struct {
		name string
		req  *pubsubpb.PublishRequest
		msg  string
	}{
		{"request over 10 MiB", &pubsubpb.PublishRequest{Messages: []*pubsubpb.PubsubMessage{{Data: make([]byte, 10<<20)}}},
			"Request payload size exceeds the limit: 10485760 bytes."},
		{"attribute value over 1024 bytes", &pubsubpb.PublishRequest{Messages: []*pubsubpb.PubsubMessage{{Data: []byte("x"), Attributes: map[string]string{"k": strings.Repeat("v", 1025)}}}},
			"has a value that is too long. The length is 1025 characters, but the maximum allowed is 1024."},
		{"attribute key over 256 bytes", &pubsubpb.PublishRequest{Messages: []*pubsubpb.PubsubMessage{{Data: []byte("x"), Attributes: map[string]string{strings.Repeat("k", 257): "v"}}}},
			"has a key that is too long"},
		{"neither data nor attributes", &pubsubpb.PublishRequest{Messages: []*pubsubpb.PubsubMessage{{}}},
			"neither data nor attributes"},
		{"101 attributes", &pubsubpb.PublishRequest{Messages: []*pubsubpb.PubsubMessage{{Data: []byte("x"), Attributes: manyAttributes(101)}}},
			"101 attributes"},
		{"ordering key over 1024 bytes", &pubsubpb.PublishRequest{Messages: []*pubsubpb.PubsubMessage{{Data: []byte("x"), OrderingKey: strings.Repeat("o", 1025)}}},
			"ordering key of 1025 bytes"},
	} {
		// The raw API, so that the client's own batching does not split or refuse first.
		tc.req.Topic = "projects/p/topics/t"
		_, err := c.TopicAdminClient.Publish(t.Context(), tc.req)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want INVALID_ARGUMENT %q", tc.name, err, tc.msg)
		}
	}
}

// ModifyAckDeadline takes 0 to 600 seconds (the subscriptions.modifyAckDeadline reference);
// pstest took any value, so a client extending a lease by more than Pub/Sub allows went unnoticed.
func TestModifyAckDeadlineRange(t *testing.T) {
	c := frontClient(t)
	if _, err := c.SubscriptionAdminClient.CreateSubscription(t.Context(), &pubsubpb.Subscription{Name: "projects/p/subscriptions/s", Topic: "projects/p/topics/t", AckDeadlineSeconds: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TopicAdminClient.Publish(t.Context(), &pubsubpb.PublishRequest{Topic: "projects/p/topics/t", Messages: []*pubsubpb.PubsubMessage{{Data: []byte("x")}}}); err != nil {
		t.Fatal(err)
	}
	pr, err := c.SubscriptionAdminClient.Pull(t.Context(), &pubsubpb.PullRequest{Subscription: "projects/p/subscriptions/s", MaxMessages: 1})
	if err != nil || len(pr.ReceivedMessages) != 1 {
		t.Fatalf("pull: %v, %v", pr, err)
	}
	ack := []string{pr.ReceivedMessages[0].AckId}
	for _, tc := range []struct {
		secs int32
		ok   bool
	}{{0, true}, {600, true}, {601, false}, {-1, false}} {
		err := c.SubscriptionAdminClient.ModifyAckDeadline(t.Context(), &pubsubpb.ModifyAckDeadlineRequest{Subscription: "projects/p/subscriptions/s", AckIds: ack, AckDeadlineSeconds: tc.secs})
		if tc.ok != (err == nil) || (!tc.ok && status.Code(err) != codes.InvalidArgument) {
			t.Errorf("ModifyAckDeadline(%d s): %v, want ok=%v (else INVALID_ARGUMENT)", tc.secs, err, tc.ok)
		}
	}
}

func manyAttributes(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[strings.Repeat("a", i+1)] = "v"
	}
	return m
}

// frontClient serves a pstest server behind the stack's Pub/Sub front on
// a loopback port and returns Google's Go client on it (project p) with
// the topic projects/p/topics/t created; all of it ends with the test.
func frontClient(t *testing.T) *pubsub.Client {
	t.Helper()
	ps := pstest.NewServerWithAddress("127.0.0.1:0")
	t.Cleanup(func() { ps.Close() })
	if err := retireListener(t.Context(), ps); err != nil {
		t.Fatal(err)
	}
	g := pubsubFront(ps, nil, nil)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := pubsub.NewClient(t.Context(), "p", option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.TopicAdminClient.CreateTopic(t.Context(), &pubsubpb.Topic{Name: "projects/p/topics/t"}); err != nil {
		t.Fatal(err)
	}
	return c
}
