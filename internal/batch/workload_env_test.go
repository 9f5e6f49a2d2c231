package batch

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/envconfig"
	"github.com/cspipe/cspipe/internal/workload"
)

// workflowAdds are the variables launch.yaml sets on each VM itself.
var workflowAdds = []string{"CSPIPE_RUN_ID", "CSPIPE_SHARD_INDEX", "CSPIPE_SHARD_COUNT"}

// Every variable the workload requires must reach it: from the execution argument ScheduleRun
// builds, or from the workflow. And ScheduleRun must send nothing the workload does not read.
func TestArgumentEnvCoversWorkloadConfig(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Run.ModelSHA256 = strings.Repeat("a", 64)
		o.Run.STSEndpoint, o.Run.IAMCredentialsEndpoint = "http://127.0.0.1:1", "http://127.0.0.1:2"
		o.Run.StorageEndpoint, o.Run.WorkloadStorageEndpoint = "http://127.0.0.1:3", "http://127.0.0.1:3/storage/v1/"
	})
	img, err := ParseImageRef("us-docker.pkg.dev/p/r/w@sha256:" + strings.Repeat("b", 64))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := e.s.argument(firstBatch, img)
	if err != nil {
		t.Fatal(err)
	}
	var arg Argument
	if err := json.Unmarshal([]byte(raw), &arg); err != nil {
		t.Fatal(err)
	}
	provided := map[string]bool{}
	for k := range arg.Env {
		provided[k] = true
	}
	for _, k := range workflowAdds {
		if provided[k] {
			t.Errorf("ScheduleRun sets %s, which the workflow sets per shard", k)
		}
		provided[k] = true
	}
	read := map[string]bool{}
	for _, k := range envconfig.Keys(workload.Config{}) {
		read[k.Name] = true
		if k.Required && !provided[k.Name] {
			t.Errorf("the workload requires %s but neither ScheduleRun nor the workflow sets it", k.Name)
		}
	}
	for k := range provided {
		if !read[k] {
			t.Errorf("%s is sent to the workload, which never reads it", k)
		}
	}
}
