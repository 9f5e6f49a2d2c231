package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/cspipe/cspipe/functions/pinimage"
	"github.com/cspipe/cspipe/functions/publishresults"
	"github.com/cspipe/cspipe/functions/registermodel"
	"github.com/cspipe/cspipe/functions/schedulerun"
	"github.com/cspipe/cspipe/infra/local/eventarc"
)

type requestIDKey struct{}

// Concurrent requests to one function each run their own event under their own context. The
// CloudEvents receiver shared by all requests (what the stack served before) failed this: with
// 8 Ps, 800 requests gave tens of events run under another request's context and several never
// run at all.
func TestPerInvocationRunsEachRequestsOwnEvent(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	var handled, mismatched, canceled atomic.Int32
	fn := func(ctx context.Context, e event.Event) error {
		handled.Add(1)
		if id, _ := ctx.Value(requestIDKey{}).(string); id != e.ID() {
			mismatched.Add(1)
		}
		if strings.HasPrefix(e.ID(), "slow-") {
			select {
			case <-time.After(5 * time.Millisecond):
			case <-ctx.Done():
				canceled.Add(1)
			}
		}
		return nil
	}
	h := perInvocation(fn)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, r.Header.Get("ce-id"))))
	}))
	defer func() {
		if !t.Failed() {
			srv.Close() // a stranded request never returns, and Close would wait for it forever
		}
	}()

	const total, burst = 2000, 32
	var failed atomic.Int32
	for start := 0; start < total; start += burst {
		var wg sync.WaitGroup
		for i := start; i < start+burst; i++ {
			wg.Go(func() {
				id := fmt.Sprintf("fast-%d", i)
				if i%4 == 0 {
					id = fmt.Sprintf("slow-%d", i)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(`{}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("ce-specversion", "1.0")
				req.Header.Set("ce-id", id)
				req.Header.Set("ce-type", "t")
				req.Header.Set("ce-source", "s")
				resp, err := srv.Client().Do(req)
				if err != nil {
					failed.Add(1)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					failed.Add(1)
				}
			})
		}
		wg.Wait()
		if failed.Load() != 0 {
			break // a stranded event stays stranded: no need to wait for more
		}
	}
	if handled.Load() < total || mismatched.Load() != 0 || canceled.Load() != 0 || failed.Load() != 0 {
		t.Fatalf("%d requests: %d events handled, %d under another request's context, %d cancelled by another request's answer, %d requests failed",
			total, handled.Load(), mismatched.Load(), canceled.Load(), failed.Load())
	}
}

func TestWithDeadline(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Run("cut off", func(t *testing.T) {
		seen := make(chan error, 1)
		h := withDeadline(log, "F", 50*time.Millisecond, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
			seen <- r.Context().Err()
			w.WriteHeader(http.StatusOK) // too late: must not reach the caller
		}))
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/F", nil))
		if rec.Code != http.StatusGatewayTimeout || !strings.Contains(rec.Body.String(), "F: the invocation did not finish within its 50ms timeout") {
			t.Fatalf("got %d %q, want 504 naming the function and its timeout", rec.Code, rec.Body.String())
		}
		if waited := time.Since(start); waited > 10*time.Second {
			t.Fatalf("answered after %s", waited)
		}
		if err := <-seen; !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the handler's context ended with %v, want the deadline", err)
		}
	})
	t.Run("in time", func(t *testing.T) {
		h := withDeadline(log, "F", time.Minute, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := r.Context().Deadline(); !ok {
				t.Error("the handler's context has no deadline")
			}
			w.Header().Set("X-Answer", "yes")
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, "done")
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/F", nil))
		if rec.Code != http.StatusAccepted || rec.Body.String() != "done" || rec.Header().Get("X-Answer") != "yes" {
			t.Fatalf("got %d %q %v, want the handler's answer unchanged", rec.Code, rec.Body.String(), rec.Header())
		}
	})
	t.Run("panic", func(t *testing.T) {
		h := withDeadline(log, "F", time.Minute, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v, want the handler's panic passed on to the server", r)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/F", nil))
	})
}

// Every function's deadline ends before the local Eventarc stops waiting for its answer, so a
// slow invocation is cut off by its own timeout (and retried once), as on Google Cloud, and never
// delivered a second time while it still runs.
func TestFunctionDeadlinesEndBeforeDelivery(t *testing.T) {
	for name, d := range map[string]time.Duration{
		"PinWorkloadImage": pinimage.Timeout, "RegisterModel": registermodel.Timeout,
		"ScheduleRun": schedulerun.Timeout, "SweepRuns": schedulerun.SweepTimeout, "PublishResults": publishresults.Timeout,
	} {
		if d <= 0 || d >= eventarc.DeliveryTimeout {
			t.Errorf("%s's timeout %s is not within the delivery timeout %s", name, d, eventarc.DeliveryTimeout)
		}
	}
}
