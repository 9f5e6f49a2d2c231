package fnutil

import (
	"context"
	"fmt"
	"sync"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Handler is what a function adapter exposes: one CloudEvent in, ack (nil) or redeliver (error).
type Handler interface {
	Handle(ctx context.Context, e event.Event) error
}

// Deployed returns the CloudEvent function to register in init for a deployed function: the
// first event builds the handler with build (configuration from the environment, production
// clients), once per instance, so init itself does no I/O. A build failure is reported on every
// event as an error (redelivered), naming the entry point.
func Deployed(entryPoint string, build func(ctx context.Context) (Handler, error)) func(context.Context, event.Event) error {
	var (
		once sync.Once
		h    Handler
		err  error
	)
	return func(ctx context.Context, e event.Event) error {
		// Clients outlive the first event, so they are built with a context of their own.
		once.Do(func() { h, err = build(context.WithoutCancel(ctx)) })
		if err != nil {
			return fmt.Errorf("%s is not configured: %w", entryPoint, err)
		}
		return h.Handle(ctx, e)
	}
}
