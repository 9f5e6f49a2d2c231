package terraform_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Checks that each grant is one Google honours and no broader than the code needs. Each rule is a
// function over a parsed root, run on the real roots and on a snippet of the grants main shipped
// before (which each rule must refuse, so a rule that cannot fail is caught too).

// Services whose IAM checks support resource attributes (resource.name, resource.type) in IAM
// Conditions, among those cspipe grants on. IAM (workload identity pools and providers),
// Workflows, Pub/Sub and Cloud Run are not: a condition on resource.name there never matches.
var resourceAttributeServices = []string{"storage", "compute"}

// grantServices returns the services a grant's role covers: the role's service for a predefined
// role, the permissions' services for a custom role declared in the same root.
func grantServices(t *testing.T, r *root, ctx *hcl.EvalContext, b *hclsyntax.Block) []string {
	t.Helper()
	switch b.Labels[0] {
	case "google_storage_bucket_iam_member":
		return []string{"storage"}
	case "google_pubsub_topic_iam_member", "google_pubsub_subscription_iam_member":
		return []string{"pubsub"}
	case "google_service_account_iam_member":
		return []string{"iam"}
	case "google_cloud_run_service_iam_member":
		return []string{"run"}
	case "google_artifact_registry_repository_iam_member":
		return []string{"artifactregistry"}
	}
	role := b.Body.Attributes["role"].Expr
	if tr, diags := hcl.AbsTraversalForExpr(role); !diags.HasErrors() && tr.RootName() == "google_project_iam_custom_role" {
		custom := r.resource(t, "resource", "google_project_iam_custom_role", traversalStep(tr, 1))
		perms, diags := custom.Body.Attributes["permissions"].Expr.Value(ctx)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		var out []string
		for _, p := range perms.AsValueSlice() {
			svc, _, _ := strings.Cut(p.AsString(), ".")
			if !slices.Contains(out, svc) {
				out = append(out, svc)
			}
		}
		return out
	}
	name := strings.TrimPrefix(str(t, ctx, role), "roles/")
	svc, _, _ := strings.Cut(name, ".")
	return []string{svc}
}

func traversalStep(tr hcl.Traversal, i int) string {
	if a, ok := tr[i].(hcl.TraverseAttr); ok {
		return a.Name
	}
	return ""
}

// grants lists the IAM member resources of a root.
func grants(r *root) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range r.blocks {
		if b.Type == "resource" && len(b.Labels) == 2 && strings.HasSuffix(b.Labels[0], "_iam_member") {
			out = append(out, b)
		}
	}
	return out
}

func conditionSource(r *root, b *hclsyntax.Block) (string, bool) {
	for _, c := range b.Body.Blocks {
		if c.Type == "condition" {
			rng := c.Body.Attributes["expression"].Expr.Range()
			return string(r.files[rng.Filename][rng.Start.Byte:rng.End.Byte]), true
		}
	}
	return "", false
}

// ruleNoResourceConditionWithoutResourceAttributes: an IAM condition on resource.name or
// resource.type only on services that evaluate resource attributes.
func ruleNoResourceConditionWithoutResourceAttributes(t *testing.T, r *root, ctx *hcl.EvalContext) []string {
	var problems []string
	for _, b := range grants(r) {
		cond, ok := conditionSource(r, b)
		if !ok || !strings.Contains(cond, "resource.name") && !strings.Contains(cond, "resource.type") {
			continue
		}
		for _, svc := range grantServices(t, r, ctx, b) {
			if !slices.Contains(resourceAttributeServices, svc) {
				problems = append(problems, fmt.Sprintf("%s.%s: IAM condition on resource attributes for %s, which does not support them (every call would be denied)", b.Labels[0], b.Labels[1], svc))
			}
		}
	}
	return problems
}

// Predefined roles broader than anything cspipe does.
var overbroadRoles = []string{
	"roles/compute.instanceAdmin", "roles/compute.instanceAdmin.v1", "roles/compute.admin",
	"roles/storage.admin", "roles/storage.objectAdmin", "roles/iam.serviceAccountAdmin",
	"roles/iam.workloadIdentityPoolAdmin", "roles/workflows.admin", "roles/workflows.editor",
	"roles/pubsub.admin", "roles/pubsub.editor", "roles/artifactregistry.admin",
	"roles/cloudbuild.builds.builder", "roles/cloudbuild.builds.editor",
}

// ruleNoOverbroadRoles: no broad predefined role, and roles/storage.objectUser (which includes
// delete and overwrite) only under a condition on the object's name.
func ruleNoOverbroadRoles(t *testing.T, r *root, ctx *hcl.EvalContext) []string {
	var problems []string
	for _, b := range grants(r) {
		if _, isTraversal := b.Body.Attributes["role"].Expr.(*hclsyntax.ScopeTraversalExpr); isTraversal {
			continue // a custom role declared in the root
		}
		role := str(t, ctx, b.Body.Attributes["role"].Expr)
		if slices.Contains(overbroadRoles, role) {
			problems = append(problems, fmt.Sprintf("%s.%s: %s is broader than cspipe needs", b.Labels[0], b.Labels[1], role))
		}
		if role == "roles/storage.objectUser" {
			cond, ok := conditionSource(r, b)
			if !ok || !strings.Contains(cond, "resource.name") {
				problems = append(problems, fmt.Sprintf("%s.%s: roles/storage.objectUser (delete, overwrite) on a whole bucket; use objectViewer/objectCreator or a condition on the object name", b.Labels[0], b.Labels[1]))
			}
		}
	}
	return problems
}

var arAgent = regexp.MustCompile(`^serviceAccount:service-[0-9]+@gcp-sa-artifactregistry\.iam\.gserviceaccount\.com$`)

// ruleGcrPublishedOnlyByRegistry: on the `gcr` topic only Artifact Registry's service agent may
// publish (a message there re-pins the gate).
func ruleGcrPublishedOnlyByRegistry(t *testing.T, r *root, ctx *hcl.EvalContext) []string {
	var problems []string
	registry := 0
	for _, b := range grants(r) {
		if b.Labels[0] != "google_pubsub_topic_iam_member" {
			continue
		}
		topic := traversal(t, b.Body.Attributes["topic"].Expr)
		if topic != "local.gcr_topic_id" && !strings.HasPrefix(topic, "google_pubsub_topic.gcr.") {
			continue
		}
		member := str(t, ctx, b.Body.Attributes["member"].Expr)
		role := str(t, ctx, b.Body.Attributes["role"].Expr)
		if !arAgent.MatchString(member) || role != "roles/pubsub.publisher" {
			problems = append(problems, fmt.Sprintf("%s.%s: %s gets %s on the gcr topic; only Artifact Registry's agent may publish there", b.Labels[0], b.Labels[1], member, role))
			continue
		}
		registry++
	}
	if registry != 1 {
		problems = append(problems, fmt.Sprintf("%d grants of pubsub.publisher on the gcr topic to Artifact Registry's service agent, want 1", registry))
	}
	return problems
}

var iamRules = map[string]func(*testing.T, *root, *hcl.EvalContext) []string{
	"no IAM condition on resource attributes for a service without them": ruleNoResourceConditionWithoutResourceAttributes,
	"no over-broad role":                            ruleNoOverbroadRoles,
	"gcr topic published only by Artifact Registry": ruleGcrPublishedOnlyByRegistry,
}

func TestIAMRules(t *testing.T) {
	for name, rule := range iamRules {
		t.Run(name, func(t *testing.T) {
			for _, dir := range []string{"primus", "secundus", functionSupportDir, "modules/event_function"} {
				if name == "gcr topic published only by Artifact Registry" && dir != "primus" {
					continue
				}
				r := loadRoot(t, dir)
				vars := sampleVars
				if strings.HasPrefix(dir, "modules/") {
					vars = map[string]string{"project_id": "p-roj", "region": "us-west1", "source_dir": ".", "name": "f", "entry_point": "F",
						"source_bucket": "b", "source_object": "o", "build_service_account": "x", "docker_repository": "x",
						"service_account_email": "x", "environment": "", "event_type": "e", "trigger_service_account_email": "x"}
				}
				for _, p := range rule(t, r, r.evalCtx(t, vars)) {
					t.Errorf("%s: %s", dir, p)
				}
			}
		})
	}
}

// The grants main shipped before this rule set; each rule must refuse its part.
const oldGrants = `
variable "p" {
  default = "primus-proj"
}
locals {
  provider_name     = "projects/1/locations/global/workloadIdentityPools/w/providers/p"
  workflow_resource = "projects/s/locations/r/workflows/cspipe-launch"
}
resource "google_project_iam_custom_role" "provider_pinner" {
  role_id     = "cspipeProviderPinner"
  permissions = ["iam.workloadIdentityPoolProviders.get", "iam.workloadIdentityPoolProviders.update"]
}
resource "google_project_iam_member" "pin_updates_provider" {
  project = var.p
  role    = google_project_iam_custom_role.provider_pinner.id
  member  = "serviceAccount:pin@p.iam.gserviceaccount.com"
  condition {
    title      = "cspipe-provider-only"
    expression = "resource.name == \"${local.provider_name}\""
  }
}
resource "google_project_iam_member" "schedule_starts_launch" {
  project = var.p
  role    = "roles/workflows.invoker"
  member  = "serviceAccount:s@p.iam.gserviceaccount.com"
  condition {
    title      = "cspipe-launch-only"
    expression = "resource.name.startsWith(\"${local.workflow_resource}\")"
  }
}
resource "google_storage_bucket_iam_member" "pin_writes_audit" {
  bucket = "b"
  role   = "roles/storage.objectUser"
  member = "serviceAccount:pin@p.iam.gserviceaccount.com"
}
resource "google_project_iam_member" "workflow_manages_vms" {
  project = var.p
  role    = "roles/compute.instanceAdmin.v1"
  member  = "serviceAccount:w@p.iam.gserviceaccount.com"
}
resource "google_pubsub_topic" "gcr" {
  name = "gcr"
}
`

func TestIAMRulesRefuseOldGrants(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(oldGrants), 0o644); err != nil {
		t.Fatal(err)
	}
	r := loadRoot(t, dir)
	ctx := r.evalCtx(t, nil)
	want := map[string][]string{
		"no IAM condition on resource attributes for a service without them": {"pin_updates_provider: IAM condition on resource attributes for iam", "schedule_starts_launch: IAM condition on resource attributes for workflows"},
		"no over-broad role":                            {"pin_writes_audit: roles/storage.objectUser", "workflow_manages_vms: roles/compute.instanceAdmin.v1"},
		"gcr topic published only by Artifact Registry": {"0 grants of pubsub.publisher on the gcr topic"},
	}
	for name, rule := range iamRules {
		got := strings.Join(rule(t, r, ctx), "\n")
		for _, w := range want[name] {
			if !strings.Contains(got, w) {
				t.Errorf("rule %q does not refuse %q; it said:\n%s", name, w, got)
			}
		}
	}
}
