package terraform_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Destroy works: provider 7.x defaults a workflow's deletion_protection to true.
func TestWorkflowDestroyable(t *testing.T) {
	r := loadRoot(t, "secundus")
	ctx := r.evalCtx(t, sampleVars)
	wf := r.resource(t, "resource", "google_workflows_workflow", "launch")
	a, ok := wf.Body.Attributes["deletion_protection"]
	if !ok {
		t.Fatal("google_workflows_workflow.launch sets no deletion_protection: provider 7.x defaults it to true and `make destroy` fails")
	}
	v, diags := a.Expr.Value(ctx)
	if diags.HasErrors() || !v.False() {
		t.Errorf("deletion_protection evaluates to %#v by default, want false", v)
	}
}

// Versions pinned to what the registry serves (and the CI mirror holds); no lock file committed.
func TestProviderVersionsPinned(t *testing.T) {
	want := map[string]string{"hashicorp/google": "~> 7.45", "hashicorp/archive": "~> 2.8"}
	for _, dir := range []string{"primus", "secundus"} {
		src, err := os.ReadFile(filepath.Join(dir, "versions.tf"))
		if err != nil {
			t.Fatal(err)
		}
		for source, constraint := range want {
			re := regexp.MustCompile(`source\s*=\s*"` + regexp.QuoteMeta(source) + `"\s*\n\s*version\s*=\s*"` + regexp.QuoteMeta(constraint) + `"`)
			if !re.Match(src) {
				t.Errorf("%s/versions.tf: %s is not constrained to %q", dir, source, constraint)
			}
		}
	}
	gi, err := os.ReadFile(filepath.Join(repoRoot, ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\.terraform\.lock\.hcl$`).Match(gi) {
		t.Error(".gitignore does not keep .terraform.lock.hcl out (one made from the test mirror has hashes the registry's builds do not match)")
	}
}

// Every function names its build account and image repository, from function_support.
func TestFunctionBuildAccountExplicit(t *testing.T) {
	ef := loadRoot(t, "modules/event_function")
	build := block(t, ef.resource(t, "resource", "google_cloudfunctions2_function", "function"), "build_config")
	for attr, want := range map[string]string{"service_account": "var.build_service_account", "docker_repository": "var.docker_repository"} {
		a, ok := build.Body.Attributes[attr]
		if !ok {
			t.Errorf("build_config sets no %s", attr)
			continue
		}
		if got := traversal(t, a.Expr); got != want {
			t.Errorf("build_config.%s = %s, want %s", attr, got, want)
		}
	}
	for _, dir := range []string{"primus", "secundus"} {
		r := loadRoot(t, dir)
		for _, b := range r.blocks {
			if b.Type != "module" || str(t, nil, b.Body.Attributes["source"].Expr) != eventFunctionModule {
				continue
			}
			for attr, want := range map[string]string{"build_service_account": "module.function_support.build_service_account", "docker_repository": "module.function_support.docker_repository"} {
				if a, ok := b.Body.Attributes[attr]; !ok || traversal(t, a.Expr) != want {
					t.Errorf("%s module.%s: %s must be %s", dir, b.Labels[0], attr, want)
				}
			}
		}
	}
	fs := loadRoot(t, functionSupportDir)
	if got := traversal(t, fs.resource(t, "resource", "google_artifact_registry_repository_iam_member", "build_pushes").Body.Attributes["repository"].Expr); got != "google_artifact_registry_repository.functions.name" {
		t.Errorf("the build account may push to %s; want only the functions' repository", got)
	}
}

// The VM network settings are Terraform variables with the agreed defaults (the env wiring is
// checked both ways by TestFunctionsMatchCode).
func TestNetworkVariables(t *testing.T) {
	r := loadRoot(t, "secundus")
	ctx := r.evalCtx(t, sampleVars)
	vars := ctx.Variables["var"]
	for _, name := range []string{"network", "subnetwork", "external_ip"} {
		if !vars.Type().HasAttribute(name) {
			t.Fatalf("the Secundus root has no variable %s", name)
		}
	}
	if got := vars.GetAttr("network").AsString(); got != "default" {
		t.Errorf("network defaults to %q, want default", got)
	}
	if got := vars.GetAttr("subnetwork").AsString(); got != "" {
		t.Errorf("subnetwork defaults to %q, want empty", got)
	}
	if !vars.GetAttr("external_ip").True() {
		t.Error("external_ip must default to true")
	}
	env, diags := r.locals["schedule_env"].Expr.Value(ctx)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	m := env.AsValueMap()
	for k, want := range map[string]string{"CSPIPE_NETWORK": "default", "CSPIPE_SUBNETWORK": "", "CSPIPE_EXTERNAL_IP": "true"} {
		if v, ok := m[k]; !ok || v.AsString() != want {
			t.Errorf("ScheduleRun's %s = %#v, want %q", k, v, want)
		}
	}
}

// The deploy guide (README) names every API each root enables, the deployer's actAs grant on
// every account a function, build, trigger or the workflow runs as, the org policies that most
// often break a first deploy, and Google's id limits.
func TestDeployGuide(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	guide := string(readme)
	if i := strings.Index(guide, "## Deploying to Google Cloud"); i >= 0 {
		guide = guide[i:]
	} else {
		t.Fatal("README has no '## Deploying to Google Cloud' section")
	}
	for _, dir := range []string{"primus", "secundus"} {
		for _, api := range enabledServices(t, dir) {
			if !strings.Contains(guide, api) {
				t.Errorf("the deploy guide does not list %s (enabled in %s)", api, dir)
			}
		}
	}
	runAs := []string{"cspipe-pin-image", "cspipe-register-model", "cspipe-schedule-run", "cspipe-publish-results",
		"cspipe-launch", "cspipe-build", "cspipe-function-build", "cspipe-trigger"}
	for _, dir := range []string{"primus", "secundus", functionSupportDir} {
		r := loadRoot(t, dir)
		for _, b := range r.resourcesOf("google_service_account") {
			if id, diags := b.Body.Attributes["account_id"].Expr.Value(nil); !diags.HasErrors() && !strings.Contains(strings.Join(runAs, " "), id.AsString()) {
				t.Errorf("%s creates service account %s, which this test does not know to check", dir, id.AsString())
			}
		}
	}
	for _, s := range append(runAs,
		"roles/iam.serviceAccountUser", "roles/iam.roleAdmin", "roles/resourcemanager.projectIamAdmin",
		"compute.skipDefaultNetworkCreation", "compute.vmExternalIpAccess", "iam.allowedPolicyMemberDomains",
		"iam.automaticIamGrantsForDefaultServiceAccounts", "gcp.resourceLocations",
		"4–32", "6–30", "3–63", "GCR_TOPIC_EXISTS", "external_ip", "Private Google Access") {
		if !strings.Contains(guide, s) {
			t.Errorf("the deploy guide does not mention %s", s)
		}
	}
}

// Primus's `gcr` topic is created, or, with GCR_TOPIC_EXISTS, an existing one is used as it is.
func TestGcrTopicAdoptable(t *testing.T) {
	r := loadRoot(t, "primus")
	for _, exists := range []string{"false", "true"} {
		vars := map[string]string{"GCR_TOPIC_EXISTS": exists}
		for k, v := range sampleVars {
			vars[k] = v
		}
		ctx := r.evalCtx(t, vars)
		count := func(kind string) int64 {
			b := r.resource(t, kind, "google_pubsub_topic", "gcr")
			if got := str(t, ctx, b.Body.Attributes["name"].Expr); got != "gcr" {
				t.Errorf("%s google_pubsub_topic.gcr is named %q; Artifact Registry publishes only to gcr", kind, got)
			}
			c, ok := b.Body.Attributes["count"]
			if !ok {
				t.Fatalf("%s google_pubsub_topic.gcr has no count: it cannot follow GCR_TOPIC_EXISTS", kind)
			}
			v, diags := c.Expr.Value(ctx)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			n, _ := v.AsBigFloat().Int64()
			return n
		}
		res, data := count("resource"), count("data")
		if exists == "true" && (res != 0 || data != 1) || exists == "false" && (res != 1 || data != 0) {
			t.Errorf("GCR_TOPIC_EXISTS=%s: %d created, %d read; want exactly one, read iff it exists", exists, res, data)
		}
	}
	moved := false
	for _, b := range r.blocks {
		if b.Type == "moved" && traversal(t, b.Body.Attributes["from"].Expr) == "google_pubsub_topic.gcr" {
			moved = true
		}
	}
	if !moved {
		t.Error("no moved block from google_pubsub_topic.gcr: an existing deployment would destroy and re-create its gcr topic")
	}
	a := r.locals["gcr_topic_id"]
	src := string(r.files[a.SrcRange.Filename][a.SrcRange.Start.Byte:a.SrcRange.End.Byte])
	if !strings.Contains(src, "var.GCR_TOPIC_EXISTS ? data.google_pubsub_topic.gcr[0].id : google_pubsub_topic.gcr[0].id") {
		t.Errorf("local.gcr_topic_id = %s; want the data source iff GCR_TOPIC_EXISTS", src)
	}
}
