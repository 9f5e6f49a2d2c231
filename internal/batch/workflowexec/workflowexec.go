// Package workflowexec adapts the Workflows Executions API client
// (cloud.google.com/go/workflows/executions/apiv1) to batch.Executions.
package workflowexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	executions "cloud.google.com/go/workflows/executions/apiv1"
	"cloud.google.com/go/workflows/executions/apiv1/executionspb"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/cspipe/cspipe/internal/batch"
)

// Client starts and finds executions through the Executions API.
type Client struct {
	c *executions.Client
}

var _ batch.Executions = (*Client)(nil)

// New wraps an Executions API client built by the caller.
func New(c *executions.Client) *Client { return &Client{c: c} }

// Dial builds an Executions API client. An empty endpoint means Google's, with Application
// Default Credentials. A non-empty endpoint ("host:port") is a local stand-in: plaintext gRPC
// without credentials, which is only for loopback.
func Dial(ctx context.Context, endpoint string) (*executions.Client, error) {
	var opts []option.ClientOption
	if endpoint != "" {
		opts = append(opts, option.WithEndpoint(endpoint), option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	}
	c, err := executions.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("creating executions client: %w", err)
	}
	return c, nil
}

// Create implements batch.Executions.
func (c *Client) Create(ctx context.Context, workflow, argument string, labels map[string]string) (string, error) {
	e, err := c.c.CreateExecution(ctx, &executionspb.CreateExecutionRequest{
		Parent: workflow,
		Execution: &executionspb.Execution{
			Argument:     argument,
			Labels:       labels,
			CallLogLevel: executionspb.Execution_LOG_ERRORS_ONLY,
		},
	})
	if err != nil {
		return "", fmt.Errorf("creating an execution of %s: %w", workflow, err)
	}
	return e.GetName(), nil
}

// maxScan bounds how many executions FindByLabel looks at when the server refuses the filter.
const maxScan = 500

// FindByLabel implements batch.Executions: failed and cancelled executions are skipped. It asks the server to filter by the label
// (labels.KEY="VALUE") and also checks each answer itself; if the server refuses the filter it
// scans the most recent executions instead.
func (c *Client) FindByLabel(ctx context.Context, workflow, key, value string) (string, error) {
	name, err := c.find(ctx, workflow, fmt.Sprintf("labels.%s=%q", key, value), key, value)
	if status.Code(err) == codes.InvalidArgument {
		name, err = c.find(ctx, workflow, "", key, value)
	}
	return name, err
}

func (c *Client) find(ctx context.Context, workflow, filter, key, value string) (string, error) {
	it := c.c.ListExecutions(ctx, &executionspb.ListExecutionsRequest{
		Parent: workflow, Filter: filter, View: executionspb.ExecutionView_FULL, PageSize: 100,
	})
	for n := 0; n < maxScan; n++ {
		e, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("listing executions of %s: %w", workflow, err)
		}
		if matches(e, key, value) && !dead(e) {
			return e.GetName(), nil
		}
	}
	return "", nil
}

// dead reports whether an execution failed or was cancelled: it does not count as the run's.
func dead(e *executionspb.Execution) bool {
	return e.GetState() == executionspb.Execution_FAILED || e.GetState() == executionspb.Execution_CANCELLED
}

// State implements batch.Executions.
func (c *Client) State(ctx context.Context, name string) (batch.ExecutionState, error) {
	e, err := c.c.GetExecution(ctx, &executionspb.GetExecutionRequest{Name: name})
	if status.Code(err) == codes.NotFound {
		return batch.ExecutionState{}, fmt.Errorf("%s: %w", name, batch.ErrExecutionNotFound)
	}
	if err != nil {
		return batch.ExecutionState{}, fmt.Errorf("getting execution %s: %w", name, err)
	}
	return batch.ExecutionState{State: e.GetState().String(), Error: e.GetError().GetPayload()}, nil
}

// matches checks the label, or the run id in the argument for a server that drops labels.
func matches(e *executionspb.Execution, key, value string) bool {
	if v, ok := e.GetLabels()[key]; ok {
		return v == value
	}
	var arg struct {
		RunID string `json:"run_id"`
	}
	return key == batch.LabelRunID && json.Unmarshal([]byte(e.GetArgument()), &arg) == nil && arg.RunID == value
}
