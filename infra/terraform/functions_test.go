package terraform_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/cspipe/cspipe/functions/pinimage"
	"github.com/cspipe/cspipe/functions/publishresults"
	"github.com/cspipe/cspipe/functions/registermodel"
	"github.com/cspipe/cspipe/functions/schedulerun"
	"github.com/cspipe/cspipe/internal/envconfig"
)

// deployedFunction is what the code says about one function.
type deployedFunction struct {
	entryPoint string
	config     any
	pkg        string // import path below the module
	root       string // the Terraform root that deploys it
	eventType  string
	source     string        // trigger source: "topic:<reference to the topic id>" or "bucket:<bucket resource>"
	timeout    time.Duration // the code's deadline, which the local stack imposes: must be timeout_seconds
}

var codeFunctions = []deployedFunction{
	{pinimage.EntryPoint, pinimage.Config{}, "functions/pinimage", "primus",
		"google.cloud.pubsub.topic.v1.messagePublished", "topic:local.gcr_topic_id", pinimage.Timeout},
	{registermodel.EntryPoint, registermodel.Config{}, "functions/registermodel", "primus",
		"google.cloud.storage.object.v1.finalized", "bucket:google_storage_bucket.model", registermodel.Timeout},
	{schedulerun.EntryPoint, schedulerun.Config{}, "functions/schedulerun", "secundus",
		"google.cloud.storage.object.v1.finalized", "bucket:google_storage_bucket.input", schedulerun.Timeout},
	{schedulerun.SweepEntryPoint, schedulerun.Config{}, "functions/schedulerun", "secundus",
		"google.cloud.pubsub.topic.v1.messagePublished", "topic:google_pubsub_topic.sweep.id", schedulerun.SweepTimeout},
	{publishresults.EntryPoint, publishresults.Config{}, "functions/publishresults", "secundus",
		"google.cloud.storage.object.v1.finalized", "bucket:google_storage_bucket.results", publishresults.Timeout},
}

// eventFunctionModule is the module every root deploys its functions with.
const eventFunctionModule = "../modules/event_function"

// localOnly reports whether an env var exists only so the local stack can stand in for Google.
func localOnly(name string) bool { return strings.HasSuffix(name, "_ENDPOINT") }

func TestFunctionsMatchCode(t *testing.T) {
	rootImports := moduleRootImports(t)
	deployed := map[string]int{}
	for _, fn := range codeFunctions {
		t.Run(fn.entryPoint, func(t *testing.T) {
			r := loadRoot(t, fn.root)
			ctx := r.evalCtx(t, sampleVars)
			var mod *hclsyntax.Block
			for _, b := range r.blocks {
				if b.Type != "module" || str(t, ctx, b.Body.Attributes["source"].Expr) != eventFunctionModule {
					continue
				}
				if ep := str(t, ctx, b.Body.Attributes["entry_point"].Expr); ep == fn.entryPoint {
					mod = b
					deployed[ep]++
				}
			}
			if mod == nil {
				t.Fatalf("%s root deploys no function with entry point %s", fn.root, fn.entryPoint)
			}
			if !slices.Contains(rootImports, "github.com/cspipe/cspipe/"+fn.pkg) {
				t.Errorf("the module root package (what the buildpack builds) does not import %s", fn.pkg)
			}
			src := packageSource(t, fn.pkg)
			if !strings.Contains(src, "functions.CloudEvent(EntryPoint") {
				t.Errorf("%s does not register EntryPoint with functions.CloudEvent", fn.pkg)
			}

			// Environment: both directions.
			envVal, diags := mod.Body.Attributes["environment"].Expr.Value(ctx)
			if diags.HasErrors() {
				t.Fatalf("evaluating environment: %v", diags)
			}
			set := map[string]bool{}
			for k := range envVal.AsValueMap() {
				set[k] = true
			}
			read := map[string]bool{}
			for _, k := range envconfig.Keys(fn.config) {
				read[k.Name] = true
				if !set[k.Name] && !localOnly(k.Name) {
					t.Errorf("%s reads %s but Terraform does not set it", fn.entryPoint, k.Name)
				}
			}
			for k := range set {
				if !read[k] {
					t.Errorf("Terraform sets %s for %s, which its Config never reads", k, fn.entryPoint)
				}
			}

			// Deadline: the local stack cuts an invocation off where Google Cloud would.
			ta, ok := mod.Body.Attributes["timeout_seconds"]
			if !ok {
				t.Errorf("module %s sets no timeout_seconds (the default 60 s is not what %s.Timeout says)", mod.Labels[0], fn.pkg)
			} else {
				v, diags := ta.Expr.Value(ctx)
				if diags.HasErrors() {
					t.Fatalf("evaluating timeout_seconds: %v", diags)
				}
				secs, _ := v.AsBigFloat().Int64()
				if got := time.Duration(secs) * time.Second; got != fn.timeout {
					t.Errorf("timeout_seconds = %d, but the code (and the local stack) says %s", secs, fn.timeout)
				}
			}

			// Trigger.
			if got := str(t, ctx, mod.Body.Attributes["event_type"].Expr); got != fn.eventType {
				t.Errorf("event_type = %q, want %q", got, fn.eventType)
			}
			kind, want, _ := strings.Cut(fn.source, ":")
			attr, suffix, other := "bucket", ".name", "pubsub_topic"
			if kind == "topic" {
				attr, suffix, other = "pubsub_topic", "", "bucket"
			}
			a, ok := mod.Body.Attributes[attr]
			if !ok {
				t.Fatalf("module %s sets no %s", mod.Labels[0], attr)
			}
			if got := traversal(t, a.Expr); got != want+suffix {
				t.Errorf("trigger %s = %q, want %q", attr, got, want+suffix)
			}
			if _, both := mod.Body.Attributes[other]; both {
				t.Errorf("module %s sets both bucket and pubsub_topic", mod.Labels[0])
			}
		})
	}
	for ep, n := range deployed {
		if n != 1 {
			t.Errorf("%s deployed %d times", ep, n)
		}
	}
}

func block(t *testing.T, b *hclsyntax.Block, typ string) *hclsyntax.Block {
	t.Helper()
	for _, c := range b.Body.Blocks {
		if c.Type == typ {
			return c
		}
	}
	t.Fatalf("%s.%s has no %s block", b.Labels[0], b.Labels[1], typ)
	return nil
}

func traversal(t *testing.T, e hcl.Expression) string {
	t.Helper()
	tr, diags := hcl.AbsTraversalForExpr(e)
	if diags.HasErrors() {
		t.Fatalf("%s is not a reference: %v", e.Range(), diags)
	}
	var parts []string
	for _, step := range tr {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			parts = append(parts, s.Name)
		case hcl.TraverseAttr:
			parts = append(parts, s.Name)
		}
	}
	return strings.Join(parts, ".")
}

// moduleRootImports lists what the module's root package (functions.go) imports.
func moduleRootImports(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "..", "functions.go"), nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		out = append(out, p)
	}
	return out
}

// packageSource concatenates a package's non-test Go files.
func packageSource(t *testing.T, pkg string) string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join("..", "..", pkg, "*.go"))
	var b strings.Builder
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(src)
	}
	return b.String()
}

// The module must hand its inputs to the function unchanged: the checks above read the module
// call, so a module that dropped or renamed one would slip past them.
func TestEventFunctionModuleWiring(t *testing.T) {
	r := loadRoot(t, filepath.Join("modules", "event_function"))
	fn := r.resource(t, "resource", "google_cloudfunctions2_function", "function")
	build := block(t, fn, "build_config")
	svc := block(t, fn, "service_config")
	trig := block(t, fn, "event_trigger")
	wires := []struct {
		what string
		expr hcl.Expression
		want string
	}{
		{"build_config.entry_point", build.Body.Attributes["entry_point"].Expr, "var.entry_point"},
		{"service_config.environment_variables", svc.Body.Attributes["environment_variables"].Expr, "var.environment"},
		{"service_config.service_account_email", svc.Body.Attributes["service_account_email"].Expr, "var.service_account_email"},
		{"service_config.timeout_seconds", svc.Body.Attributes["timeout_seconds"].Expr, "var.timeout_seconds"},
		{"event_trigger.event_type", trig.Body.Attributes["event_type"].Expr, "var.event_type"},
		{"event_trigger.pubsub_topic", trig.Body.Attributes["pubsub_topic"].Expr, "var.pubsub_topic"},
		{"event_trigger.service_account_email", trig.Body.Attributes["service_account_email"].Expr, "var.trigger_service_account_email"},
	}
	for _, w := range wires {
		if got := traversal(t, w.expr); got != w.want {
			t.Errorf("%s = %s, want %s", w.what, got, w.want)
		}
	}
	// The framework's CloudEvent receiver is safe with one request per instance only (see the
	// module's comment; the local stack serves each request with its own receiver to match).
	if a, ok := svc.Body.Attributes["max_instance_request_concurrency"]; !ok {
		t.Error("service_config does not pin max_instance_request_concurrency to 1")
	} else if v, diags := a.Expr.Value(nil); diags.HasErrors() || v.Type() != cty.Number || !v.Equals(cty.NumberIntVal(1)).True() {
		t.Errorf("max_instance_request_concurrency = %s, want 1", a.Expr.Range())
	}
	if got := str(t, nil, build.Body.Attributes["runtime"].Expr); got != "go126" {
		t.Errorf("runtime = %q, want go126", got)
	}
	if got := str(t, nil, trig.Body.Attributes["retry_policy"].Expr); got != "RETRY_POLICY_RETRY" {
		t.Errorf("retry_policy = %q: retryable errors must be redelivered", got)
	}
	// The bucket filter: a dynamic event_filters block over var.bucket whose value is the bucket.
	src := string(r.files[fn.Range().Filename][fn.Range().Start.Byte:fn.Range().End.Byte])
	for _, want := range []string{`dynamic "event_filters"`, "for_each = var.bucket == null ? [] : [var.bucket]", `attribute = "bucket"`, "value     = event_filters.value"} {
		if !strings.Contains(src, want) {
			t.Errorf("the function's event filter lacks %q", want)
		}
	}
	inv := r.resource(t, "resource", "google_cloud_run_service_iam_member", "trigger_invokes")
	if got := str(t, nil, inv.Body.Attributes["role"].Expr); got != "roles/run.invoker" {
		t.Errorf("invoker role = %q", got)
	}
	if !strings.Contains(string(r.files[inv.Range().Filename][inv.Range().Start.Byte:inv.Range().End.Byte]), "serviceAccount:${var.trigger_service_account_email}") {
		t.Error("only the trigger's service account may invoke the function")
	}
}

// Eventarc's push to a function carries an OIDC token for the trigger account that Pub/Sub's
// service agent mints; projects whose agent predates 2021-04-08 need the grant made explicitly.
// It must exist, and on the trigger account only (a project-wide Token Creator would let the
// agent sign as every account in the project).
func TestPubSubAgentSignsForTriggerOnly(t *testing.T) {
	r := loadRoot(t, functionSupportDir)
	g := r.resource(t, "resource", "google_service_account_iam_member", "pubsub_agent_signs_for_trigger")
	if got := str(t, nil, g.Body.Attributes["role"].Expr); got != "roles/iam.serviceAccountTokenCreator" {
		t.Errorf("role = %q, want roles/iam.serviceAccountTokenCreator", got)
	}
	if got := traversal(t, g.Body.Attributes["service_account_id"].Expr); got != "google_service_account.trigger.name" {
		t.Errorf("service_account_id = %s, want the trigger account", got)
	}
	src := string(r.files[g.Range().Filename][g.Range().Start.Byte:g.Range().End.Byte])
	if !strings.Contains(src, "@gcp-sa-pubsub.iam.gserviceaccount.com") {
		t.Error("the grant's member is not Pub/Sub's service agent")
	}
	for _, dir := range []string{functionSupportDir, "primus", "secundus"} {
		for _, b := range loadRoot(t, dir).resourcesOf("google_project_iam_member") {
			if a, ok := b.Body.Attributes["role"]; ok {
				if v, diags := a.Expr.Value(nil); !diags.HasErrors() && v.Type() == cty.String && v.AsString() == "roles/iam.serviceAccountTokenCreator" {
					t.Errorf("%s: %s grants Token Creator on the whole project", dir, b.Labels[1])
				}
			}
		}
	}
}
