package fnutil

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
)

type countingHandler struct{ calls int }

func (c *countingHandler) Handle(context.Context, event.Event) error { c.calls++; return nil }

func TestDeployedBuildsOnce(t *testing.T) {
	builds := 0
	h := &countingHandler{}
	fn := Deployed("X", func(context.Context) (Handler, error) { builds++; return h, nil })
	for range 3 {
		if err := fn(t.Context(), event.New()); err != nil {
			t.Fatal(err)
		}
	}
	if builds != 1 || h.calls != 3 {
		t.Fatalf("builds = %d, calls = %d; want 1 and 3", builds, h.calls)
	}
}

func TestDeployedReportsConfigError(t *testing.T) {
	fn := Deployed("PinWorkloadImage", func(context.Context) (Handler, error) { return nil, errors.New("CSPIPE_X is required but not set") })
	err := fn(t.Context(), event.New())
	if err == nil || !strings.Contains(err.Error(), "PinWorkloadImage is not configured: CSPIPE_X") {
		t.Fatalf("err = %v", err)
	}
}
