package schedulerun

import (
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/batch/executionstest"
	"github.com/cspipe/cspipe/internal/batch/workflowexec"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/envconfig"
)

var digest = "sha256:" + strings.Repeat("ab", 32)

func baseEnv() map[string]string {
	return map[string]string{
		"CSPIPE_INPUT_BUCKET": "input", "CSPIPE_STATE_BUCKET": "state", "CSPIPE_WORKFLOW": "projects/p/locations/l/workflows/launch",
		"CSPIPE_PROJECT": "secundus", "CSPIPE_ZONE": "europe-west4-a",
		"CSPIPE_WORKLOAD_SERVICE_ACCOUNT": "workload-sa@secundus.iam.gserviceaccount.com",
		"CSPIPE_RESULTS_BUCKET":           "results", "CSPIPE_MODEL": "gs://models/m.tar.gz",
		"CSPIPE_WIP_PROVIDER":           "projects/1/locations/global/workloadIdentityPools/p/providers/v",
		"CSPIPE_PRIMUS_SERVICE_ACCOUNT": "primus-sa@primus.iam.gserviceaccount.com",
		"CSPIPE_WORKLOAD_IMAGE":         "europe-docker.pkg.dev/primus/w/infer@" + digest,
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(map[string]string)
		wantErr string
	}{
		{"pinned image", func(map[string]string) {}, ""},
		{"pin pointer", func(m map[string]string) {
			delete(m, "CSPIPE_WORKLOAD_IMAGE")
			m["CSPIPE_PIN_POINTER"] = "gs://audit/pins/latest.json"
		}, ""},
		{"tag refused", func(m map[string]string) { m["CSPIPE_WORKLOAD_IMAGE"] = "europe-docker.pkg.dev/primus/w/infer:latest" }, "CSPIPE_WORKLOAD_IMAGE"},
		{"both image settings", func(m map[string]string) { m["CSPIPE_PIN_POINTER"] = "gs://audit/pins/latest.json" }, "only one"},
		{"no image setting", func(m map[string]string) { delete(m, "CSPIPE_WORKLOAD_IMAGE") }, "CSPIPE_PIN_POINTER"},
		{"bad pin pointer", func(m map[string]string) {
			delete(m, "CSPIPE_WORKLOAD_IMAGE")
			m["CSPIPE_PIN_POINTER"] = "audit/pins/latest.json"
		}, "CSPIPE_PIN_POINTER"},
		{"bad workflow", func(m map[string]string) { m["CSPIPE_WORKFLOW"] = "launch" }, "workflow"},
		{"custom network without external IP", func(m map[string]string) {
			m["CSPIPE_NETWORK"], m["CSPIPE_SUBNETWORK"], m["CSPIPE_EXTERNAL_IP"] = "vpc-a", "workloads", "false"
		}, ""},
		{"bad network", func(m map[string]string) { m["CSPIPE_NETWORK"] = "Bad_Net" }, "network"},
		{"bad subnetwork", func(m map[string]string) { m["CSPIPE_SUBNETWORK"] = "regions/x" }, "subnetwork"},
		{"bad external ip", func(m map[string]string) { m["CSPIPE_EXTERNAL_IP"] = "maybe" }, "CSPIPE_EXTERNAL_IP"},
		// The workload's endpoint given as the workflow's: the workflow would double the path.
		{"workflow storage endpoint with the API path", func(m map[string]string) {
			m["CSPIPE_STORAGE_ENDPOINT"] = "http://127.0.0.1:4443/storage/v1/"
		}, "storage endpoint"},
		{"bad quiet", func(m map[string]string) { m["CSPIPE_BATCH_QUIET"] = "500ms" }, "quiet"},
		{"max wait below quiet", func(m map[string]string) { m["CSPIPE_BATCH_MAX_WAIT"] = "5s" }, "max wait"},
		{"zero shards", func(m map[string]string) { m["CSPIPE_MAX_SHARDS"] = "0" }, "shards"},
		{"zero images per shard", func(m map[string]string) { m["CSPIPE_IMAGES_PER_SHARD"] = "0" }, "images per shard"},
		{"state in the input bucket", func(m map[string]string) { m["CSPIPE_STATE_BUCKET"] = "input" }, "state bucket"},
	}
	exec := workflowexec.New(nil) // never called here
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := baseEnv()
			tc.edit(env)
			var cfg Config
			if err := envconfig.Load(&cfg, envconfig.MapEnv(env)); err != nil {
				if tc.wantErr != "" && strings.Contains(err.Error(), tc.wantErr) {
					return
				}
				t.Fatal(err)
			}
			_, err := New(cfg, Deps{Store: blob.NewMemory(), Executions: exec})
			if tc.wantErr == "" && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.wantErr)
			}
		})
	}
}

func TestConfigRequired(t *testing.T) {
	var cfg Config
	err := envconfig.Load(&cfg, envconfig.MapEnv(nil))
	if err == nil {
		t.Fatal("empty environment accepted")
	}
	for _, k := range envconfig.Keys(cfg) {
		if k.Required && !strings.Contains(err.Error(), k.Name) {
			t.Errorf("missing %s not reported", k.Name)
		}
	}
}

// TestFromEnv builds the deployed function from the environment against a local executions
// endpoint (the storage client needs no network to be built).
func TestFromEnv(t *testing.T) {
	srv, err := executionstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	env := baseEnv()
	env["CSPIPE_EXECUTIONS_ENDPOINT"] = srv.Addr
	t.Setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:1")
	f, err := fromEnv(t.Context(), envconfig.MapEnv(env))
	if err != nil || f == nil {
		t.Fatalf("fromEnv: %v", err)
	}
	delete(env, "CSPIPE_INPUT_BUCKET")
	if _, err := fromEnv(t.Context(), envconfig.MapEnv(env)); err == nil {
		t.Error("missing CSPIPE_INPUT_BUCKET accepted")
	}
}

// The network launch settings default to what a fresh project has: the default network and an
// external IP.
func TestConfigNetworkDefaults(t *testing.T) {
	var cfg Config
	if err := envconfig.Load(&cfg, envconfig.MapEnv(baseEnv())); err != nil {
		t.Fatal(err)
	}
	run := cfg.options().Run
	if run.Network != "default" || run.Subnetwork != "" || !run.ExternalIP {
		t.Errorf("network settings = %q %q %v, want default, none, external IP", run.Network, run.Subnetwork, run.ExternalIP)
	}
}
