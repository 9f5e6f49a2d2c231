// Package executions serves the Cloud Workflows Executions gRPC API (create, get, list, cancel)
// over the local engine, so the real cloud.google.com/go/workflows/executions/apiv1 client can
// start executions of the deployed YAML and read their results. The local stack embeds it:
//
//	srv := executions.NewServer(map[string]*engine.Workflow{"launch": wf}, executions.WithEngine(eng))
//	g := grpc.NewServer(); srv.Register(g); go g.Serve(lis); defer srv.Close()
//
// IAM is not checked here: the local stack wraps the gRPC server in an interceptor of its local
// IAM (workflows.invoker; infra/local/iam.GRPCAuth). Other differences from the real service: no revisions (workflow_revision_id is fixed), no
// step history or call logs, list ignores filter and order_by, and CancelExecution returns once
// the engine's on_cancel cleanup has finished (the execution is CANCELLED by then).
package executions

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"cloud.google.com/go/workflows/executions/apiv1/executionspb"

	"github.com/cspipe/cspipe/workflows/engine"
	"github.com/cspipe/cspipe/workflows/expr"
)

// RevisionID is the workflow_revision_id of every local execution.
const RevisionID = "000001-local"

// Server implements executionspb.ExecutionsServer.
type Server struct {
	executionspb.UnimplementedExecutionsServer

	eng       *engine.Engine
	log       *slog.Logger
	now       func() time.Time
	workflows map[string]*engine.Workflow

	base context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu    sync.Mutex
	execs map[string]*run
	order []string // names, oldest first
}

var _ executionspb.ExecutionsServer = (*Server)(nil)

type run struct {
	pb     *executionspb.Execution // guarded by Server.mu
	cancel context.CancelFunc
	done   chan struct{}
}

// Option configures a Server.
type Option func(*Server)

// WithEngine sets the engine executions run on (default: engine.New(), Google's endpoints).
func WithEngine(e *engine.Engine) Option { return func(s *Server) { s.eng = e } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithNow sets the clock for start and end times (default time.Now).
func WithNow(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// NewServer serves executions of workflows, keyed by workflow ID (the last segment of
// projects/P/locations/L/workflows/ID). Close it to stop running executions.
func NewServer(workflows map[string]*engine.Workflow, opts ...Option) *Server {
	s := &Server{workflows: workflows, execs: map[string]*run{}, log: slog.New(slog.DiscardHandler), now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if s.eng == nil {
		s.eng = engine.New(engine.WithLogger(s.log))
	}
	s.base, s.stop = context.WithCancel(context.Background())
	return s
}

// Register adds the service to a gRPC server.
func (s *Server) Register(g *grpc.Server) { executionspb.RegisterExecutionsServer(g, s) }

// Close cancels every running execution and waits for them (and their on_cancel cleanup).
func (s *Server) Close() {
	s.stop()
	s.wg.Wait()
}

// Wait blocks until the named execution has finished or ctx is done.
func (s *Server) Wait(ctx context.Context, name string) (*executionspb.Execution, error) {
	s.mu.Lock()
	r, ok := s.execs[name]
	s.mu.Unlock()
	if !ok {
		return nil, status.Errorf(codes.NotFound, "execution %q not found", name)
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return proto.Clone(r.pb).(*executionspb.Execution), nil
}

func workflowID(parent string) (string, bool) {
	parts := strings.Split(parent, "/")
	if len(parts) != 6 || parts[0] != "projects" || parts[2] != "locations" || parts[4] != "workflows" || parts[5] == "" {
		return "", false
	}
	return parts[5], true
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:])
}

// CreateExecution starts an execution of the latest (only) revision of a workflow.
func (s *Server) CreateExecution(_ context.Context, req *executionspb.CreateExecutionRequest) (*executionspb.Execution, error) {
	id, ok := workflowID(req.GetParent())
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "parent %q is not projects/*/locations/*/workflows/*", req.GetParent())
	}
	wf, ok := s.workflows[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "workflow %q not found", req.GetParent())
	}
	argText := req.GetExecution().GetArgument()
	if len(argText) > 32<<10 {
		return nil, status.Errorf(codes.InvalidArgument, "argument is larger than 32 KiB")
	}
	var arg any
	if argText != "" {
		var err error
		if arg, err = expr.DecodeJSON([]byte(argText)); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "argument is not valid JSON: %v", err)
		}
	}
	start := s.now()
	pb := &executionspb.Execution{
		Name:               req.GetParent() + "/executions/" + newID(),
		StartTime:          timestamppb.New(start),
		State:              executionspb.Execution_ACTIVE,
		Argument:           argText,
		WorkflowRevisionId: RevisionID,
		CallLogLevel:       req.GetExecution().GetCallLogLevel(),
		Labels:             req.GetExecution().GetLabels(),
	}
	ctx, cancel := context.WithCancel(s.base)
	r := &run{pb: pb, cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	s.execs[pb.Name] = r
	s.order = append(s.order, pb.Name)
	out := proto.Clone(pb).(*executionspb.Execution)
	s.mu.Unlock()
	s.log.Info("execution started", "event", "workflow.execution_started", "execution", pb.Name)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(r.done)
		defer cancel()
		res, err := s.eng.Run(ctx, wf, arg)
		s.finish(r, res, err, start)
	}()
	return out, nil
}

func (s *Server) finish(r *run, res any, err error, start time.Time) {
	end := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	pb := r.pb
	pb.EndTime, pb.Duration = timestamppb.New(end), durationpb.New(end.Sub(start))
	var we *expr.Error
	switch {
	case err == nil:
		b, jerr := expr.EncodeJSON(res)
		if jerr != nil {
			pb.State = executionspb.Execution_FAILED
			pb.Error = &executionspb.Execution_Error{Payload: fmt.Sprintf("%q", jerr.Error()), Context: "encoding the result"}
			break
		}
		pb.State, pb.Result = executionspb.Execution_SUCCEEDED, string(b)
	case errors.Is(err, engine.ErrCancelled):
		pb.State = executionspb.Execution_CANCELLED
		pb.Error = &executionspb.Execution_Error{Payload: fmt.Sprintf("%q", err.Error()), Context: "cancelled"}
	case errors.As(err, &we):
		payload, _ := expr.EncodeJSON(we.Value)
		pb.State = executionspb.Execution_FAILED
		pb.Error = &executionspb.Execution_Error{Payload: string(payload), Context: we.Error()}
	default:
		pb.State = executionspb.Execution_FAILED
		pb.Error = &executionspb.Execution_Error{Payload: fmt.Sprintf("%q", err.Error()), Context: "engine error"}
	}
	s.log.Info("execution finished", "event", "workflow.execution_finished", "execution", pb.Name, "state", pb.State.String())
}

// GetExecution returns an execution.
func (s *Server) GetExecution(_ context.Context, req *executionspb.GetExecutionRequest) (*executionspb.Execution, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.execs[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "execution %q not found", req.GetName())
	}
	return proto.Clone(r.pb).(*executionspb.Execution), nil
}

// ListExecutions lists a workflow's executions, newest first. page_size is honoured; filter and
// order_by are not.
func (s *Server) ListExecutions(_ context.Context, req *executionspb.ListExecutionsRequest) (*executionspb.ListExecutionsResponse, error) {
	if _, ok := workflowID(req.GetParent()); !ok {
		return nil, status.Errorf(codes.InvalidArgument, "parent %q is not projects/*/locations/*/workflows/*", req.GetParent())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &executionspb.ListExecutionsResponse{}
	for _, name := range slices.Backward(s.order) {
		if !strings.HasPrefix(name, req.GetParent()+"/executions/") {
			continue
		}
		resp.Executions = append(resp.Executions, proto.Clone(s.execs[name].pb).(*executionspb.Execution))
		if ps := req.GetPageSize(); ps > 0 && int32(len(resp.Executions)) >= ps {
			break
		}
	}
	return resp, nil
}

// CancelExecution cancels an active execution and returns it once it has stopped (including the
// workflow's on_cancel cleanup in this engine).
func (s *Server) CancelExecution(ctx context.Context, req *executionspb.CancelExecutionRequest) (*executionspb.Execution, error) {
	s.mu.Lock()
	r, ok := s.execs[req.GetName()]
	var state executionspb.Execution_State
	if ok {
		state = r.pb.State
	}
	s.mu.Unlock()
	if !ok {
		return nil, status.Errorf(codes.NotFound, "execution %q not found", req.GetName())
	}
	if state != executionspb.Execution_ACTIVE {
		return nil, status.Errorf(codes.FailedPrecondition, "execution %q is %s, not ACTIVE", req.GetName(), state)
	}
	r.cancel()
	select {
	case <-r.done:
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	return s.GetExecution(ctx, &executionspb.GetExecutionRequest{Name: req.GetName()})
}
