// Package pubsubtopic adapts a cloud.google.com/go/pubsub/v2 Publisher to publish.Topic.
package pubsubtopic

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/pubsub/v2"

	"github.com/cspipe/cspipe/internal/publish"
)

// Topic publishes through a pubsub/v2 Publisher.
type Topic struct {
	p *pubsub.Publisher
}

var _ publish.Topic = (*Topic)(nil)

// New wraps p and enables message ordering on it (ordering keys are refused otherwise). The
// caller keeps ownership of p and stops it when done.
func New(p *pubsub.Publisher) *Topic {
	p.EnableMessageOrdering = true
	return &Topic{p: p}
}

// Publish implements publish.Topic: it queues every message, then waits for each result. After a
// failure the publisher pauses the failed ordering keys; they are resumed so the next call (a
// retry of the event) can publish again.
func (t *Topic) Publish(ctx context.Context, msgs []publish.Message) error {
	results := make([]*pubsub.PublishResult, len(msgs))
	for i, m := range msgs {
		results[i] = t.p.Publish(ctx, &pubsub.Message{Data: m.Data, Attributes: m.Attributes, OrderingKey: m.OrderingKey})
	}
	var errs []error
	failed := map[string]bool{}
	for i, r := range results {
		if _, err := r.Get(ctx); err != nil {
			errs = append(errs, fmt.Errorf("message %d: %w", i, err))
			failed[msgs[i].OrderingKey] = true
		}
	}
	for key := range failed {
		if key != "" {
			t.p.ResumePublish(key)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("publishing %d of %d messages failed: %w", len(errs), len(msgs), errors.Join(errs[0]))
	}
	return nil
}
