package workload

import (
	"maps"
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/envconfig"
	"github.com/google/go-cmp/cmp"
)

func validEnv() map[string]string {
	return map[string]string{
		"CSPIPE_RUN_ID":                 "run-1",
		"CSPIPE_INPUT_BUCKET":           "secundus-input",
		"CSPIPE_RESULTS_BUCKET":         "secundus-results",
		"CSPIPE_MODEL":                  "gs://primus-models/mobilenet.tar.gz",
		"CSPIPE_WIP_PROVIDER":           "projects/123/locations/global/workloadIdentityPools/primus-pool/providers/attestation",
		"CSPIPE_PRIMUS_SERVICE_ACCOUNT": "primus-sa@primus-proj.iam.gserviceaccount.com",
	}
}

func TestOperatorEnvMatchesContract(t *testing.T) {
	// docs/contracts.md, "Workload environment (tee-env-*)".
	want := []string{"CSPIPE_RUN_ID", "CSPIPE_SHARD_INDEX", "CSPIPE_SHARD_COUNT", "CSPIPE_INPUT_BUCKET",
		"CSPIPE_INPUT_PREFIX", "CSPIPE_BATCH_PREFIX", "CSPIPE_BATCH_BUCKET", "CSPIPE_RESULTS_BUCKET", "CSPIPE_MODEL",
		"CSPIPE_MODEL_SHA256", "CSPIPE_WIP_PROVIDER", "CSPIPE_PRIMUS_SERVICE_ACCOUNT", "CSPIPE_STS_ENDPOINT",
		"CSPIPE_IAMCREDENTIALS_ENDPOINT", "CSPIPE_STORAGE_ENDPOINT", "CSPIPE_WORKERS", "CSPIPE_TOP_K"}
	if diff := cmp.Diff(want, OperatorEnv()); diff != "" {
		t.Errorf("OperatorEnv (-want +got):\n%s", diff)
	}
}

func TestLoadConfigValid(t *testing.T) {
	c, err := LoadConfig(envconfig.MapEnv(validEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Audience(), "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/primus-pool/providers/attestation"; got != want {
		t.Errorf("Audience = %q, want %q", got, want)
	}
	if got, want := c.STSTokenURL(), "https://sts.googleapis.com/v1/token"; got != want {
		t.Errorf("STSTokenURL = %q, want %q", got, want)
	}
	if got, want := c.ImpersonationURL(), "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/primus-sa@primus-proj.iam.gserviceaccount.com:generateAccessToken"; got != want {
		t.Errorf("ImpersonationURL = %q, want %q", got, want)
	}
	if c.TokenFile() != "/run/container_launcher/attestation_verifier_claims_token" || c.TEEServerSocket() != "/run/container_launcher/teeserver.sock" {
		t.Errorf("launcher paths = %q, %q", c.TokenFile(), c.TEEServerSocket())
	}
	if c.TopK != 5 || c.ShardCount != 1 || c.WorkerCount() < 1 {
		t.Errorf("defaults: %+v", c)
	}
}

func TestLoadConfigInvalid(t *testing.T) {
	tests := []struct {
		name    string
		set     map[string]string
		wantSub string
	}{
		{"missing run id", map[string]string{"CSPIPE_RUN_ID": ""}, "CSPIPE_RUN_ID is required"},
		{"bad run id", map[string]string{"CSPIPE_RUN_ID": "../x"}, "CSPIPE_RUN_ID"},
		{"shard index out of range", map[string]string{"CSPIPE_SHARD_INDEX": "2", "CSPIPE_SHARD_COUNT": "2"}, "CSPIPE_SHARD_INDEX: 2 is outside 0..1"},
		{"shard count not int", map[string]string{"CSPIPE_SHARD_COUNT": "two"}, "CSPIPE_SHARD_COUNT"},
		{"model not gs", map[string]string{"CSPIPE_MODEL": "https://x/y"}, "CSPIPE_MODEL"},
		{"bad sha", map[string]string{"CSPIPE_MODEL_SHA256": "ABC"}, "CSPIPE_MODEL_SHA256"},
		{"bad provider", map[string]string{"CSPIPE_WIP_PROVIDER": "projects/x/providers/y"}, "CSPIPE_WIP_PROVIDER"},
		{"bad sa", map[string]string{"CSPIPE_PRIMUS_SERVICE_ACCOUNT": "root@example.com"}, "CSPIPE_PRIMUS_SERVICE_ACCOUNT"},
		{"sts off google", map[string]string{"CSPIPE_STS_ENDPOINT": "https://evil.example.com"}, "CSPIPE_STS_ENDPOINT"},
		{"sts plain http google", map[string]string{"CSPIPE_STS_ENDPOINT": "http://sts.googleapis.com"}, "CSPIPE_STS_ENDPOINT"},
		{"storage off google", map[string]string{"CSPIPE_STORAGE_ENDPOINT": "http://10.0.0.1:4443/storage/v1/"}, "CSPIPE_STORAGE_ENDPOINT"},
		{"both prefixes", map[string]string{"CSPIPE_INPUT_PREFIX": "a/", "CSPIPE_BATCH_PREFIX": "b/"}, "CSPIPE_BATCH_PREFIX"},
		{"top k zero", map[string]string{"CSPIPE_TOP_K": "0"}, "CSPIPE_TOP_K"},
		{"workers negative", map[string]string{"CSPIPE_WORKERS": "-1"}, "CSPIPE_WORKERS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := validEnv()
			maps.Copy(env, tc.set)
			c, err := LoadConfig(envconfig.MapEnv(env))
			if err == nil || !strings.Contains(err.Error(), tc.wantSub) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantSub)
			}
			if c.ResultsBucket != "secundus-results" {
				t.Errorf("ResultsBucket = %q: a failed config must still carry it for the summary", c.ResultsBucket)
			}
		})
	}
}

func TestLoopbackEndpointsAccepted(t *testing.T) {
	env := validEnv()
	env["CSPIPE_STS_ENDPOINT"] = "http://127.0.0.1:9000"
	env["CSPIPE_IAMCREDENTIALS_ENDPOINT"] = "http://localhost:9001/"
	env["CSPIPE_STORAGE_ENDPOINT"] = "http://127.0.0.1:4443/storage/v1/"
	c, err := LoadConfig(envconfig.MapEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.STSTokenURL(); got != "http://127.0.0.1:9000/v1/token" {
		t.Errorf("STSTokenURL = %q", got)
	}
}
