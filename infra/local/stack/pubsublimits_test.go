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
	ps := pstest.NewServerWithAddress("127.0.0.1:0")
	defer ps.Close()
	if err := retireListener(t.Context(), ps); err != nil {
		t.Fatal(err)
	}
	g := pubsubFront(ps, nil, nil)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	defer g.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := pubsub.NewClient(t.Context(), "p", option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.TopicAdminClient.CreateTopic(t.Context(), &pubsubpb.Topic{Name: "projects/p/topics/t"}); err != nil {
		t.Fatal(err)
	}
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

func manyAttributes(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[strings.Repeat("a", i+1)] = "v"
	}
	return m
}
