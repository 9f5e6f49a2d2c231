package stack

import (
	"context"
	"encoding/json"
	"fmt"

	executions "cloud.google.com/go/workflows/executions/apiv1"
	"cloud.google.com/go/workflows/executions/apiv1/executionspb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/cspipe/cspipe/internal/batch"
)

// ModelObject is where the demo and tests put Primus's model archive.
const ModelObject = "models/mobilenet.tar.gz"

// WorkloadEnv is the tee-env-* configuration every run gets in the local stack (endpoints,
// buckets, the model and Primus's provider); per-run values (run id, batch prefix) come on top.
func (s *Stack) WorkloadEnv() map[string]string {
	return map[string]string{
		"CSPIPE_INPUT_BUCKET":            InputBucket,
		"CSPIPE_RESULTS_BUCKET":          ResultsBucket,
		"CSPIPE_MODEL":                   "gs://" + ModelBucket + "/" + ModelObject,
		"CSPIPE_WIP_PROVIDER":            ProviderName(),
		"CSPIPE_PRIMUS_SERVICE_ACCOUNT":  PrimusSA,
		"CSPIPE_STS_ENDPOINT":            s.IAM.URL(),
		"CSPIPE_IAMCREDENTIALS_ENDPOINT": s.IAM.URL(),
		"CSPIPE_STORAGE_ENDPOINT":        s.GCS.JSONEndpoint(),
	}
}

// LaunchArgument is the launch workflow's argument (docs/contracts.md): the very type ScheduleRun
// sends, so the stack's direct launches and the event-driven ones cannot drift apart.
type LaunchArgument = batch.Argument

// NewLaunchArgument fills a LaunchArgument for this stack.
func (s *Stack) NewLaunchArgument(runID, image string, env map[string]string) LaunchArgument {
	e := s.WorkloadEnv()
	for k, v := range env {
		e[k] = v
	}
	return LaunchArgument{
		RunID: runID, ImageReference: image, Project: Secundus.ID, Zone: Zone, MachineType: "n2d-standard-2",
		ServiceAccount: WorkloadSA, ResultsBucket: ResultsBucket, Env: e, ShardCount: 1, TimeoutSeconds: 600,
		Network: "default", ExternalIP: true,
		ComputeEndpoint: s.Compute.URL() + "/compute/v1", StorageEndpoint: s.GCS.URL(),
	}
}

// WorkflowParent is the launch workflow's resource name.
func WorkflowParent() string {
	return fmt.Sprintf("projects/%s/locations/%s/workflows/launch", Secundus.ID, Location)
}

// ExecutionsClient returns the real Workflows executions client pointed at the stack, acting as
// the local operator (who holds roles/workflows.invoker in Secundus's project).
func (s *Stack) ExecutionsClient(ctx context.Context) (*executions.Client, error) {
	return s.executionsClientAs(ctx, iam.User(LocalOperator))
}

// executionsClientAs is an executions client whose calls carry principal's access tokens.
func (s *Stack) executionsClientAs(ctx context.Context, principal string) (*executions.Client, error) {
	return executions.NewClient(ctx, option.WithEndpoint(s.executionsAddr), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
		option.WithGRPCDialOption(s.grpcAs(principal)))
}

// StartLaunch starts an execution of the launch workflow with arg, through the executions API.
func (s *Stack) StartLaunch(ctx context.Context, arg LaunchArgument) (*executionspb.Execution, error) {
	b, err := json.Marshal(arg)
	if err != nil {
		return nil, err
	}
	c, err := s.ExecutionsClient(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.CreateExecution(ctx, &executionspb.CreateExecutionRequest{
		Parent: WorkflowParent(), Execution: &executionspb.Execution{Argument: string(b)},
	})
}
