package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/cspipe/cspipe/infra/local/httpbuf"
)

// withDeadline gives every invocation of a function the deadline it has when deployed (its
// Terraform timeout_seconds, the package's Timeout constant). As on Cloud Run, the caller gets
// 504 when the deadline passes first, the handler's context is cancelled so its calls return, and
// Eventarc retries the event. Without this a local invocation stuck in a call could wait forever,
// where Google Cloud would have cut it off and redelivered.
//
// The handler writes into a buffer and the response is sent once it returns, so a handler that
// finishes after the deadline writes nothing to a connection that has already been answered.
func withDeadline(log *slog.Logger, name string, timeout time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		buf := httpbuf.New()
		done := make(chan struct{})
		var panicked any
		go func() {
			defer close(done)
			defer func() { panicked = recover() }()
			h.ServeHTTP(buf, r.WithContext(ctx))
		}()
		select {
		case <-done:
			if panicked != nil {
				panic(panicked) // let the server log it and drop the connection, as it would have
			}
			buf.Send(w)
		case <-ctx.Done():
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return // the caller went away; nobody reads an answer
			}
			log.Error("function execution timed out", "function", name, "timeout", timeout.String())
			http.Error(w, fmt.Sprintf("%s: the invocation did not finish within its %s timeout", name, timeout), http.StatusGatewayTimeout)
		}
	})
}
