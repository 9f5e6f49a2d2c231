package batch

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
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
	ModelSHA256          string // optional sha256 (hex) the registered archive must also have; never replaces its manifest
	WIPProvider          string // full provider resource name
	PrimusServiceAccount string
	Timeout              time.Duration
	// DebugUnsafe runs the workload on the debug Confidential Space image: an operator can then
	// reach the VM, and Primus's condition should refuse its tokens. Off by default.
	DebugUnsafe bool
	// Network is the VPC network of the workload VMs: a name ("default") or a partial path
	// (projects/P/global/networks/N). Empty means "default".
	Network string
	// Subnetwork is optional: a name in the zone's region or a partial path
	// (projects/P/regions/R/subnetworks/S). A custom-mode network needs one.
	Subnetwork string
	// ExternalIP gives each VM an ephemeral external IP. Without one the VM reaches Google's APIs
	// (and Artifact Registry) only if its subnetwork has Private Google Access on.
	ExternalIP bool
	// Optional endpoints (the local stack sets them; empty means Google's).
	ComputeEndpoint string
	// StorageEndpoint is where the workflow itself calls Cloud Storage: a base scheme://host[:port]
	// with no path (the workflow appends /storage/v1/… and /upload/storage/v1/…).
	StorageEndpoint string
	// WorkloadStorageEndpoint is the workload's storage endpoint (its CSPIPE_STORAGE_ENDPOINT, the
	// Go client's option.WithEndpoint, e.g. http://127.0.0.1:PORT/storage/v1/). A different
	// setting from StorageEndpoint: each consumer builds its URLs its own way.
	WorkloadStorageEndpoint string
	STSEndpoint             string
	IAMCredentialsEndpoint  string
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
	Network         string            `json:"network,omitempty"`
	Subnetwork      string            `json:"subnetwork,omitempty"`
	ExternalIP      bool              `json:"external_ip"`
	ComputeEndpoint string            `json:"compute_endpoint,omitempty"`
	// StorageEndpoint is the workflow's own Storage base (scheme://host[:port], no path); the
	// workload's endpoint travels in Env as CSPIPE_STORAGE_ENDPOINT.
	StorageEndpoint string `json:"storage_endpoint,omitempty"`
	// Batch, when set, makes the workflow wait until the batch is quiet, seal it and size the
	// run's shards to its items (shard_count is then ignored). Launches without it run at once.
	Batch *BatchSpec `json:"batch,omitempty"`
}

// BatchSpec tells the workflow how to close its batch (docs/contracts.md, "Batches").
type BatchSpec struct {
	// StateBucket holds the head (Head), the items and the plan.
	StateBucket string `json:"state_bucket"`
	BatchID     string `json:"batch_id"`
	Head        string `json:"head"`         // the head object (head.json)
	ItemsPrefix string `json:"items_prefix"` // BatchPrefix(batch_id)
	Plan        string `json:"plan"`         // PlanObject(batch_id): {items, shard_count} written after the seal
	// The batch closes when no item arrived for QuietSeconds, when MaxWaitSeconds passed since
	// the run started, or when it holds at least MaxItems items (0: no limit).
	QuietSeconds   int64 `json:"quiet_seconds"`
	MaxWaitSeconds int64 `json:"max_wait_seconds"`
	MaxItems       int64 `json:"max_items"`
	// PollSeconds is how often the workflow counts the items while it waits.
	PollSeconds int64 `json:"poll_seconds"`
	// SettleSeconds is how long the workflow waits after sealing before it counts the items for
	// good: every upload that saw the batch open has written its item by then.
	SettleSeconds int64 `json:"settle_seconds"`
	// The run gets ceil(items / ImagesPerShard) shards, at most MaxShards.
	ImagesPerShard int64 `json:"images_per_shard"`
	MaxShards      int64 `json:"max_shards"`
}

// Plan is plan.json: what the workflow decided when it sealed the batch.
type Plan struct {
	Items      int `json:"items"`
	ShardCount int `json:"shard_count"`
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
	if t.Timeout < time.Minute {
		return fmt.Errorf("run template: timeout %s is shorter than a minute", t.Timeout)
	}
	if t.Network != "" && !networkRef.MatchString(t.Network) {
		return fmt.Errorf("run template: network %q is neither a network name nor projects/P/global/networks/N", t.Network)
	}
	if t.Subnetwork != "" && !subnetworkRef.MatchString(t.Subnetwork) {
		return fmt.Errorf("run template: subnetwork %q is neither a subnetwork name nor projects/P/regions/R/subnetworks/S", t.Subnetwork)
	}
	if err := CheckStorageBase(t.StorageEndpoint); err != nil {
		return fmt.Errorf("run template: workflow storage endpoint: %w", err)
	}
	return nil
}

// Compute resource names (RFC 1035 labels) and the partial paths the workflow passes on as is.
var (
	networkRef    = regexp.MustCompile(`^([a-z]([-a-z0-9]{0,61}[a-z0-9])?|projects/[a-z0-9.:-]+/global/networks/[a-z]([-a-z0-9]{0,61}[a-z0-9])?)$`)
	subnetworkRef = regexp.MustCompile(`^([a-z]([-a-z0-9]{0,61}[a-z0-9])?|projects/[a-z0-9.:-]+/regions/[a-z0-9-]+/subnetworks/[a-z]([-a-z0-9]{0,61}[a-z0-9])?)$`)
)

// CheckStorageBase accepts "" or a Storage base URL with no path: scheme://host[:port]. A path
// (for example the JSON API's /storage/v1/) would be doubled by the workflow, which appends the
// API paths itself.
func CheckStorageBase(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s)://host[:port] URL", s)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q has a path; give the base only (scheme://host[:port]): the workflow appends /storage/v1/… itself", s)
	}
	return nil
}

// argument builds the JSON execution argument of a batch's run.
func (s *Scheduler) argument(batchID string, img ImageRef) (string, error) {
	t, o := s.opt.Run, s.opt
	env := map[string]string{
		"CSPIPE_INPUT_BUCKET":           o.InputBucket,
		"CSPIPE_BATCH_BUCKET":           o.StateBucket,
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
		"CSPIPE_STORAGE_ENDPOINT":        t.WorkloadStorageEndpoint,
	} {
		if v != "" {
			env[k] = v
		}
	}
	b, err := json.Marshal(Argument{
		RunID: RunID(batchID), ImageReference: img.Reference, Project: t.Project, Zone: t.Zone,
		MachineType: t.MachineType, ServiceAccount: t.ServiceAccount, ResultsBucket: t.ResultsBucket,
		Env: env, ShardCount: 1, TimeoutSeconds: int64(t.Timeout / time.Second), Debug: t.DebugUnsafe,
		Network: t.Network, Subnetwork: t.Subnetwork, ExternalIP: t.ExternalIP,
		ComputeEndpoint: t.ComputeEndpoint, StorageEndpoint: strings.TrimSuffix(t.StorageEndpoint, "/"),
		Batch: &BatchSpec{
			StateBucket: o.StateBucket, BatchID: batchID, Head: headName, ItemsPrefix: BatchPrefix(batchID),
			Plan: PlanObject(batchID), QuietSeconds: wholeSeconds(o.Quiet, 1), MaxWaitSeconds: wholeSeconds(o.MaxWait, 1),
			MaxItems: int64(o.MaxItems), PollSeconds: s.pollSeconds(), SettleSeconds: wholeSeconds(o.settle(), 1),
			ImagesPerShard: int64(o.ImagesPerShard), MaxShards: int64(o.MaxShards),
		},
	})
	if err != nil {
		return "", fmt.Errorf("encoding execution argument: %w", err)
	}
	if len(b) > maxArgument {
		return "", fmt.Errorf("execution argument is %d bytes, over the %d-byte limit", len(b), maxArgument)
	}
	return string(b), nil
}

// ShardsFor is the shard count of a batch of items: ceil(items / imagesPerShard), at least one
// and at most maxShards. launch.yaml computes the same (wait_batch).
func ShardsFor(items, imagesPerShard, maxShards int) int {
	if imagesPerShard < 1 {
		imagesPerShard = 1
	}
	n := (items + imagesPerShard - 1) / imagesPerShard
	return max(1, min(n, maxShards))
}
