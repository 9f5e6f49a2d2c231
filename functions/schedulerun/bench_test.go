package schedulerun

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/cspipe/cspipe/internal/batch/executionstest"
	"github.com/cspipe/cspipe/internal/batch/workflowexec"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/envconfig"
	"github.com/cspipe/cspipe/internal/fnutil"
	"github.com/cspipe/cspipe/internal/fnutil/fnutiltest"
)

// BenchmarkScheduleRunBurst delivers a burst of 10,000 finalize events for one batch window to
// ScheduleRun's Handle from 64 goroutines (one op = one burst, on a fresh in-memory store), with
// executions started through the real client against the fake executions gRPC server. It reports
// executions started per burst (must be 1), events/s and allocations per event.
func BenchmarkScheduleRunBurst(b *testing.B) {
	const events, workers = 10000, 64
	srv, err := executionstest.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	ec, err := workflowexec.Dial(context.Background(), srv.Addr)
	if err != nil {
		b.Fatal(err)
	}
	defer ec.Close()
	var cfg Config
	env := baseEnv()
	env["CSPIPE_MAX_EVENT_AGE"] = "0"
	if err := envconfig.Load(&cfg, envconfig.MapEnv(env)); err != nil {
		b.Fatal(err)
	}
	evs := make([]event.Event, events)
	for i := range evs {
		evs[i] = fnutiltest.StorageEvent(fmt.Sprint("ev", i), "input", fmt.Sprintf("burst/img-%05d.jpg", i), int64(i+1), 1024, t0)
	}
	var handled, failed atomic.Int64
	var elapsed time.Duration
	var mallocs uint64
	var ms runtime.MemStats
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		b.StopTimer()
		now := t0.Add(time.Duration(n) * time.Hour) // each burst is its own window
		f, err := New(cfg, Deps{Store: blob.NewMemory(), Executions: workflowexec.New(ec), Log: fnutil.DiscardLogger(),
			Now: func() time.Time { return now }})
		if err != nil {
			b.Fatal(err)
		}
		runtime.ReadMemStats(&ms)
		before := ms.Mallocs
		start := time.Now()
		b.StartTimer()
		var wg sync.WaitGroup
		next := atomic.Int64{}
		for range workers {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= events {
						return
					}
					if err := f.Handle(context.Background(), evs[i]); err != nil {
						failed.Add(1)
					}
					handled.Add(1)
				}
			})
		}
		wg.Wait()
		b.StopTimer()
		elapsed += time.Since(start)
		runtime.ReadMemStats(&ms)
		mallocs += ms.Mallocs - before
		b.StartTimer()
	}
	b.StopTimer()
	if failed.Load() != 0 {
		b.Fatalf("%d events failed", failed.Load())
	}
	execs := len(srv.Executions())
	if execs != b.N {
		b.Fatalf("%d executions for %d bursts; want exactly one per burst", execs, b.N)
	}
	b.ReportMetric(float64(execs)/float64(b.N), "executions/burst")
	b.ReportMetric(float64(handled.Load())/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(mallocs)/float64(handled.Load()), "allocs/event")
}
