package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
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
		buf := &bufferedResponse{header: http.Header{}}
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
			for k, v := range buf.header {
				w.Header()[k] = v
			}
			w.WriteHeader(buf.status())
			_, _ = w.Write(buf.body.Bytes())
		case <-ctx.Done():
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return // the caller went away; nobody reads an answer
			}
			log.Error("function execution timed out", "function", name, "timeout", timeout.String())
			http.Error(w, fmt.Sprintf("%s: the invocation did not finish within its %s timeout", name, timeout), http.StatusGatewayTimeout)
		}
	})
}

// bufferedResponse holds a handler's answer until withDeadline decides to send it.
type bufferedResponse struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedResponse) status() int {
	if b.code == 0 {
		return http.StatusOK
	}
	return b.code
}
