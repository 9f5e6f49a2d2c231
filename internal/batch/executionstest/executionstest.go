// Package executionstest is a fake Workflows Executions gRPC server for tests: it records
// CreateExecution calls, answers ListExecutions (with the labels.KEY="VALUE" filter) and
// GetExecution, and can be told to fail. Use it with the real client on a loopback listener.
package executionstest

import (
	"context"
	"fmt"
	"maps"
	"net"
	"regexp"
	"strings"
	"sync"

	"cloud.google.com/go/workflows/executions/apiv1/executionspb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Server is the fake. Its zero value is not usable; call Start.
type Server struct {
	executionspb.UnimplementedExecutionsServer

	// Addr is the loopback host:port the server listens on.
	Addr string

	gs       *grpc.Server
	mu       sync.Mutex
	execs    []*executionspb.Execution
	failNext int
	creates  int
	seq      int // names executions; never reused, even after Forget
}

// Start serves a fake on 127.0.0.1 until Close.
func Start() (*Server, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening: %w", err)
	}
	s := &Server{Addr: lis.Addr().String(), gs: grpc.NewServer()}
	executionspb.RegisterExecutionsServer(s.gs, s)
	go func() { _ = s.gs.Serve(lis) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.gs.Stop() }

// FailNextCreates makes the next n CreateExecution calls fail with codes.Unavailable.
func (s *Server) FailNextCreates(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// Executions returns copies of the executions created so far, in order.
func (s *Server) Executions() []*executionspb.Execution {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*executionspb.Execution, len(s.execs))
	for i, e := range s.execs {
		out[i] = proto.Clone(e).(*executionspb.Execution)
	}
	return out
}

// SetState sets an execution's state (e.g. executionspb.Execution_FAILED) and error text, as
// Workflows would when it ends; it reports whether the execution exists.
func (s *Server) SetState(name string, state executionspb.Execution_State, errText string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.execs {
		if e.GetName() == name {
			e.State = state
			if errText != "" {
				e.Error = &executionspb.Execution_Error{Payload: errText}
			}
			return true
		}
	}
	return false
}

// Forget drops every execution, as a restarted local stack without persisted executions would.
func (s *Server) Forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.execs = nil
}

// CreateCalls counts CreateExecution calls, failed ones included.
func (s *Server) CreateCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creates
}

// CreateExecution implements executionspb.ExecutionsServer.
func (s *Server) CreateExecution(ctx context.Context, req *executionspb.CreateExecutionRequest) (*executionspb.Execution, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creates++
	if s.failNext > 0 {
		s.failNext--
		return nil, status.Error(codes.Unavailable, "fake: injected failure")
	}
	if req.GetParent() == "" || req.GetExecution() == nil {
		return nil, status.Error(codes.InvalidArgument, "parent and execution are required")
	}
	e := proto.Clone(req.GetExecution()).(*executionspb.Execution)
	s.seq++
	e.Name = fmt.Sprintf("%s/executions/fake-%d", req.GetParent(), s.seq)
	e.State = executionspb.Execution_ACTIVE
	e.StartTime = timestamppb.Now()
	e.Labels = maps.Clone(req.GetExecution().GetLabels())
	s.execs = append(s.execs, e)
	return proto.Clone(e).(*executionspb.Execution), nil
}

var labelFilter = regexp.MustCompile(`^labels\.([a-z0-9_-]+)="([^"]*)"$`)

// ListExecutions implements executionspb.ExecutionsServer (newest first, one page).
func (s *Server) ListExecutions(ctx context.Context, req *executionspb.ListExecutionsRequest) (*executionspb.ListExecutionsResponse, error) {
	var key, value string
	if f := req.GetFilter(); f != "" {
		m := labelFilter.FindStringSubmatch(f)
		if m == nil {
			return nil, status.Errorf(codes.InvalidArgument, "fake: unsupported filter %q", f)
		}
		key, value = m[1], m[2]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &executionspb.ListExecutionsResponse{}
	for i := len(s.execs) - 1; i >= 0; i-- {
		e := s.execs[i]
		parent := e.GetName()[:strings.LastIndex(e.GetName(), "/executions/")]
		if parent != req.GetParent() || (key != "" && e.GetLabels()[key] != value) {
			continue
		}
		resp.Executions = append(resp.Executions, proto.Clone(e).(*executionspb.Execution))
	}
	return resp, nil
}

// GetExecution implements executionspb.ExecutionsServer.
func (s *Server) GetExecution(ctx context.Context, req *executionspb.GetExecutionRequest) (*executionspb.Execution, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.execs {
		if e.GetName() == req.GetName() {
			return proto.Clone(e).(*executionspb.Execution), nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "execution %s not found", req.GetName())
}
