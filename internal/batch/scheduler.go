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

// Executions starts Workflows executions. The production implementation wraps the Executions
// API client (package workflowexec); tests use a fake gRPC server with the real client.
type Executions interface {
	// Create starts an execution of workflow (projects/P/locations/L/workflows/W) with a JSON
	// argument and labels, and returns the execution's resource name.
	Create(ctx context.Context, workflow, argument string, labels map[string]string) (string, error)
	// FindByLabel returns the name of an execution of workflow labelled key=value, or "" if none.
	FindByLabel(ctx context.Context, workflow, key, value string) (string, error)
}

// Options configure a Scheduler.
type Options struct {
	// InputBucket is the bucket whose uploads are batched; it also holds the state (_cspipe/).
	InputBucket string
	// Window is the batch window (whole seconds, at least one second).
	Window time.Duration
	// Grace is how long after a window's end the workflow waits before the workload lists the
	// batch (not_before = window end + Grace). Items are accepted until window end + Grace/2.
	Grace time.Duration
	// Lease is how long a "pending" run belongs to the event that is starting it.
	Lease time.Duration
	// Workflow is the workflow resource name, projects/P/locations/L/workflows/W.
	Workflow string
	// Run is the configured part of every execution argument.
	Run RunTemplate
	// Now is the clock (time.Now when nil).
	Now func() time.Time
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
	case opt.Window < time.Second || opt.Window%time.Second != 0:
		return nil, fmt.Errorf("batch: window %s must be whole seconds, at least 1s", opt.Window)
	case opt.Grace < 2*time.Second:
		return nil, fmt.Errorf("batch: grace %s is shorter than 2s", opt.Grace)
	case opt.Lease < time.Second:
		return nil, fmt.Errorf("batch: lease %s is shorter than 1s", opt.Lease)
	case !validWorkflowName(opt.Workflow):
		return nil, fmt.Errorf("batch: workflow %q is not projects/P/locations/L/workflows/W", opt.Workflow)
	}
	if err := opt.Run.Validate(); err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	if opt.Now == nil {
		opt.Now = time.Now
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
	Moved     bool   // the claim was moved to a later batch (late item)
	Started   bool   // this call started the batch's execution
	Execution string // the execution name, when this call started or found it
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
	if len(claimName(key)) > maxObjectName || len(itemName("20060102-150405", key)) > maxObjectName {
		return Result{}, errclass.Permanent(fmt.Errorf("object name %q is too long to track (escaped %d bytes)", obj.Name, len(key)))
	}
	c, err := s.claim(ctx, obj, key)
	if err != nil {
		return Result{}, err
	}
	res := Result{Outcome: Batched, BatchID: c.rec.BatchID, RunID: RunID(c.rec.BatchID), Duplicate: !c.fresh}
	if c, err = s.ensureItem(ctx, obj, key, c); err != nil {
		return res, err
	}
	if c.moved {
		res.Moved, res.BatchID, res.RunID = true, c.rec.BatchID, RunID(c.rec.BatchID)
	}
	started, execName, err := s.ensureRun(ctx, c.rec.BatchID, key)
	res.Started, res.Execution = started, execName
	return res, err
}

// ignoreReason says why obj is not an upload to batch, or "" if it is one.
func (s *Scheduler) ignoreReason(obj Object) string {
	switch {
	case obj.Bucket != s.opt.InputBucket:
		return "not the input bucket"
	case strings.HasPrefix(obj.Name, StatePrefix) || strings.HasPrefix(obj.Name, RunsPrefix):
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

// itemDeadline is the last moment an item may be added to batchID.
func (s *Scheduler) itemDeadline(batchID string) (time.Time, error) {
	start, err := windowOf(batchID)
	if err != nil {
		return time.Time{}, err
	}
	return start.Add(s.opt.Window + s.opt.Grace/2), nil
}

// notBefore is when the workflow may list batchID's items.
func (s *Scheduler) notBefore(batchID string) (time.Time, error) {
	start, err := windowOf(batchID)
	if err != nil {
		return time.Time{}, err
	}
	return start.Add(s.opt.Window + s.opt.Grace), nil
}
