package batch

import (
	"encoding/json"
	"fmt"
	"time"
)

// RunTemplate holds the parts of a workflow execution argument that come from configuration.
type RunTemplate struct {
	Project              string
	Zone                 string
	MachineType          string
	ServiceAccount       string // the workload VM's service account
	ResultsBucket        string
	Model                string // gs://bucket/object of the model archive
	ModelSHA256          string // optional pin of the archive's sha256 (hex)
	WIPProvider          string // full provider resource name
	PrimusServiceAccount string
	ShardCount           int
	Timeout              time.Duration
	// DebugUnsafe runs the workload on the debug Confidential Space image: an operator can then
	// reach the VM, and Primus's condition should refuse its tokens. Off by default.
	DebugUnsafe bool
	// Optional endpoints (the local stack sets them; empty means Google's).
	ComputeEndpoint        string
	StorageEndpoint        string
	STSEndpoint            string
	IAMCredentialsEndpoint string
}

// Argument is the workflow execution argument (docs/contracts.md, "Workflow execution argument").
type Argument struct {
	RunID           string            `json:"run_id"`
	ImageReference  string            `json:"image_reference"`
	Project         string            `json:"project"`
	Zone            string            `json:"zone"`
	MachineType     string            `json:"machine_type"`
	ServiceAccount  string            `json:"service_account"`
	ResultsBucket   string            `json:"results_bucket"`
	Env             map[string]string `json:"env"`
	ShardCount      int               `json:"shard_count"`
	TimeoutSeconds  int64             `json:"timeout_seconds"`
	Debug           bool              `json:"debug"`
	NotBefore       int64             `json:"not_before,omitempty"`
	ComputeEndpoint string            `json:"compute_endpoint,omitempty"`
	StorageEndpoint string            `json:"storage_endpoint,omitempty"`
}

// maxArgument is the Workflows limit on an execution argument.
const maxArgument = 32 << 10

// Validate checks what a run cannot do without.
func (t RunTemplate) Validate() error {
	for _, f := range []struct{ name, v string }{
		{"project", t.Project}, {"zone", t.Zone}, {"machine type", t.MachineType},
		{"workload service account", t.ServiceAccount}, {"results bucket", t.ResultsBucket},
		{"model", t.Model}, {"WIP provider", t.WIPProvider}, {"Primus service account", t.PrimusServiceAccount},
	} {
		if f.v == "" {
			return fmt.Errorf("run template: %s is empty", f.name)
		}
	}
	if t.ShardCount < 1 || t.ShardCount > 100 {
		return fmt.Errorf("run template: shard count %d is outside 1..100", t.ShardCount)
	}
	if t.Timeout < time.Minute {
		return fmt.Errorf("run template: timeout %s is shorter than a minute", t.Timeout)
	}
	return nil
}

// argument builds the JSON execution argument of a batch's run.
func (t RunTemplate) argument(inputBucket, batchID string, img ImageRef, notBefore time.Time) (string, error) {
	runID := RunID(batchID)
	env := map[string]string{
		"CSPIPE_INPUT_BUCKET":           inputBucket,
		"CSPIPE_BATCH_PREFIX":           BatchPrefix(batchID),
		"CSPIPE_RESULTS_BUCKET":         t.ResultsBucket,
		"CSPIPE_MODEL":                  t.Model,
		"CSPIPE_WIP_PROVIDER":           t.WIPProvider,
		"CSPIPE_PRIMUS_SERVICE_ACCOUNT": t.PrimusServiceAccount,
	}
	for k, v := range map[string]string{
		"CSPIPE_MODEL_SHA256":            t.ModelSHA256,
		"CSPIPE_STS_ENDPOINT":            t.STSEndpoint,
		"CSPIPE_IAMCREDENTIALS_ENDPOINT": t.IAMCredentialsEndpoint,
		"CSPIPE_STORAGE_ENDPOINT":        t.StorageEndpoint,
	} {
		if v != "" {
			env[k] = v
		}
	}
	b, err := json.Marshal(Argument{
		RunID: runID, ImageReference: img.Reference, Project: t.Project, Zone: t.Zone,
		MachineType: t.MachineType, ServiceAccount: t.ServiceAccount, ResultsBucket: t.ResultsBucket,
		Env: env, ShardCount: t.ShardCount, TimeoutSeconds: int64(t.Timeout / time.Second),
		Debug: t.DebugUnsafe, NotBefore: notBefore.Unix(),
		ComputeEndpoint: t.ComputeEndpoint, StorageEndpoint: t.StorageEndpoint,
	})
	if err != nil {
		return "", fmt.Errorf("encoding execution argument: %w", err)
	}
	if len(b) > maxArgument {
		return "", fmt.Errorf("execution argument is %d bytes, over the %d-byte limit", len(b), maxArgument)
	}
	return string(b), nil
}
