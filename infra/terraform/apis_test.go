package terraform_test

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The services a resource type needs enabled in the project it is created in. The first matching
// prefix wins; a type matching none fails the test until it is added here.
var servicesForType = []struct {
	prefix   string
	services []string
}{
	// gen2 functions are built by Cloud Build into Artifact Registry, run on Cloud Run and are
	// triggered through Eventarc.
	{"google_cloudfunctions2_function", []string{"cloudfunctions.googleapis.com", "cloudbuild.googleapis.com", "artifactregistry.googleapis.com", "run.googleapis.com", "eventarc.googleapis.com"}},
	{"google_cloud_run_", []string{"run.googleapis.com"}},
	{"google_storage_", []string{"storage.googleapis.com"}},
	{"google_pubsub_", []string{"pubsub.googleapis.com"}},
	{"google_iam_workload_identity_pool", []string{"iam.googleapis.com", "sts.googleapis.com"}},
	{"google_project_iam_custom_role", []string{"iam.googleapis.com"}},
	{"google_service_account", []string{"iam.googleapis.com"}},
	{"google_project_iam_member", []string{"cloudresourcemanager.googleapis.com"}},
	{"google_project_service", nil}, // Service Usage is on in every project; it enables the rest
	{"google_project", []string{"cloudresourcemanager.googleapis.com"}},
	{"google_artifact_registry_", []string{"artifactregistry.googleapis.com"}},
	{"google_cloudbuild_", []string{"cloudbuild.googleapis.com"}},
	{"google_workflows_", []string{"workflows.googleapis.com"}},
	{"google_cloud_scheduler_", []string{"cloudscheduler.googleapis.com"}},
	{"google_compute_", []string{"compute.googleapis.com"}},
	{"archive_", nil}, // local
}

// What the code running in each project calls beyond the resources Terraform declares there.
var runtimeServices = map[string]map[string]string{
	"primus": {
		"iamcredentials.googleapis.com": "the attested workload impersonates primus-sa",
		"sts.googleapis.com":            "the attested workload exchanges its token",
		"logging.googleapis.com":        "the functions and builds write logs",
	},
	"secundus": {
		"compute.googleapis.com":               "the launch workflow creates the workload VMs",
		"confidentialcomputing.googleapis.com": "the workload VMs attest",
		"workflowexecutions.googleapis.com":    "ScheduleRun starts executions",
		"logging.googleapis.com":               "the functions, VMs and workflow write logs",
	},
}

// resourceTypes lists the resource and data source types a root declares, with those of the local
// modules it calls.
func resourceTypes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	seen := map[string]bool{}
	var walk func(dir string)
	walk = func(dir string) {
		if seen[dir] {
			return
		}
		seen[dir] = true
		r := loadRoot(t, dir)
		for _, b := range r.blocks {
			switch {
			case (b.Type == "resource" || b.Type == "data") && len(b.Labels) == 2:
				out[b.Labels[0]] = dir + " " + b.Type + " " + b.Labels[0] + "." + b.Labels[1]
			case b.Type == "module":
				walk(filepath.Join(dir, str(t, nil, b.Body.Attributes["source"].Expr)))
			}
		}
	}
	walk(dir)
	return out
}

func enabledServices(t *testing.T, dir string) []string {
	t.Helper()
	r := loadRoot(t, dir)
	ctx := r.evalCtx(t, sampleVars)
	if r.resource(t, "resource", "google_project_service", "apis").Body.Attributes["for_each"] == nil {
		t.Fatalf("%s: google_project_service.apis has no for_each", dir)
	}
	if got := traversal(t, r.resource(t, "resource", "google_project_service", "apis").Body.Attributes["service"].Expr); got != "each.value" {
		t.Fatalf("%s: google_project_service.apis enables %s, want each.value over local.apis", dir, got)
	}
	v := ctx.Variables["local"].GetAttr("apis")
	var out []string
	for _, s := range v.AsValueSlice() {
		out = append(out, s.AsString())
	}
	return out
}

func TestEveryNeededAPIEnabled(t *testing.T) {
	for _, dir := range []string{"primus", "secundus"} {
		enabled := enabledServices(t, dir)
		needed := map[string]string{}
		for typ, where := range resourceTypes(t, dir) {
			i := slices.IndexFunc(servicesForType, func(s struct {
				prefix   string
				services []string
			}) bool {
				return strings.HasPrefix(typ, s.prefix)
			})
			if i < 0 {
				t.Errorf("%s: no service known for %s; add it to servicesForType", dir, where)
				continue
			}
			for _, s := range servicesForType[i].services {
				needed[s] = where
			}
		}
		maps.Copy(needed, runtimeServices[dir])
		for s, why := range needed {
			if !slices.Contains(enabled, s) {
				t.Errorf("%s: %s is not enabled, but %s needs it", dir, s, why)
			}
		}
		for _, s := range enabled {
			if _, ok := needed[s]; !ok {
				t.Errorf("%s: %s is enabled but nothing declared or called needs it", dir, s)
			}
		}
	}
}
