package batch

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func argTemplate() RunTemplate {
	return RunTemplate{Project: "p", Zone: "europe-west4-a", MachineType: "m", ServiceAccount: "w@p.iam.gserviceaccount.com",
		ResultsBucket: "r", Model: "gs://m/model.tar.gz", WIPProvider: "projects/1/locations/global/workloadIdentityPools/p/providers/x",
		PrimusServiceAccount: "s@q.iam.gserviceaccount.com", Timeout: time.Hour, Network: "default", ExternalIP: true}
}

// The workflow's and the workload's storage endpoints are different settings: the workflow gets
// a base it appends /storage/v1/… to, the workload gets its client's endpoint. Sending one value
// to both doubled the path (…/storage/v1//storage/v1/b/…), so the workflow's failure summaries
// were refused.
func TestArgumentKeepsStorageEndpointsApart(t *testing.T) {
	tmpl := argTemplate()
	tmpl.StorageEndpoint = "http://127.0.0.1:4443/"
	tmpl.WorkloadStorageEndpoint = "http://127.0.0.1:4443/storage/v1/"
	tmpl.Subnetwork = "workloads"
	tmpl.ExternalIP = false
	if err := tmpl.Validate(); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(o *Options) { o.Run = tmpl })
	img, err := ParseImageRef("us-docker.pkg.dev/p/r/w@sha256:" + strings.Repeat("b", 64))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := e.s.argument(firstBatch, img)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"storage_endpoint": "http://127.0.0.1:4443", "network": "default", "subnetwork": "workloads", "external_ip": false}
	for k, v := range want {
		if diff := cmp.Diff(v, got[k]); diff != "" {
			t.Errorf("%s (-want +got)\n%s", k, diff)
		}
	}
	if e := got["env"].(map[string]any)["CSPIPE_STORAGE_ENDPOINT"]; e != "http://127.0.0.1:4443/storage/v1/" {
		t.Errorf("workload's CSPIPE_STORAGE_ENDPOINT = %v, want its own setting", e)
	}
}

func TestRunTemplateRefusesBadLaunchSettings(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*RunTemplate)
		wantErr string
	}{
		{"storage base with the API path", func(r *RunTemplate) { r.StorageEndpoint = "http://127.0.0.1:4443/storage/v1/" }, "has a path"},
		{"storage base without scheme", func(r *RunTemplate) { r.StorageEndpoint = "127.0.0.1:4443" }, "not an http(s)"},
		{"network with a slash typo", func(r *RunTemplate) { r.Network = "global/networks/x" }, "network"},
		{"upper-case network", func(r *RunTemplate) { r.Network = "Default" }, "network"},
		{"subnetwork URL of another shape", func(r *RunTemplate) { r.Subnetwork = "projects/p/global/subnetworks/s" }, "subnetwork"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := argTemplate()
			tc.edit(&tmpl)
			err := tmpl.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
	ok := argTemplate()
	ok.Network, ok.Subnetwork = "projects/host-proj/global/networks/shared", "projects/host-proj/regions/europe-west4/subnetworks/ws"
	if err := ok.Validate(); err != nil {
		t.Errorf("shared-VPC paths refused: %v", err)
	}
}
