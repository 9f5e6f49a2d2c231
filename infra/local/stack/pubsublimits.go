package stack

import (
	"context"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Pub/Sub's publish limits (https://cloud.google.com/pubsub/quotas, "Resource limits"), which
// pstest does not enforce: a publish request of at most 10 MiB, at most 1000 messages, each with
// at most 100 attributes, attribute keys of at most 256 bytes, values of at most 1024 bytes, an
// ordering key of at most 1024 bytes, and data or at least one attribute (PubsubMessage
// reference). Where Google's wording is known it is used.
const (
	maxPublishRequestBytes = 10 << 20 // Google's refusal names it: "… exceeds the limit: 10485760 bytes."
	maxPublishMessages     = 1000
	maxAttributes          = 100
	maxAttributeKeyBytes   = 256
	maxAttributeValueBytes = 1024
	maxOrderingKeyBytes    = 1024
)

// pubsubMaxRecv is the front's gRPC receive limit: above the 10 MiB a publish may carry, so that
// such a request reaches publishLimits and gets Google's answer instead of gRPC's default 4 MiB
// refusal (RESOURCE_EXHAUSTED) of a publish Google accepts.
const pubsubMaxRecv = 2 * maxPublishRequestBytes

// maxAckDeadlineSeconds bounds ModifyAckDeadline's ackDeadlineSeconds (0 to 600: the
// subscriptions.modifyAckDeadline reference); pstest takes any value.
const maxAckDeadlineSeconds = 600

// publishLimits refuses, with INVALID_ARGUMENT, a Publish or ModifyAckDeadline that Pub/Sub
// refuses.
func publishLimits() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		switch r := req.(type) {
		case *pubsubpb.PublishRequest:
			if err := checkPublish(r); err != nil {
				return nil, err
			}
		case *pubsubpb.ModifyAckDeadlineRequest:
			if d := r.GetAckDeadlineSeconds(); d < 0 || d > maxAckDeadlineSeconds {
				return nil, status.Errorf(codes.InvalidArgument, "Invalid ack deadline given: %d seconds; it must be between 0 and %d.", d, maxAckDeadlineSeconds)
			}
		}
		return handler(ctx, req)
	}
}

func checkPublish(pr *pubsubpb.PublishRequest) error {
	if n := proto.Size(pr); n > maxPublishRequestBytes {
		return status.Errorf(codes.InvalidArgument, "Request payload size exceeds the limit: %d bytes.", maxPublishRequestBytes)
	}
	if n := len(pr.GetMessages()); n > maxPublishMessages {
		return status.Errorf(codes.InvalidArgument, "The publish request has %d messages; the limit is %d.", n, maxPublishMessages)
	}
	for i, m := range pr.GetMessages() {
		if len(m.GetData()) == 0 && len(m.GetAttributes()) == 0 {
			return status.Errorf(codes.InvalidArgument, "Message %d has neither data nor attributes.", i)
		}
		if n := len(m.GetAttributes()); n > maxAttributes {
			return status.Errorf(codes.InvalidArgument, "Message %d has %d attributes; the limit is %d.", i, n, maxAttributes)
		}
		for k, v := range m.GetAttributes() {
			switch {
			case k == "":
				return status.Errorf(codes.InvalidArgument, "Message %d has an attribute with an empty key.", i)
			case len(k) > maxAttributeKeyBytes:
				return status.Errorf(codes.InvalidArgument, "One of the attributes in the request has a key that is too long. The length is %d characters, but the maximum allowed is %d. Refer to https://cloud.google.com/pubsub/quotas for more information.", len(k), maxAttributeKeyBytes)
			case len(v) > maxAttributeValueBytes:
				return status.Errorf(codes.InvalidArgument, "One of the attributes in the request has a value that is too long. The length is %d characters, but the maximum allowed is %d. Refer to https://cloud.google.com/pubsub/quotas for more information.", len(v), maxAttributeValueBytes)
			}
		}
		if n := len(m.GetOrderingKey()); n > maxOrderingKeyBytes {
			return status.Errorf(codes.InvalidArgument, "Message %d has an ordering key of %d bytes; the limit is %d.", i, n, maxOrderingKeyBytes)
		}
	}
	return nil
}
