package stack

import (
	"context"
	"testing"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/testing/protocmp"
)

// The notifier's front publishes the notifications of notified buckets only, keeps the message
// ids in request order, and leaves other calls alone.
func TestNotificationsOnlyForNotifiedBuckets(t *testing.T) {
	f := notificationsOnlyFor([]string{"in", "results"})
	var published []*pubsubpb.PubsubMessage
	handler := func(ctx context.Context, req any) (any, error) {
		pr := req.(*pubsubpb.PublishRequest)
		published = append(published, pr.Messages...)
		var ids []string
		for _, m := range pr.Messages {
			ids = append(ids, "id-"+m.Attributes["objectId"])
		}
		return &pubsubpb.PublishResponse{MessageIds: ids}, nil
	}
	msg := func(bucket, object string) *pubsubpb.PubsubMessage {
		return &pubsubpb.PubsubMessage{Attributes: map[string]string{"bucketId": bucket, "objectId": object}}
	}
	info := &grpc.UnaryServerInfo{FullMethod: pubsubpb.Publisher_Publish_FullMethodName}
	req := &pubsubpb.PublishRequest{Topic: "projects/p/topics/n", Messages: []*pubsubpb.PubsubMessage{
		msg("state", "claims/a"), msg("in", "a.jpg"), msg("state", "batches/x/items/a"), msg("results", "runs/r/x"),
	}}
	resp, err := f(t.Context(), req, info, handler)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"", "id-a.jpg", "", "id-runs/r/x"}, resp.(*pubsubpb.PublishResponse).MessageIds); diff != "" {
		t.Errorf("message ids (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]*pubsubpb.PubsubMessage{msg("in", "a.jpg"), msg("results", "runs/r/x")}, published, protocmp.Transform()); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}

	published = nil
	if _, err := f(t.Context(), &pubsubpb.PublishRequest{Messages: []*pubsubpb.PubsubMessage{msg("state", "head.json")}}, info, handler); err != nil {
		t.Fatal(err)
	}
	if len(published) != 0 {
		t.Errorf("a call with only unnotified buckets published %d messages", len(published))
	}
	other := &pubsubpb.ListTopicsRequest{Project: "projects/p"}
	called := false
	if _, err := f(t.Context(), other, &grpc.UnaryServerInfo{FullMethod: pubsubpb.Publisher_ListTopics_FullMethodName},
		func(ctx context.Context, req any) (any, error) { called = req == other; return nil, nil }); err != nil || !called {
		t.Errorf("another call: passed on %v, %v", called, err)
	}
}
