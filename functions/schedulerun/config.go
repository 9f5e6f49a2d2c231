package schedulerun

import (
	"errors"
	"fmt"
	"time"

	"github.com/cspipe/cspipe/internal/batch"
)

// Config is the function's configuration, read from the environment once.
type Config struct {
	// InputBucket receives the uploads.
	InputBucket string `env:"CSPIPE_INPUT_BUCKET" required:"true"`
	// StateBucket holds ScheduleRun's bookkeeping (batch head, claims, items, runs); it must not
	// be the input bucket.
	StateBucket string `env:"CSPIPE_STATE_BUCKET" required:"true"`
	// BatchQuiet: a batch closes when no upload arrived for this long.
	BatchQuiet time.Duration `env:"CSPIPE_BATCH_QUIET" default:"15s"`
	// BatchMaxWait: a batch closes this long after its run started, however busy.
	BatchMaxWait time.Duration `env:"CSPIPE_BATCH_MAX_WAIT" default:"10m"`
	// BatchMaxItems: a batch closes when it holds this many uploads (0: no limit).
	BatchMaxItems int `env:"CSPIPE_BATCH_MAX_ITEMS" default:"0"`
	// ImagesPerShard and MaxShards size a run: ceil(items / ImagesPerShard) VMs, at most MaxShards.
	ImagesPerShard int `env:"CSPIPE_IMAGES_PER_SHARD" default:"2000"`
	MaxShards      int `env:"CSPIPE_MAX_SHARDS" default:"10"`
	// StartLease: how long a pending run belongs to the event starting it.
	StartLease time.Duration `env:"CSPIPE_START_LEASE" default:"2m"`
	// Workflow is projects/P/locations/L/workflows/W.
	Workflow string `env:"CSPIPE_WORKFLOW" required:"true"`

	// Execution argument pieces (docs/contracts.md, "Workflow execution argument").
	Project                string        `env:"CSPIPE_PROJECT" required:"true"`
	Zone                   string        `env:"CSPIPE_ZONE" required:"true"`
	MachineType            string        `env:"CSPIPE_MACHINE_TYPE" default:"n2d-standard-2"`
	WorkloadServiceAccount string        `env:"CSPIPE_WORKLOAD_SERVICE_ACCOUNT" required:"true"`
	ResultsBucket          string        `env:"CSPIPE_RESULTS_BUCKET" required:"true"`
	Model                  string        `env:"CSPIPE_MODEL" required:"true"`
	ModelSHA256            string        `env:"CSPIPE_MODEL_SHA256"`
	WIPProvider            string        `env:"CSPIPE_WIP_PROVIDER" required:"true"`
	PrimusServiceAccount   string        `env:"CSPIPE_PRIMUS_SERVICE_ACCOUNT" required:"true"`
	RunTimeout             time.Duration `env:"CSPIPE_RUN_TIMEOUT" default:"1h"`
	// UseDebugImageUnsafe runs the workload on the debug Confidential Space image (the operator can
	// reach the VM). Off by default; Primus's condition should refuse such tokens anyway.
	UseDebugImageUnsafe bool `env:"CSPIPE_USE_DEBUG_IMAGE_UNSAFE" default:"false"`
	// Network of the workload VMs: a name or projects/P/global/networks/N. Organisations with the
	// compute.skipDefaultNetworkCreation policy have no "default" network.
	Network string `env:"CSPIPE_NETWORK" default:"default"`
	// Subnetwork of the workload VMs (optional): a name in the zone's region or
	// projects/P/regions/R/subnetworks/S. Required for a custom-mode network.
	Subnetwork string `env:"CSPIPE_SUBNETWORK"`
	// ExternalIP gives each VM an ephemeral external IP. Set false under the
	// compute.vmExternalIpAccess policy; the subnetwork then needs Private Google Access.
	ExternalIP bool `env:"CSPIPE_EXTERNAL_IP" default:"true"`

	// WorkloadImage pins the workload image by digest (REPO@sha256:…); a tag is refused. Exactly
	// one of WorkloadImage and PinPointer is set.
	WorkloadImage string `env:"CSPIPE_WORKLOAD_IMAGE"`
	// PinPointer is gs://bucket/pins/latest.json written by PinWorkloadImage; each new run uses
	// the image_reference it holds.
	PinPointer string `env:"CSPIPE_PIN_POINTER"`

	// Optional endpoints: ExecutionsEndpoint (host:port, plaintext, loopback only) is where this
	// function starts executions; the others are passed to the workflow and the workload.
	ExecutionsEndpoint string `env:"CSPIPE_EXECUTIONS_ENDPOINT"`
	ComputeEndpoint    string `env:"CSPIPE_COMPUTE_ENDPOINT"`
	// StorageEndpoint is the workflow's own Storage base, scheme://host[:port] with no path (the
	// launch argument's storage_endpoint).
	StorageEndpoint string `env:"CSPIPE_STORAGE_ENDPOINT"`
	// WorkloadStorageEndpoint is the workload's storage endpoint (the Go client's, e.g.
	// http://127.0.0.1:PORT/storage/v1/), sent in the workload's env as CSPIPE_STORAGE_ENDPOINT.
	WorkloadStorageEndpoint string `env:"CSPIPE_WORKLOAD_STORAGE_ENDPOINT"`
	STSEndpoint             string `env:"CSPIPE_STS_ENDPOINT"`
	IAMCredentialsEndpoint  string `env:"CSPIPE_IAMCREDENTIALS_ENDPOINT"`

	// MaxEventAge drops events older than this (0: never).
	MaxEventAge time.Duration `env:"CSPIPE_MAX_EVENT_AGE" default:"24h"`
}

// imageSource validates the image settings and returns the matching source; pins is the store
// that holds the pin pointer.
func (c Config) imageSource(pins blobStore) (batch.ImageSource, error) {
	switch {
	case c.WorkloadImage != "" && c.PinPointer != "":
		return nil, errors.New("set only one of CSPIPE_WORKLOAD_IMAGE and CSPIPE_PIN_POINTER")
	case c.WorkloadImage != "":
		ref, err := batch.ParseImageRef(c.WorkloadImage)
		if err != nil {
			return nil, fmt.Errorf("CSPIPE_WORKLOAD_IMAGE: %w", err)
		}
		return batch.StaticImage(ref), nil
	case c.PinPointer != "":
		bucket, object, err := batch.ParsePinURL(c.PinPointer)
		if err != nil {
			return nil, fmt.Errorf("CSPIPE_PIN_POINTER: %w", err)
		}
		return batch.PinPointer{Store: pins, Bucket: bucket, Object: object}, nil
	}
	return nil, errors.New("set CSPIPE_WORKLOAD_IMAGE (pinned by digest) or CSPIPE_PIN_POINTER")
}

// options maps the configuration to the batch core's options.
func (c Config) options() batch.Options {
	return batch.Options{
		InputBucket: c.InputBucket, StateBucket: c.StateBucket, Quiet: c.BatchQuiet, MaxWait: c.BatchMaxWait,
		MaxItems: c.BatchMaxItems, ImagesPerShard: c.ImagesPerShard, MaxShards: c.MaxShards, Lease: c.StartLease,
		Workflow: c.Workflow,
		Run: batch.RunTemplate{
			Project: c.Project, Zone: c.Zone, MachineType: c.MachineType, ServiceAccount: c.WorkloadServiceAccount,
			ResultsBucket: c.ResultsBucket, Model: c.Model, ModelSHA256: c.ModelSHA256, WIPProvider: c.WIPProvider,
			PrimusServiceAccount: c.PrimusServiceAccount, Timeout: c.RunTimeout,
			DebugUnsafe: c.UseDebugImageUnsafe, Network: c.Network, Subnetwork: c.Subnetwork, ExternalIP: c.ExternalIP,
			ComputeEndpoint: c.ComputeEndpoint, StorageEndpoint: c.StorageEndpoint,
			WorkloadStorageEndpoint: c.WorkloadStorageEndpoint,
			STSEndpoint:             c.STSEndpoint, IAMCredentialsEndpoint: c.IAMCredentialsEndpoint,
		},
	}
}
