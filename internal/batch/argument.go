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
	ModelSHA256          string // optional pin of the archive's sha256 (hex)
	WIPProvider          string // full provider resource name
	PrimusServiceAccount string
	ShardCount           int
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
		"CSPIPE_STORAGE_ENDPOINT":        t.WorkloadStorageEndpoint,
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
		Network: t.Network, Subnetwork: t.Subnetwork, ExternalIP: t.ExternalIP,
		ComputeEndpoint: t.ComputeEndpoint, StorageEndpoint: strings.TrimSuffix(t.StorageEndpoint, "/"),
	})
	if err != nil {
		return "", fmt.Errorf("encoding execution argument: %w", err)
	}
	if len(b) > maxArgument {
		return "", fmt.Errorf("execution argument is %d bytes, over the %d-byte limit", len(b), maxArgument)
	}
	return string(b), nil
}
