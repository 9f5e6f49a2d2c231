package schedulerun

import (
	"context"
	"os"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/cspipe/cspipe/internal/fnutil"
)

// SweepEntryPoint is the sweeper's entry point: the same code and configuration as ScheduleRun,
// deployed a second time behind a Pub/Sub topic that Cloud Scheduler publishes to every few
// minutes, so a run that died is resumed or failed with a message even when no upload follows it.
const SweepEntryPoint = "SweepRuns"

// SweepTimeout is how long one SweepRuns invocation may run when deployed (timeout_seconds); the
// local stack's sweeper gives each sweep the same deadline.
const SweepTimeout = 2 * time.Minute

// Sweeper runs one sweep per event, whatever the event says.
type Sweeper struct{ F *Function }

var _ fnutil.Handler = Sweeper{}

// Handle implements fnutil.Handler. A failed sweep is logged and acked: the next tick sweeps
// again, and redelivering a tick would only pile sweeps up.
func (s Sweeper) Handle(ctx context.Context, _ event.Event) error {
	_, _ = s.F.Sweep(ctx)
	return nil
}

func init() {
	functions.CloudEvent(SweepEntryPoint, fnutil.Deployed(SweepEntryPoint, func(ctx context.Context) (fnutil.Handler, error) {
		f, err := fromEnv(ctx, os.Getenv)
		if err != nil {
			return nil, err
		}
		return Sweeper{F: f}, nil
	}))
}
