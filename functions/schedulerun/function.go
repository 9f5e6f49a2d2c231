package schedulerun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"cloud.google.com/go/storage"
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/cspipe/cspipe/internal/batch"
	"github.com/cspipe/cspipe/internal/batch/computevms"
	"github.com/cspipe/cspipe/internal/batch/workflowexec"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/envconfig"
	"github.com/cspipe/cspipe/internal/events"
	"github.com/cspipe/cspipe/internal/fnutil"
)

// EntryPoint is the name the function is registered and deployed under.
const EntryPoint = "ScheduleRun"

// Timeout is how long one invocation may run when deployed (the Terraform module's timeout_seconds);
// the local stack gives each invocation the same deadline.
const Timeout = 2 * time.Minute

type blobStore = blob.Store

// Deps are the function's clients, built by the caller.
type Deps struct {
	// Store reaches the state bucket and the results bucket (failed summaries of dead runs).
	Store blob.Store
	// PinStore reaches the pin pointer's bucket; it defaults to Store.
	PinStore blob.Store
	// Executions starts workflow executions.
	Executions batch.Executions
	// VMs lets the sweeper delete the VMs of runs that are over (Config.Project, Config.Zone);
	// nil leaves them to their maxRunDuration. Deployed: computevms with the function's account,
	// which holds compute.instances.get and .delete on cspipe-… instances only.
	VMs batch.VMs
	// Log defaults to a JSON logger on stderr.
	Log *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Function schedules uploads into batch runs. Build it with New.
type Function struct {
	cfg   Config
	sched *batch.Scheduler
	log   *slog.Logger
}

// New checks cfg and returns a Function over deps.
func New(cfg Config, deps Deps) (*Function, error) {
	if deps.Store == nil || deps.Executions == nil {
		return nil, errors.New("schedulerun: Store and Executions are required")
	}
	if deps.PinStore == nil {
		deps.PinStore = deps.Store
	}
	img, err := cfg.imageSource(deps.PinStore)
	if err != nil {
		return nil, fmt.Errorf("schedulerun: %w", err)
	}
	opt := cfg.options()
	opt.Now = deps.Now
	opt.VMs = deps.VMs
	s, err := batch.New(deps.Store, deps.Executions, img, opt)
	if err != nil {
		return nil, fmt.Errorf("schedulerun: %w", err)
	}
	log := deps.Log
	if log == nil {
		log = fnutil.NewLogger(os.Stderr, EntryPoint, slog.LevelInfo)
	}
	return &Function{cfg: cfg, sched: s, log: log}, nil
}

// Handle is the CloudEvent entry point: decode the finalize event, schedule the object, map the
// error (permanent: ack; otherwise: redeliver).
func (f *Function) Handle(ctx context.Context, e event.Event) error {
	return fnutil.Handle(ctx, f.log, e, f.cfg.MaxEventAge, func(ctx context.Context, log *slog.Logger) error {
		obj, err := events.ObjectFinalized(e)
		if err != nil {
			return err
		}
		log = log.With(fnutil.KeyBucket, obj.Bucket, fnutil.KeyObject, obj.Name, fnutil.KeyGeneration, obj.Generation)
		res, err := f.sched.Schedule(ctx, batch.Object{Bucket: obj.Bucket, Name: obj.Name,
			Generation: obj.Generation, ContentType: obj.ContentType})
		if res.RunID != "" {
			log = log.With(fnutil.KeyRunID, res.RunID)
		}
		if err != nil {
			return err
		}
		if res.Outcome == batch.Ignored {
			log.InfoContext(ctx, "upload ignored", "reason", res.Reason)
			return nil
		}
		log.InfoContext(ctx, "upload batched", "batch_id", res.BatchID, "duplicate", res.Duplicate,
			"moved", res.Moved, "opened", res.Opened, "started", res.Started, "execution", res.Execution)
		if res.Swept != nil || res.SweepErr != nil {
			f.logSweep(ctx, log, res.Swept, res.SweepErr)
		}
		return nil
	})
}

// Sweep runs the sweeper once (internal/batch, "Sweeper"): runs whose start was abandoned or
// whose execution died are resumed or failed with a message. The local stack calls it on a
// timer; on Google Cloud every event that opens a batch, or finds the open one overdue, sweeps.
func (f *Function) Sweep(ctx context.Context) (batch.SweepReport, error) {
	rep, err := f.sched.Sweep(ctx)
	f.logSweep(ctx, f.log, &rep, err)
	return rep, err
}

func (f *Function) logSweep(ctx context.Context, log *slog.Logger, rep *batch.SweepReport, err error) {
	if err != nil {
		log.WarnContext(ctx, "sweep failed", "error", err.Error())
	}
	if rep == nil {
		return
	}
	for _, id := range rep.Resumed {
		log.InfoContext(ctx, "run resumed by the sweeper", fnutil.KeyRunID, batch.RunID(id), "batch_id", id)
	}
	for _, id := range rep.Failed {
		log.WarnContext(ctx, "run failed: marked by the sweeper", fnutil.KeyRunID, batch.RunID(id), "batch_id", id)
	}
	for _, vm := range rep.DeletedVMs {
		log.WarnContext(ctx, "VM left by an ended run deleted by the sweeper", "vm", vm)
	}
	for _, vm := range rep.ForeignVMs {
		log.WarnContext(ctx, "VM named like a run's belongs to another run or shard; not deleted", "vm", vm)
	}
}

func init() {
	functions.CloudEvent(EntryPoint, fnutil.Deployed(EntryPoint, func(ctx context.Context) (fnutil.Handler, error) {
		return fromEnv(ctx, os.Getenv)
	}))
}

// fromEnv reads Config and builds the production clients.
func fromEnv(ctx context.Context, getenv envconfig.Getenv) (*Function, error) {
	var cfg Config
	if err := envconfig.Load(&cfg, getenv); err != nil {
		return nil, err
	}
	sc, err := storage.NewClient(ctx, storage.WithJSONReads())
	if err != nil {
		return nil, fmt.Errorf("storage client: %w", err)
	}
	ec, err := workflowexec.Dial(ctx, cfg.ExecutionsEndpoint)
	if err != nil {
		sc.Close()
		return nil, err
	}
	vms, err := computevms.NewDefault(cfg.ComputeEndpoint, cfg.Project, cfg.Zone)
	if err != nil {
		sc.Close()
		ec.Close()
		return nil, err
	}
	f, err := New(cfg, Deps{Store: blob.NewGCS(sc), Executions: workflowexec.New(ec), VMs: vms})
	if err != nil {
		sc.Close()
		ec.Close()
		return nil, err
	}
	return f, nil
}
