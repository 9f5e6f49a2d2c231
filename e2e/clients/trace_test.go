package clients

import (
	"context"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"

	"github.com/cspipe/cspipe/infra/local/stack"
)

// TestTraceNamesTheStage checks the report a test prints when its results do not all arrive
// (stack.TraceUploads): an object that was never uploaded is missing from the first stage, and an
// upload ScheduleRun does not batch (a text file) is stored and notified but never claimed.
func TestTraceNamesTheStage(t *testing.T) {
	needStack(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	sc, err := storage.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	w := sc.Bucket(stack.InputBucket).Object("trace/notes.txt").NewWriter(ctx)
	w.ContentType = "text/plain"
	if _, err := w.Write([]byte("not an image")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	names := []string{"trace/absent.jpg", "trace/notes.txt"}
	var got string
	for got = shared.TraceUploads(ctx, names); !strings.Contains(got, "notified (OBJECT_FINALIZE on gcs-notifications): 1 of 2"); got = shared.TraceUploads(ctx, names) {
		if ctx.Err() != nil {
			t.Fatalf("the notification of trace/notes.txt never showed:\n%s", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, want := range []string{
		"stored: 1 of 2 in gs://" + stack.InputBucket + " (missing: trace/absent.jpg)",
		"claimed by ScheduleRun: 0 of 2",
		"schedule-run attempts: ", "publish-results attempts: ", "awaiting the function's answer",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("trace lacks %q:\n%s", want, got)
		}
	}
}
