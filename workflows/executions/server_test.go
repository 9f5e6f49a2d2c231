package executions

import (
	"context"
	"net"
	"testing"
	"time"

	executions "cloud.google.com/go/workflows/executions/apiv1"
	"cloud.google.com/go/workflows/executions/apiv1/executionspb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/cspipe/cspipe/workflows/engine"
	"github.com/cspipe/cspipe/workflows/expr"
)

const parent = "projects/p/locations/us-central1/workflows/"

const greet = `
main:
  params: [args]
  steps:
    - r:
        return: ${"hello " + args.name}
`

const fail = `
- boom:
    raise: {tags: ["ValueError"], message: "no"}
`

const waits = `
main:
  params: [args]
  steps:
    - s:
        call: sys.sleep
        args: {seconds: 3600}
on_cancel:
  params: [args]
  steps:
    - r:
        return: null
`

// start serves the given workflows on a loopback gRPC listener and returns the real client.
func start(t *testing.T, clock engine.Clock, defs map[string]string) (*executions.Client, *Server) {
	t.Helper()
	wfs := map[string]*engine.Workflow{}
	for name, src := range defs {
		wf, err := engine.Load([]byte(src))
		if err != nil {
			t.Fatalf("Load %s: %v", name, err)
		}
		wfs[name] = wf
	}
	return startServer(t, NewServer(wfs, WithEngine(engine.New(engine.WithClock(clock)))))
}

// startServer serves srv on a loopback gRPC listener and returns the real client.
func startServer(t *testing.T, srv *Server) (*executions.Client, *Server) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	srv.Register(g)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(func() { g.Stop(); srv.Close() })
	c, err := executions.NewClient(t.Context(), option.WithEndpoint(lis.Addr().String()), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, srv
}

func waitDone(t *testing.T, c *executions.Client, name string) *executionspb.Execution {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		e, err := c.GetExecution(t.Context(), &executionspb.GetExecutionRequest{Name: name})
		if err != nil {
			t.Fatalf("GetExecution: %v", err)
		}
		if e.State != executionspb.Execution_ACTIVE {
			return e
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("execution %s still active", name)
	return nil
}

func TestCreateGetList(t *testing.T) {
	c, _ := start(t, engine.NewFakeClock(time.Unix(0, 0)), map[string]string{"greet": greet, "fail": fail})
	e, err := c.CreateExecution(t.Context(), &executionspb.CreateExecutionRequest{Parent: parent + "greet",
		Execution: &executionspb.Execution{Argument: `{"name": "tee"}`}})
	if err != nil {
		t.Fatalf("CreateExecution: %v", err)
	}
	if e.State != executionspb.Execution_ACTIVE && e.State != executionspb.Execution_SUCCEEDED {
		t.Errorf("created in state %v", e.State)
	}
	done := waitDone(t, c, e.Name)
	if done.State != executionspb.Execution_SUCCEEDED || done.Result != `"hello tee"` || done.WorkflowRevisionId != RevisionID {
		t.Errorf("execution = %v", done)
	}

	f, err := c.CreateExecution(t.Context(), &executionspb.CreateExecutionRequest{Parent: parent + "fail", Execution: &executionspb.Execution{}})
	if err != nil {
		t.Fatal(err)
	}
	failed := waitDone(t, c, f.Name)
	if failed.State != executionspb.Execution_FAILED {
		t.Fatalf("state %v", failed.State)
	}
	payload, err := expr.DecodeJSON([]byte(failed.Error.Payload))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"tags": []any{"ValueError"}, "message": "no"}, payload); diff != "" {
		t.Errorf("error payload (-want +got)\n%s", diff)
	}

	var names []string
	it := c.ListExecutions(t.Context(), &executionspb.ListExecutionsRequest{Parent: parent + "greet"})
	for {
		x, err := it.Next()
		if err != nil {
			break
		}
		names = append(names, x.Name)
	}
	if diff := cmp.Diff([]string{e.Name}, names); diff != "" {
		t.Errorf("list (-want +got)\n%s", diff)
	}
}

func TestCreateErrors(t *testing.T) {
	c, _ := start(t, engine.NewFakeClock(time.Unix(0, 0)), map[string]string{"greet": greet})
	tests := []struct {
		name string
		req  *executionspb.CreateExecutionRequest
		code codes.Code
	}{
		{"unknown workflow", &executionspb.CreateExecutionRequest{Parent: parent + "nope", Execution: &executionspb.Execution{}}, codes.NotFound},
		{"bad parent", &executionspb.CreateExecutionRequest{Parent: "workflows/greet", Execution: &executionspb.Execution{}}, codes.InvalidArgument},
		{"bad argument", &executionspb.CreateExecutionRequest{Parent: parent + "greet", Execution: &executionspb.Execution{Argument: "{"}}, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreateExecution(t.Context(), tt.req)
			if status.Code(err) != tt.code {
				t.Errorf("got %v, want %v", err, tt.code)
			}
		})
	}
	_, err := c.GetExecution(t.Context(), &executionspb.GetExecutionRequest{Name: parent + "greet/executions/x"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("get unknown: %v", err)
	}
}

func TestCancel(t *testing.T) {
	clock := engine.NewFakeClock(time.Unix(0, 0))
	sleeping := make(chan struct{}, 1)
	clock.OnSleep = func(ctx context.Context, _ time.Duration) error {
		select {
		case sleeping <- struct{}{}:
		default:
		}
		<-ctx.Done() // the workflow sleeps until it is cancelled
		return ctx.Err()
	}
	c, _ := start(t, clock, map[string]string{"waits": waits})
	e, err := c.CreateExecution(t.Context(), &executionspb.CreateExecutionRequest{Parent: parent + "waits", Execution: &executionspb.Execution{Argument: "{}"}})
	if err != nil {
		t.Fatal(err)
	}
	<-sleeping
	got, err := c.CancelExecution(t.Context(), &executionspb.CancelExecutionRequest{Name: e.Name})
	if err != nil {
		t.Fatalf("CancelExecution: %v", err)
	}
	if got.State != executionspb.Execution_CANCELLED {
		t.Errorf("state after cancel = %v", got.State)
	}
	if _, err := c.CancelExecution(t.Context(), &executionspb.CancelExecutionRequest{Name: e.Name}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("second cancel: %v", err)
	}
}
