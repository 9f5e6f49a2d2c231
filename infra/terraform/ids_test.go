package terraform_test

import (
	"maps"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/cspipe/cspipe/internal/batch"
)

// Google's limits on the ids the roots create.
type idLimit struct {
	what     string
	min, max int
	pattern  *regexp.Regexp
}

var (
	serviceAccountID = idLimit{"service-account id", 6, 30, regexp.MustCompile(`^[a-z][-a-z0-9]*[a-z0-9]$`)}
	poolID           = idLimit{"workload identity pool/provider id", 4, 32, regexp.MustCompile(`^[a-z0-9][-a-z0-9]*[a-z0-9]$`)}
	bucketName       = idLimit{"bucket name", 3, 63, regexp.MustCompile(`^[a-z0-9][-_a-z0-9]*[a-z0-9]$`)}
	customRoleID     = idLimit{"custom role id", 3, 64, regexp.MustCompile(`^[a-zA-Z0-9_.]+$`)}
	repositoryID     = idLimit{"Artifact Registry repository id", 1, 63, regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)}
	functionName     = idLimit{"function name", 1, 63, regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)}
	workflowName     = idLimit{"workflow name", 1, 64, regexp.MustCompile(`^[a-zA-Z][-_a-zA-Z0-9]*$`)}
)

// Which attribute of which resource type is an id with a limit.
var idAttributes = []struct {
	typ, attr string
	limit     idLimit
}{
	{"google_service_account", "account_id", serviceAccountID},
	{"google_iam_workload_identity_pool", "workload_identity_pool_id", poolID},
	{"google_iam_workload_identity_pool_provider", "workload_identity_pool_provider_id", poolID},
	{"google_storage_bucket", "name", bucketName},
	{"google_project_iam_custom_role", "role_id", customRoleID},
	{"google_artifact_registry_repository", "repository_id", repositoryID},
	{"google_workflows_workflow", "name", workflowName},
}

func (l idLimit) check(t *testing.T, where, id string) {
	t.Helper()
	if n := len(id); n < l.min || n > l.max || !l.pattern.MatchString(id) {
		t.Errorf("%s: %s %q (%d characters) is outside Google's limit (%d-%d, %s)", where, l.what, id, len(id), l.min, l.max, l.pattern)
	}
}

// A 30-character project id is the longest Google allows.
var longVars = map[string]string{
	"PRIMUS_PROJECT_ID":     "primus-model-owner-0123456789a",
	"PRIMUS_PROJECT_NUMBER": "123456789012",
	"SECUNDUS_PROJECT_ID":   "secundus-operator-0123456789ab",
	"INITIAL_IMAGE_DIGEST":  "sha256:" + strings.Repeat("ab", 32),
}

func TestIDsWithinGoogleLimitsForLongProjectIDs(t *testing.T) {
	for _, id := range []string{longVars["PRIMUS_PROJECT_ID"], longVars["SECUNDUS_PROJECT_ID"]} {
		if len(id) != 30 {
			t.Fatalf("test project id %q is %d characters, want the maximum 30", id, len(id))
		}
	}
	modVars := map[string]string{"project_id": longVars["SECUNDUS_PROJECT_ID"], "region": "us-west1", "source_dir": "../../.."}
	for _, dir := range []string{"primus", "secundus", functionSupportDir} {
		r := loadRoot(t, dir)
		vars := longVars
		if dir == functionSupportDir {
			vars = modVars
		}
		ctx := r.evalCtx(t, vars)
		checkVariableValidations(t, r, ctx)
		for _, ia := range idAttributes {
			for _, b := range r.resourcesOf(ia.typ) {
				a, ok := b.Body.Attributes[ia.attr]
				if !ok {
					t.Errorf("%s %s.%s has no %s", dir, ia.typ, b.Labels[1], ia.attr)
					continue
				}
				ia.limit.check(t, dir+" "+ia.typ+"."+b.Labels[1], str(t, ctx, a.Expr))
			}
		}
		for _, b := range r.blocks {
			if b.Type == "module" && str(t, ctx, b.Body.Attributes["source"].Expr) == eventFunctionModule {
				functionName.check(t, dir+" module."+b.Labels[0], str(t, ctx, b.Body.Attributes["name"].Expr))
			}
		}
	}
}

// checkVariableValidations evaluates every validation block for the values in ctx: each must hold.
func checkVariableValidations(t *testing.T, r *root, ctx *hcl.EvalContext) {
	t.Helper()
	for name, v := range r.variables {
		for _, b := range v.Body.Blocks {
			if b.Type != "validation" {
				continue
			}
			ok, diags := b.Body.Attributes["condition"].Expr.Value(ctx)
			if diags.HasErrors() {
				t.Errorf("%s: validation of %s: %v", r.dir, name, diags)
				continue
			}
			if ok.Type() != cty.Bool || !ok.True() {
				t.Errorf("%s: variable %s = %#v fails its validation", r.dir, name, ctx.Variables["var"].GetAttr(name))
			}
		}
	}
}

// validates reports whether variable name's validation blocks accept value.
func validates(t *testing.T, r *root, name, value string) bool {
	t.Helper()
	v, ok := r.variables[name]
	if !ok {
		t.Fatalf("%s has no variable %s", r.dir, name)
	}
	vars := maps.Clone(sampleVars)
	vars[name] = value
	ctx := r.evalCtx(t, vars)
	n := 0
	for _, b := range v.Body.Blocks {
		if b.Type != "validation" {
			continue
		}
		n++
		res, diags := b.Body.Attributes["condition"].Expr.Value(ctx)
		if diags.HasErrors() {
			t.Fatalf("validation of %s: %v", name, diags)
		}
		if !res.True() {
			return false
		}
	}
	if n == 0 {
		t.Errorf("%s: variable %s has no validation block", r.dir, name)
	}
	return true
}

// Every variable that becomes an id is validated against Google's limit, so a bad value fails at
// plan time with a message naming the variable rather than mid-apply.
func TestIDVariablesValidated(t *testing.T) {
	long30 := "primus-model-owner-0123456789a"
	cases := []struct {
		name       string
		good, bad  []string
		rootsOnly  []string
		defaultsTo string
	}{
		{name: "PRIMUS_PROJECT_ID", good: []string{long30, "abcdef"}, bad: []string{long30 + "b", "abcde", "1project", "Primus-proj", "proj-"}},
		{name: "SECUNDUS_PROJECT_ID", good: []string{long30}, bad: []string{long30 + "b"}},
		{name: "PRIMUS_SERVICEACCOUNT", good: []string{"primus-sa", strings.Repeat("a", 30)}, bad: []string{strings.Repeat("a", 31), "sa", long30 + "-sa"}, defaultsTo: "primus-sa"},
		{name: "WORKLOAD_SERVICEACCOUNT", good: []string{"workload-sa"}, bad: []string{strings.Repeat("a", 31), "wl"}, defaultsTo: "workload-sa"},
		{name: "PRIMUS_WORKLOAD_IDENTITY_POOL", good: []string{"primus-wip", strings.Repeat("a", 32)}, bad: []string{long30 + "-wip", "abc", "gcp-pool"}, defaultsTo: "primus-wip"},
		{name: "PRIMUS_WIP_PROVIDER", good: []string{"primus-wip-provider"}, bad: []string{long30 + "-wip-provider", strings.Repeat("a", 33), "Pr"}, defaultsTo: "primus-wip-provider"},
		{name: "PRIMUS_INPUT_STORAGE_BUCKET", good: []string{"", "my-bucket"}, bad: []string{strings.Repeat("b", 64), "B", "-b-"}},
		{name: "PRIMUS_ARTIFACT_REPOSITORY", good: []string{"primus-artifact-repo"}, bad: []string{strings.Repeat("r", 64), "1repo"}, rootsOnly: []string{"primus"}, defaultsTo: "primus-artifact-repo"},
		{name: "SECUNDUS_INPUT_STORAGE_BUCKET", good: []string{""}, bad: []string{strings.Repeat("b", 64)}, rootsOnly: []string{"secundus"}},
		{name: "SECUNDUS_RESULT_STORAGE_BUCKET", good: []string{""}, bad: []string{strings.Repeat("b", 64)}, rootsOnly: []string{"secundus"}},
	}
	for _, dir := range []string{"primus", "secundus"} {
		r := loadRoot(t, dir)
		for _, c := range cases {
			if c.rootsOnly != nil && c.rootsOnly[0] != dir {
				continue
			}
			for _, v := range c.good {
				if !validates(t, r, c.name, v) {
					t.Errorf("%s: %s = %q is valid but refused", dir, c.name, v)
				}
			}
			for _, v := range c.bad {
				if validates(t, r, c.name, v) {
					t.Errorf("%s: %s = %q is outside Google's limits but accepted", dir, c.name, v)
				}
			}
			if c.defaultsTo != "" {
				d, ok := r.variables[c.name].Body.Attributes["default"]
				if !ok {
					t.Errorf("%s: %s has no default; want the codelab's %q", dir, c.name, c.defaultsTo)
				} else if got := str(t, nil, d.Expr); got != c.defaultsTo {
					t.Errorf("%s: %s defaults to %q, want the codelab's %q", dir, c.name, got, c.defaultsTo)
				}
			}
		}
	}
}

// max_shards stops where ScheduleRun and launch.yaml stop (batch.MaxShardsLimit, the 20 parallel
// iterations Cloud Workflows runs at once), so a larger value fails at plan time, not at the
// first upload.
func TestMaxShardsValidated(t *testing.T) {
	r := loadRoot(t, "secundus")
	for _, n := range []int{1, batch.MaxShardsLimit} {
		if !validates(t, r, "max_shards", strconv.Itoa(n)) {
			t.Errorf("max_shards = %d refused", n)
		}
	}
	for _, n := range []int{0, batch.MaxShardsLimit + 1, 100} {
		if validates(t, r, "max_shards", strconv.Itoa(n)) {
			t.Errorf("max_shards = %d accepted; launch.yaml and ScheduleRun refuse it", n)
		}
	}
}
