// Package engine executes Cloud Workflows YAML locally: the subset of the syntax and standard
// library that cspipe's deployed workflows use, with the documented semantics, so the deployed
// file itself is what the tests run. Anything outside the subset is refused when the workflow is
// loaded (Load), naming the construct and its line.
//
// http.* calls and the googleapis.* connectors go to configurable endpoints (Google by default,
// the local stack in tests), with OAuth2 tokens from an injected token source. Time goes through
// a Clock, so tests run hour-long waits instantly.
//
// One deliberate deviation: when an execution is cancelled, real Workflows stops it without
// running any step; this engine stops it too and then, if the workflow defines a subworkflow
// named on_cancel (CancelHandler), calls it with main's arguments on a fresh context, so that
// the workflow can delete what it created. Real Workflows never calls on_cancel by itself.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/cspipe/cspipe/workflows/expr"
)

// CancelHandler is the subworkflow the engine runs after an execution is cancelled.
const CancelHandler = "on_cancel"

// Default endpoints of the connectors (no trailing slash).
const (
	DefaultComputeEndpoint = "https://compute.googleapis.com/compute/v1"
	DefaultStorageEndpoint = "https://storage.googleapis.com"
)

// Engine runs workflows. It is safe for concurrent use.
type Engine struct {
	httpClient  *http.Client
	tokens      oauth2.TokenSource
	clock       Clock
	log         *slog.Logger
	compute     string
	storage     string
	rewrites    []Rewrite
	env         map[string]string
	cancelGrace time.Duration
	maxDepth    int
	stepLimit   int64
}

// Rewrite sends http.* requests whose URL starts with From to To instead (the local stack's
// stand-ins for Google endpoints).
type Rewrite struct{ From, To string }

// Option configures an Engine.
type Option func(*Engine)

// WithHTTPClient sets the client for http.* calls and connectors (default: a client with a
// 30-minute timeout, the Workflows maximum for one request).
func WithHTTPClient(c *http.Client) Option { return func(e *Engine) { e.httpClient = c } }

// WithTokenSource sets where `auth: {type: OAuth2}` and the connectors get access tokens. Without
// one, requests carry no Authorization header (fine for the local stack).
func WithTokenSource(ts oauth2.TokenSource) Option { return func(e *Engine) { e.tokens = ts } }

// WithClock sets the clock (default: the real one).
func WithClock(c Clock) Option { return func(e *Engine) { e.clock = c } }

// WithLogger sets the logger for sys.log and the engine's own events.
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.log = l } }

// WithComputeEndpoint points googleapis.compute.v1.* at base (e.g. http://127.0.0.1:9100/compute/v1).
func WithComputeEndpoint(base string) Option { return func(e *Engine) { e.compute = base } }

// WithStorageEndpoint points googleapis.storage.v1.* at base (e.g. http://127.0.0.1:4443).
func WithStorageEndpoint(base string) Option { return func(e *Engine) { e.storage = base } }

// WithRewrites adds URL prefix rewrites for http.* calls.
func WithRewrites(r ...Rewrite) Option {
	return func(e *Engine) { e.rewrites = append(e.rewrites, r...) }
}

// WithEnv sets what sys.get_env returns (GOOGLE_CLOUD_PROJECT_ID, GOOGLE_CLOUD_LOCATION, …).
func WithEnv(env map[string]string) Option { return func(e *Engine) { e.env = env } }

// WithCancelGrace bounds how long the on_cancel handler may run (default 10 minutes).
func WithCancelGrace(d time.Duration) Option { return func(e *Engine) { e.cancelGrace = d } }

// WithStepLimit sets how many steps one execution may run before it fails with ErrStepLimit
// (default MaxSteps, Cloud Workflows' limit).
func WithStepLimit(n int64) Option { return func(e *Engine) { e.stepLimit = n } }

// Cloud Workflows' system limits that the engine enforces (the "Quotas and limits" page of
// Workflows): an execution runs at most MaxSteps steps, and a parallel step runs at most
// MaxConcurrentBranches branches or iterations at once and queues the rest.
const (
	MaxSteps              = 100_000
	MaxConcurrentBranches = 20
)

// ErrStepLimit is returned (wrapped) by Run when an execution ran more steps than the limit. Like
// Google's ResourceLimitError it ends the execution: no except block catches it, so nothing after
// it (deleting VMs included) runs.
var ErrStepLimit = errors.New("execution exceeded its step limit")

// New returns an engine.
func New(opts ...Option) *Engine {
	e := &Engine{
		httpClient:  &http.Client{Timeout: 30 * time.Minute},
		clock:       RealClock{},
		log:         slog.New(slog.DiscardHandler),
		compute:     DefaultComputeEndpoint,
		storage:     DefaultStorageEndpoint,
		cancelGrace: 10 * time.Minute,
		maxDepth:    64,
		stepLimit:   MaxSteps,
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

// ErrCancelled is returned (wrapped) by Run when the context was cancelled.
var ErrCancelled = errors.New("execution cancelled")

// Run executes wf's main with argument arg (nil when main takes no parameter) and returns its
// result. A workflow error that nothing caught is returned as *expr.Error; a cancelled context
// as an error wrapping ErrCancelled (and, if on_cancel failed, that error too).
func (e *Engine) Run(ctx context.Context, wf *Workflow, arg any) (any, error) {
	arg, err := expr.Normalize(arg)
	if err != nil {
		return nil, fmt.Errorf("workflow argument: %w", err)
	}
	x := newExecution(e, wf)
	main := wf.subs["main"]
	var args map[string]any
	if len(main.params) > 0 {
		args = map[string]any{main.params[0].name: arg}
	}
	res, err := x.callSub(ctx, main, args, 0)
	if err == nil || ctx.Err() == nil {
		return res, err
	}
	// Cancelled: run the cleanup handler, if any, with the same arguments.
	cerr := fmt.Errorf("%w: %w", ErrCancelled, context.Cause(ctx))
	h, ok := wf.subs[CancelHandler]
	if !ok {
		return nil, cerr
	}
	e.log.Info("running cancel handler", "event", "workflow.on_cancel")
	hctx, stop := context.WithTimeout(context.WithoutCancel(ctx), e.cancelGrace)
	defer stop()
	if _, herr := newExecution(e, wf).callSub(hctx, h, args, 0); herr != nil {
		return nil, fmt.Errorf("%w; %s failed: %w", cerr, CancelHandler, herr)
	}
	return nil, cerr
}
