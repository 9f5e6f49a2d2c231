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

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

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
	source     string // trigger source: "topic:<resource>" or "bucket:<resource>"
}

var codeFunctions = []deployedFunction{
	{pinimage.EntryPoint, pinimage.Config{}, "functions/pinimage", "primus",
		"google.cloud.pubsub.topic.v1.messagePublished", "topic:google_pubsub_topic.gcr"},
	{registermodel.EntryPoint, registermodel.Config{}, "functions/registermodel", "primus",
		"google.cloud.storage.object.v1.finalized", "bucket:google_storage_bucket.model"},
	{schedulerun.EntryPoint, schedulerun.Config{}, "functions/schedulerun", "secundus",
		"google.cloud.storage.object.v1.finalized", "bucket:google_storage_bucket.input"},
	{publishresults.EntryPoint, publishresults.Config{}, "functions/publishresults", "secundus",
		"google.cloud.storage.object.v1.finalized", "bucket:google_storage_bucket.results"},
}

// localOnly reports whether an env var exists only so the local stack can stand in for Google.
func localOnly(name string) bool { return strings.HasSuffix(name, "_ENDPOINT") }

func TestFunctionsMatchCode(t *testing.T) {
	rootImports := moduleRootImports(t)
	deployed := map[string]int{}
	for _, fn := range codeFunctions {
		t.Run(fn.entryPoint, func(t *testing.T) {
			r := loadRoot(t, fn.root)
			ctx := r.evalCtx(t, sampleVars)
			var res *hclsyntax.Block
			for _, b := range r.resourcesOf("google_cloudfunctions2_function") {
				if ep := str(t, ctx, block(t, b, "build_config").Body.Attributes["entry_point"].Expr); ep == fn.entryPoint {
					res = b
					deployed[ep]++
				}
			}
			if res == nil {
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
			envExpr := block(t, res, "service_config").Body.Attributes["environment_variables"].Expr
			envVal, diags := envExpr.Value(ctx)
			if diags.HasErrors() {
				t.Fatalf("evaluating environment_variables: %v", diags)
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

			// Trigger.
			trig := block(t, res, "event_trigger")
			if got := str(t, ctx, trig.Body.Attributes["event_type"].Expr); got != fn.eventType {
				t.Errorf("event_type = %q, want %q", got, fn.eventType)
			}
			kind, want, _ := strings.Cut(fn.source, ":")
			var got string
			switch kind {
			case "topic":
				got = traversal(t, trig.Body.Attributes["pubsub_topic"].Expr)
				want += ".id"
			case "bucket":
				for _, f := range trig.Body.Blocks {
					if f.Type == "event_filters" && str(t, ctx, f.Body.Attributes["attribute"].Expr) == "bucket" {
						got = traversal(t, f.Body.Attributes["value"].Expr)
					}
				}
				want += ".name"
			}
			if got != want {
				t.Errorf("trigger source = %q, want %q", got, want)
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
