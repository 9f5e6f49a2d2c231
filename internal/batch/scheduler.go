package batch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/errclass"
)

// Executions starts and inspects Workflows executions. The production implementation wraps the
// Executions API client (package workflowexec); tests use a fake gRPC server with the real client.
type Executions interface {
	// Create starts an execution of workflow (projects/P/locations/L/workflows/W) with a JSON
	// argument and labels, and returns the execution's resource name.
	Create(ctx context.Context, workflow, argument string, labels map[string]string) (string, error)
	// FindByLabel returns the name of a live (not failed, not cancelled) execution of workflow
	// labelled key=value, or "" if none.
	FindByLabel(ctx context.Context, workflow, key, value string) (string, error)
	// State returns an execution's state; ErrExecutionNotFound if it does not exist.
	State(ctx context.Context, name string) (ExecutionState, error)
}

// ExecutionState is what the sweeper needs to know about an execution.
type ExecutionState struct {
	// State is the Executions API's state name: ACTIVE, SUCCEEDED, FAILED, CANCELLED, QUEUED.
	State string
	// Error is the execution's error text when it failed.
	Error string
}

// Ended reports whether the execution will do nothing more.
func (e ExecutionState) Ended() bool {
	return e.State == "SUCCEEDED" || e.State == "FAILED" || e.State == "CANCELLED"
}

// ErrExecutionNotFound is returned by Executions.State for an unknown execution.
var ErrExecutionNotFound = errors.New("execution not found")

// Options configure a Scheduler.
type Options struct {
	// InputBucket is the bucket whose uploads are batched.
	InputBucket string
	// StateBucket holds the scheduler's state (head, claims, items, runs); never the input bucket.
	StateBucket string
	// Quiet closes a batch when no upload arrived for this long (whole seconds).
	Quiet time.Duration
	// MaxWait closes a batch this long after its run started, however busy (whole seconds).
	MaxWait time.Duration
	// MaxItems closes a batch once it holds this many items (0: no limit). The workflow checks it
	// at each poll, so uploads of the last poll interval may go past it.
	MaxItems int
	// ImagesPerShard and MaxShards size the run: ceil(items / ImagesPerShard) shards, at most
	// MaxShards (one VM each).
	ImagesPerShard int
	MaxShards      int
	// Lease is how long a "pending" run belongs to the event that is starting it.
	Lease time.Duration
	// MaxAttempts bounds how often a run's start (or a resume) is tried before the sweeper fails
	// it with a message; 0 means 5.
	MaxAttempts int
	// Workflow is the workflow resource name, projects/P/locations/L/workflows/W.
	Workflow string
	// Run is the configured part of every execution argument.
	Run RunTemplate
	// VMs, when set, lets the sweeper delete the VMs a run left behind once its execution is
	// over (Run.Project and Run.Zone are where they are; package doc, "Sweeper"). Without it
	// such VMs run until their maxRunDuration.
	VMs VMs
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// MaxShardsLimit is the largest shard count a run may have (launch.yaml refuses more): Cloud
// Workflows runs at most 20 iterations of a parallel step at once and queues the rest, and a
// queued shard would start only when another ends, against the run's one deadline.
const MaxShardsLimit = 20

// settle is how long the workflow waits between sealing and counting: half the quiet period,
// within 2..10 s. An upload joins a batch only if it writes its item within half of that after
// it saw the batch open (joinLimit), so every item of the batch exists when it is counted.
func (o Options) settle() time.Duration {
	return min(max(o.Quiet/2, 2*time.Second), 10*time.Second).Truncate(time.Second)
}

func (s *Scheduler) joinLimit() time.Duration { return s.opt.settle() / 2 }

// pollSeconds is how often the workflow counts items while waiting: a third of the quiet
// period, 1..10 s.
func (s *Scheduler) pollSeconds() int64 {
	return min(max(int64(s.opt.Quiet/time.Second)/3, 1), 10)
}

// Scheduler assigns uploads to batches and starts one execution per batch.
type Scheduler struct {
	store blob.Store
	exec  Executions
	image ImageSource
	opt   Options
}

// New checks opt and returns a Scheduler over the given store, executions client and image source.
func New(store blob.Store, exec Executions, image ImageSource, opt Options) (*Scheduler, error) {
	switch {
	case store == nil || exec == nil || image == nil:
		return nil, errors.New("batch: store, executions and image source are required")
	case opt.InputBucket == "":
		return nil, errors.New("batch: input bucket is empty")
	case opt.StateBucket == "":
		return nil, errors.New("batch: state bucket is empty")
	case opt.StateBucket == opt.InputBucket:
		return nil, fmt.Errorf("batch: the state bucket must not be the input bucket %q (bookkeeping stays out of the user's bucket)", opt.InputBucket)
	case opt.Quiet < time.Second || opt.Quiet%time.Second != 0:
		return nil, fmt.Errorf("batch: quiet period %s must be whole seconds, at least 1s", opt.Quiet)
	case opt.MaxWait < opt.Quiet || opt.MaxWait%time.Second != 0:
		return nil, fmt.Errorf("batch: max wait %s must be whole seconds, at least the quiet period %s", opt.MaxWait, opt.Quiet)
	case opt.MaxItems < 0:
		return nil, fmt.Errorf("batch: max items %d is negative", opt.MaxItems)
	case opt.ImagesPerShard < 1:
		return nil, fmt.Errorf("batch: images per shard %d is less than 1", opt.ImagesPerShard)
	case opt.MaxShards < 1 || opt.MaxShards > MaxShardsLimit:
		return nil, fmt.Errorf("batch: max shards %d is outside 1..%d", opt.MaxShards, MaxShardsLimit)
	case opt.Lease < time.Second:
		return nil, fmt.Errorf("batch: lease %s is shorter than 1s", opt.Lease)
	case opt.MaxAttempts < 0:
		return nil, fmt.Errorf("batch: max attempts %d is negative", opt.MaxAttempts)
	case !validWorkflowName(opt.Workflow):
		return nil, fmt.Errorf("batch: workflow %q is not projects/P/locations/L/workflows/W", opt.Workflow)
	}
	if err := opt.Run.Validate(); err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MaxAttempts == 0 {
		opt.MaxAttempts = 5
	}
	return &Scheduler{store: store, exec: exec, image: image, opt: opt}, nil
}

func validWorkflowName(s string) bool {
	p := strings.Split(s, "/")
	return len(p) == 6 && p[0] == "projects" && p[2] == "locations" && p[4] == "workflows" &&
		p[1] != "" && p[3] != "" && p[5] != ""
}

// Object is the part of a finalize event the scheduler needs.
type Object struct {
	Bucket      string
	Name        string
	Generation  int64
	ContentType string
}

// Outcome says what Schedule did with an event.
type Outcome string

// Outcomes.
const (
	// Ignored: the object is not an upload to batch (see Result.Reason).
	Ignored Outcome = "ignored"
	// Batched: the object is an item of Result.BatchID (newly or already).
	Batched Outcome = "batched"
)

// Result describes what Schedule did.
type Result struct {
	Outcome   Outcome
	Reason    string // why it was ignored
	BatchID   string
	RunID     string
	Duplicate bool   // the object had been claimed before (duplicate delivery or redelivery)
	Moved     bool   // the claim was moved to a later batch (it missed its batch's seal)
	Opened    bool   // this call opened the batch
	Started   bool   // this call started the batch's execution
	Execution string // the execution name, when this call started or found it
	// Swept is set when this call also ran the sweeper (it opened a batch, or found the open
	// batch overdue); SweepErr is the sweeper's error, which does not fail the event.
	Swept    *SweepReport
	SweepErr error
}

// Schedule handles one finalize event. A returned error is retryable unless errclass marks it
// permanent; every step is idempotent, so retrying the same event is always safe.
func (s *Scheduler) Schedule(ctx context.Context, obj Object) (Result, error) {
	if reason := s.ignoreReason(obj); reason != "" {
		return Result{Outcome: Ignored, Reason: reason}, nil
	}
	if obj.Generation <= 0 {
		return Result{}, errclass.Permanent(fmt.Errorf("object %q has no generation", obj.Name))
	}
	key := objectKey(obj.Name, obj.Generation)
	if len(claimName(key)) > maxObjectName || len(itemName(newBatchID(time.Time{}, 1<<62), key)) > maxObjectName {
		return Result{}, errclass.Permanent(fmt.Errorf("object name %q is too long to track (escaped %d bytes)", obj.Name, len(key)))
	}
	p, err := s.place(ctx, obj, key)
	batchID := p.claim.rec.BatchID
	res := Result{Outcome: Batched, BatchID: batchID, Duplicate: !p.claim.fresh, Moved: p.claim.moved, Opened: p.opened}
	if batchID != "" {
		res.RunID = RunID(batchID)
	}
	if err != nil {
		return res, err
	}
	res.Started, res.Execution, err = s.ensureRun(ctx, batchID, key)
	if err != nil {
		return res, err
	}
	if p.opened || s.overdue(p.head) {
		rep, err := s.Sweep(ctx)
		res.Swept, res.SweepErr = &rep, err
	}
	return res, nil
}

// overdue reports whether the open batch should have been sealed long ago: its workflow died.
func (s *Scheduler) overdue(h *Head) bool {
	return h.open() && s.now().Sub(h.OpenedAt) > s.opt.MaxWait+2*s.opt.Lease+time.Minute
}

// ignoreReason says why obj is not an upload to batch, or "" if it is one.
func (s *Scheduler) ignoreReason(obj Object) string {
	switch {
	case obj.Bucket != s.opt.InputBucket:
		return "not the input bucket"
	case strings.HasPrefix(obj.Name, LegacyStatePrefix) || strings.HasPrefix(obj.Name, RunsPrefix):
		return "pipeline's own object"
	case obj.Name == "" || strings.HasSuffix(obj.Name, "/"):
		return "folder placeholder"
	case !isImage(obj.Name, obj.ContentType):
		return "not an image"
	}
	return ""
}

// now returns the clock's time.
func (s *Scheduler) now() time.Time { return s.opt.Now() }
