package stack

import (
	"context"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc"
)

// notifiedBuckets are the buckets with a notification configuration: the buckets of the
// Eventarc storage triggers (every storageTrigger names one of them; a test checks it). On
// Google Cloud a bucket without one publishes nothing, so the state bucket's bookkeeping (a claim
// and an item per upload) sends no events; fake-gcs-server notifies for every bucket, and the
// notifier's Pub/Sub front drops the rest (notificationsOnlyFor).
var notifiedBuckets = []string{InputBucket, ModelBucket, ResultsBucket}

// notificationsOnlyFor passes on the messages of a Publish call whose bucketId attribute names
// one of buckets and drops the others, answering for them with an empty message id, as if the
// object's bucket had no notification configuration.
func notificationsOnlyFor(buckets []string) grpc.UnaryServerInterceptor {
	keep := map[string]bool{}
	for _, b := range buckets {
		keep[b] = true
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		pr, ok := req.(*pubsubpb.PublishRequest)
		if !ok || info.FullMethod != pubsubpb.Publisher_Publish_FullMethodName {
			return handler(ctx, req)
		}
		var kept []*pubsubpb.PubsubMessage
		var at []int
		for i, m := range pr.Messages {
			if keep[m.GetAttributes()["bucketId"]] {
				kept = append(kept, m)
				at = append(at, i)
			}
		}
		if len(kept) == len(pr.Messages) {
			return handler(ctx, req)
		}
		ids := make([]string, len(pr.Messages))
		if len(kept) > 0 {
			resp, err := handler(ctx, &pubsubpb.PublishRequest{Topic: pr.Topic, Messages: kept})
			if err != nil {
				return nil, err
			}
			for j, id := range resp.(*pubsubpb.PublishResponse).GetMessageIds() {
				ids[at[j]] = id
			}
		}
		return &pubsubpb.PublishResponse{MessageIds: ids}, nil
	}
}
