// Package workload is the core of the program that runs inside Confidential Space: it reads its
// configuration once, obtains the model only through attestation (token file → STS →
// impersonated Primus service account), checks the archive's sha256 before parsing a byte of it,
// classifies every image of its shard with a bounded worker pool, and writes results.jsonl, an
// attested receipt and summary.json (last). I/O sits behind small interfaces (Deps) so the whole
// run can be exercised with in-memory fakes; package main in workload/ only wires real clients.
package workload

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"runtime"
	"strings"

	"github.com/cspipe/cspipe/internal/envconfig"
)

// Config is the workload's configuration, read once from the environment. Every field but
// LauncherDir is a name the operator may set through tee-env-* metadata; they are exactly
// the names listed in the image's tee.launch_policy.allow_env_override label (see OperatorEnv).
type Config struct {
	RunID       string `env:"CSPIPE_RUN_ID" required:"true"`
	ShardIndex  int    `env:"CSPIPE_SHARD_INDEX" default:"0"`
	ShardCount  int    `env:"CSPIPE_SHARD_COUNT" default:"1"`
	InputBucket string `env:"CSPIPE_INPUT_BUCKET" required:"true"`
	InputPrefix string `env:"CSPIPE_INPUT_PREFIX"`
	BatchPrefix string `env:"CSPIPE_BATCH_PREFIX"`
	// BatchBucket holds the batch items under BatchPrefix (ScheduleRun's state bucket); empty
	// means InputBucket. The images the items name are read from the bucket each item names.
	BatchBucket   string `env:"CSPIPE_BATCH_BUCKET"`
	ResultsBucket string `env:"CSPIPE_RESULTS_BUCKET" required:"true"`
	// Model is gs://bucket/object of the model archive.
	Model string `env:"CSPIPE_MODEL" required:"true"`
	// ModelSHA256 optionally narrows which registered model may run: the archive's hex sha256 must
	// equal it as well as the accepted manifest next to the model (which is always required).
	ModelSHA256 string `env:"CSPIPE_MODEL_SHA256"`
	// WIPProvider is the full provider resource name
	// (projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER).
	WIPProvider string `env:"CSPIPE_WIP_PROVIDER" required:"true"`
	// PrimusServiceAccount is impersonated after the STS exchange; empty uses the federated token directly.
	PrimusServiceAccount   string `env:"CSPIPE_PRIMUS_SERVICE_ACCOUNT"`
	STSEndpoint            string `env:"CSPIPE_STS_ENDPOINT" default:"https://sts.googleapis.com"`
	IAMCredentialsEndpoint string `env:"CSPIPE_IAMCREDENTIALS_ENDPOINT" default:"https://iamcredentials.googleapis.com"`
	// StorageEndpoint overrides the Cloud Storage JSON API endpoint (e.g. http://127.0.0.1:N/storage/v1/).
	StorageEndpoint string `env:"CSPIPE_STORAGE_ENDPOINT"`
	// Workers is the size of the classification pool; 0 means the number of CPUs.
	Workers int `env:"CSPIPE_WORKERS" default:"0"`
	TopK    int `env:"CSPIPE_TOP_K" default:"5"`

	// LauncherDir holds the attestation token file and the teeserver socket. Set by the launcher.
	LauncherDir string `env:"CSPIPE_LAUNCHER_DIR" default:"/run/container_launcher"`
}

// Limits the workload applies whatever the configuration says.
const (
	// MaxImageBytes is the largest image object read; a larger one is a too_large record.
	MaxImageBytes = 32 << 20
	// InFlightBytes bounds the image bytes read but not yet classified, across all fetchers.
	InFlightBytes = 3 * MaxImageBytes
	// MaxModelBytes is the largest model archive downloaded.
	MaxModelBytes = 512 << 20
	// MaxBatchItemBytes bounds one batch item object (a small JSON document).
	MaxBatchItemBytes = 64 << 10
	maxShards         = 1024
	maxTopK           = 100
	maxWorkers        = 256
)

// OperatorEnv lists, in field order, the environment names the operator may set. The image
// builder writes exactly these into tee.launch_policy.allow_env_override.
func OperatorEnv() []string {
	var out []string
	for _, k := range envconfig.Keys(Config{}) {
		if operatorKey(k.Name) {
			out = append(out, k.Name)
		}
	}
	return out
}

func operatorKey(name string) bool { return name != "CSPIPE_LAUNCHER_DIR" }

var (
	runIDRe    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	sha256Re   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	providerRe = regexp.MustCompile(`^projects/[0-9]+/locations/global/workloadIdentityPools/[a-z0-9-]{4,32}/providers/[a-z0-9-]{4,32}$`)
	saRe       = regexp.MustCompile(`^[a-z][a-z0-9-]{4,29}@[a-z0-9.-]+\.iam\.gserviceaccount\.com$`)
	bucketRe   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$`)
)

// LoadConfig reads and validates the configuration. Every problem is reported, each naming its
// variable. A Config that is returned together with an error still carries whatever was parsed
// (notably ResultsBucket and RunID), so the caller can report the failure in a summary.
func LoadConfig(getenv envconfig.Getenv) (Config, error) {
	var c Config
	if err := envconfig.Load(&c, getenv); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate checks every field; it is called once by LoadConfig.
func (c *Config) Validate() error {
	var errs []error
	bad := func(name, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, a...)))
	}
	if !runIDRe.MatchString(c.RunID) {
		bad("CSPIPE_RUN_ID", "%q is not a run id (letters, digits, '.', '_', '-'; at most 128)", c.RunID)
	}
	if c.ShardCount < 1 || c.ShardCount > maxShards {
		bad("CSPIPE_SHARD_COUNT", "%d is outside 1..%d", c.ShardCount, maxShards)
	} else if c.ShardIndex < 0 || c.ShardIndex >= c.ShardCount {
		bad("CSPIPE_SHARD_INDEX", "%d is outside 0..%d", c.ShardIndex, c.ShardCount-1)
	}
	if !bucketRe.MatchString(c.InputBucket) {
		bad("CSPIPE_INPUT_BUCKET", "%q is not a bucket name", c.InputBucket)
	}
	if !bucketRe.MatchString(c.ResultsBucket) {
		bad("CSPIPE_RESULTS_BUCKET", "%q is not a bucket name", c.ResultsBucket)
	}
	if c.BatchBucket != "" && !bucketRe.MatchString(c.BatchBucket) {
		bad("CSPIPE_BATCH_BUCKET", "%q is not a bucket name", c.BatchBucket)
	}
	if c.BatchBucket != "" && c.BatchPrefix == "" {
		bad("CSPIPE_BATCH_BUCKET", "set without CSPIPE_BATCH_PREFIX")
	}
	if c.InputPrefix != "" && c.BatchPrefix != "" {
		bad("CSPIPE_BATCH_PREFIX", "set together with CSPIPE_INPUT_PREFIX; set one of them")
	}
	if _, _, err := ParseGCSURL(c.Model); err != nil {
		bad("CSPIPE_MODEL", "%v", err)
	}
	if c.ModelSHA256 != "" && !sha256Re.MatchString(c.ModelSHA256) {
		bad("CSPIPE_MODEL_SHA256", "%q is not 64 lower-case hex digits", c.ModelSHA256)
	}
	if !providerRe.MatchString(strings.TrimPrefix(c.WIPProvider, "//iam.googleapis.com/")) {
		bad("CSPIPE_WIP_PROVIDER", "%q is not projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER", c.WIPProvider)
	}
	if c.PrimusServiceAccount != "" && !saRe.MatchString(c.PrimusServiceAccount) {
		bad("CSPIPE_PRIMUS_SERVICE_ACCOUNT", "%q is not a service account email", c.PrimusServiceAccount)
	}
	for _, e := range []struct{ name, v string }{
		{"CSPIPE_STS_ENDPOINT", c.STSEndpoint},
		{"CSPIPE_IAMCREDENTIALS_ENDPOINT", c.IAMCredentialsEndpoint},
		{"CSPIPE_STORAGE_ENDPOINT", c.StorageEndpoint},
	} {
		if e.v == "" && e.name == "CSPIPE_STORAGE_ENDPOINT" {
			continue
		}
		if err := CheckEndpoint(e.v); err != nil {
			bad(e.name, "%v", err)
		}
	}
	if c.Workers < 0 || c.Workers > maxWorkers {
		bad("CSPIPE_WORKERS", "%d is outside 0..%d", c.Workers, maxWorkers)
	}
	if c.TopK < 1 || c.TopK > maxTopK {
		bad("CSPIPE_TOP_K", "%d is outside 1..%d", c.TopK, maxTopK)
	}
	if c.LauncherDir == "" || !strings.HasPrefix(c.LauncherDir, "/") {
		bad("CSPIPE_LAUNCHER_DIR", "%q is not an absolute path", c.LauncherDir)
	}
	return errors.Join(errs...)
}

// CheckEndpoint accepts https on a googleapis.com host, or http/https on a loopback host (the
// local stack). Anything else is refused: the STS, IAM Credentials and storage endpoints receive
// the attestation token and Primus's access token, so an operator-chosen host could capture them.
func CheckEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
		if u.Scheme == "http" || u.Scheme == "https" {
			return nil
		}
	}
	if u.Scheme == "https" && (host == "googleapis.com" || strings.HasSuffix(host, ".googleapis.com")) {
		return nil
	}
	return fmt.Errorf("%q must be https on a googleapis.com host, or a loopback address", raw)
}

// ParseGCSURL splits gs://bucket/object.
func ParseGCSURL(s string) (bucket, object string, err error) {
	rest, ok := strings.CutPrefix(s, "gs://")
	if !ok {
		return "", "", fmt.Errorf("%q is not gs://bucket/object", s)
	}
	bucket, object, ok = strings.Cut(rest, "/")
	if !ok || !bucketRe.MatchString(bucket) || object == "" {
		return "", "", fmt.Errorf("%q is not gs://bucket/object", s)
	}
	return bucket, object, nil
}

// Audience is the STS audience of the configured provider.
func (c *Config) Audience() string {
	return "//iam.googleapis.com/" + strings.TrimPrefix(c.WIPProvider, "//iam.googleapis.com/")
}

// STSTokenURL is the STS token endpoint (the configured URL, with /v1/token added when it has no path).
func (c *Config) STSTokenURL() string {
	u := strings.TrimSuffix(c.STSEndpoint, "/")
	if p, err := url.Parse(u); err == nil && (p.Path == "" || p.Path == "/") {
		return u + "/v1/token"
	}
	return u
}

// ImpersonationURL is the generateAccessToken URL for the Primus service account ("" when none).
func (c *Config) ImpersonationURL() string {
	if c.PrimusServiceAccount == "" {
		return ""
	}
	return strings.TrimSuffix(c.IAMCredentialsEndpoint, "/") + "/v1/projects/-/serviceAccounts/" + c.PrimusServiceAccount + ":generateAccessToken"
}

// WorkerCount is the pool size: Workers, or the number of CPUs.
func (c *Config) WorkerCount() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return runtime.NumCPU()
}

// TokenFile is the launcher's default attestation token file.
func (c *Config) TokenFile() string {
	return strings.TrimSuffix(c.LauncherDir, "/") + "/attestation_verifier_claims_token"
}

// TEEServerSocket is the launcher's teeserver unix socket.
func (c *Config) TEEServerSocket() string {
	return strings.TrimSuffix(c.LauncherDir, "/") + "/teeserver.sock"
}

// itemsBucket is the bucket listed for batch items.
func (c *Config) itemsBucket() string {
	if c.BatchBucket != "" {
		return c.BatchBucket
	}
	return c.InputBucket
}
