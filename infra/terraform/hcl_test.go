// Package terraform_test checks the Terraform roots offline: formatting, least privilege, and
// that what they declare agrees with the code (entry points, env vars, names, the condition).
package terraform_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// root is one parsed Terraform root module.
type root struct {
	dir       string
	files     map[string][]byte
	blocks    []*hclsyntax.Block
	locals    map[string]*hclsyntax.Attribute
	variables map[string]*hclsyntax.Block
}

func loadRoot(t *testing.T, dir string) *root {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no .tf files in %s (%v)", dir, err)
	}
	r := &root{dir: dir, files: map[string][]byte{}, locals: map[string]*hclsyntax.Attribute{}, variables: map[string]*hclsyntax.Block{}}
	p := hclparse.NewParser()
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		r.files[path] = src
		f, diags := p.ParseHCL(src, path)
		if diags.HasErrors() {
			t.Fatalf("parsing %s: %v", path, diags)
		}
		for _, b := range f.Body.(*hclsyntax.Body).Blocks {
			r.blocks = append(r.blocks, b)
			switch b.Type {
			case "locals":
				for name, a := range b.Body.Attributes {
					if _, dup := r.locals[name]; dup {
						t.Fatalf("%s: local %q defined twice", dir, name)
					}
					r.locals[name] = a
				}
			case "variable":
				r.variables[b.Labels[0]] = b
			}
		}
	}
	return r
}

// resource returns the resource (or data source, kind "data") block TYPE.NAME.
func (r *root) resource(t *testing.T, kind, typ, name string) *hclsyntax.Block {
	t.Helper()
	for _, b := range r.blocks {
		if b.Type == kind && len(b.Labels) == 2 && b.Labels[0] == typ && b.Labels[1] == name {
			return b
		}
	}
	t.Fatalf("%s: no %s %s.%s", r.dir, kind, typ, name)
	return nil
}

// resourcesOf lists the resources of one type.
func (r *root) resourcesOf(typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range r.blocks {
		if b.Type == "resource" && len(b.Labels) == 2 && b.Labels[0] == typ {
			out = append(out, b)
		}
	}
	return out
}

var functions = map[string]function.Function{
	"coalesce": coalesceFunc,
	"join":     stdlib.JoinFunc,
	"format":   stdlib.FormatFunc,
	"merge":    stdlib.MergeFunc,
	"tostring": stdlib.MakeToFunc(cty.String),
	"can":      tryfunc.CanFunc,
	"regex":    stdlib.RegexFunc,
	"length":   stdlib.LengthFunc,
}

// coalesceFunc is Terraform's coalesce over strings: the first argument that is neither null nor
// "" (cty's stdlib version only skips nulls).
var coalesceFunc = function.New(&function.Spec{
	VarParam: &function.Parameter{Name: "vals", Type: cty.String, AllowNull: true},
	Type:     function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		for _, a := range args {
			if !a.IsNull() && a.AsString() != "" {
				return a, nil
			}
		}
		return cty.NilVal, errors.New("no non-empty argument")
	},
})

// evalCtx evaluates the root's locals for the given variable values (defaults filled in). Locals
// that depend on resources stay unknown.
func (r *root) evalCtx(t *testing.T, vars map[string]string) *hcl.EvalContext {
	t.Helper()
	vv := map[string]cty.Value{}
	for name, b := range r.variables {
		if v, ok := vars[name]; ok {
			vv[name] = cty.StringVal(v)
			if t, ok := b.Body.Attributes["type"]; ok && hcl.ExprAsKeyword(t.Expr) == "bool" {
				vv[name] = cty.BoolVal(v == "true")
			}
			continue
		}
		if d, ok := b.Body.Attributes["default"]; ok {
			val, diags := d.Expr.Value(nil)
			if diags.HasErrors() {
				t.Fatalf("default of %s: %v", name, diags)
			}
			vv[name] = val
			continue
		}
		t.Fatalf("%s: variable %s has no default and the test gave no value", r.dir, name)
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(vv)}, Functions: functions}
	done := map[string]cty.Value{}
	for progress := true; progress; {
		progress = false
		ctx.Variables["local"] = cty.ObjectVal(done)
		for name, a := range r.locals {
			if _, ok := done[name]; ok {
				continue
			}
			val, diags := a.Expr.Value(ctx)
			if diags.HasErrors() || !val.IsWhollyKnown() {
				continue
			}
			done[name] = val
			progress = true
		}
	}
	ctx.Variables["local"] = cty.ObjectVal(done)
	return ctx
}

func str(t *testing.T, ctx *hcl.EvalContext, expr hcl.Expression) string {
	t.Helper()
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		t.Fatalf("evaluating %s: %v", expr.Range(), diags)
	}
	if v.Type() != cty.String {
		t.Fatalf("%s is %s, want string", expr.Range(), v.Type().FriendlyName())
	}
	return v.AsString()
}

func local(t *testing.T, ctx *hcl.EvalContext, name string) string {
	t.Helper()
	l := ctx.Variables["local"]
	if !l.Type().HasAttribute(name) {
		t.Fatalf("local.%s could not be evaluated", name)
	}
	return l.GetAttr(name).AsString()
}

// sampleVars are the inputs both roots get in these tests.
var sampleVars = map[string]string{
	"PRIMUS_PROJECT_ID":     "primus-proj",
	"PRIMUS_PROJECT_NUMBER": "123456789012",
	"SECUNDUS_PROJECT_ID":   "secundus-proj",
	"INITIAL_IMAGE_DIGEST":  "sha256:" + strings.Repeat("ab", 32),
}

func TestFormatted(t *testing.T) {
	// `terraform fmt` canonical form; scripts/test.sh also runs `terraform fmt -check`.
	for _, dir := range []string{"primus", "secundus", "modules/event_function", "modules/function_support"} {
		r := loadRoot(t, dir)
		for path, src := range r.files {
			if got := hclFormat(src); !slices.Equal(got, src) {
				t.Errorf("%s is not formatted: run terraform fmt -recursive infra/terraform", path)
			}
		}
	}
}

func TestNoPrimitiveRolesOrPublicMembers(t *testing.T) {
	primitive := []string{`"roles/owner"`, `"roles/editor"`, `"roles/viewer"`}
	public := []string{"allUsers", "allAuthenticatedUsers"}
	for _, dir := range []string{"primus", "secundus", "modules/event_function", "modules/function_support"} {
		r := loadRoot(t, dir)
		for _, b := range r.blocks {
			if b.Type != "resource" {
				continue
			}
			src := r.files[b.Range().Filename][b.Range().Start.Byte:b.Range().End.Byte]
			for name, a := range b.Body.Attributes {
				if name != "role" && name != "member" && name != "members" {
					continue
				}
				text := string(src[a.SrcRange.Start.Byte-b.Range().Start.Byte : a.SrcRange.End.Byte-b.Range().Start.Byte])
				for _, bad := range append(primitive, public...) {
					if strings.Contains(text, bad) {
						t.Errorf("%s %s.%s: %s grants %s", dir, b.Labels[0], b.Labels[1], name, bad)
					}
				}
			}
			if strings.HasSuffix(b.Labels[0], "_iam_policy") || strings.HasSuffix(b.Labels[0], "_iam_binding") {
				t.Errorf("%s %s.%s: authoritative IAM resources overwrite other grants; use *_iam_member", dir, b.Labels[0], b.Labels[1])
			}
		}
	}
}

func TestProviderLifecycleIgnoresCondition(t *testing.T) {
	r := loadRoot(t, "primus")
	p := r.resource(t, "resource", "google_iam_workload_identity_pool_provider", "attestation")
	ctx := r.evalCtx(t, sampleVars)
	var oidc *hclsyntax.Block
	var ignores bool
	for _, b := range p.Body.Blocks {
		switch b.Type {
		case "oidc":
			oidc = b
		case "lifecycle":
			if a, ok := b.Body.Attributes["ignore_changes"]; ok {
				items, _ := hcl.ExprList(a.Expr)
				for _, tr := range items {
					if tr, diags := hcl.AbsTraversalForExpr(tr); !diags.HasErrors() && tr.RootName() == "attribute_condition" {
						ignores = true
					}
				}
			}
		}
	}
	if !ignores {
		t.Error("provider must ignore_changes = [attribute_condition]: PinWorkloadImage owns it")
	}
	if oidc == nil {
		t.Fatal("provider has no oidc block")
	}
	if got := str(t, ctx, oidc.Body.Attributes["issuer_uri"].Expr); got != "https://confidentialcomputing.googleapis.com/" {
		t.Errorf("issuer_uri = %q", got)
	}
	aud, diags := oidc.Body.Attributes["allowed_audiences"].Expr.Value(ctx)
	if diags.HasErrors() || aud.LengthInt() != 1 || aud.Index(cty.NumberIntVal(0)).AsString() != "https://sts.googleapis.com" {
		t.Errorf("allowed_audiences = %#v, want [https://sts.googleapis.com]", aud)
	}
}

func TestNamesAgreeAcrossRoots(t *testing.T) {
	p := loadRoot(t, "primus")
	s := loadRoot(t, "secundus")
	pc, sc := p.evalCtx(t, sampleVars), s.evalCtx(t, sampleVars)
	for _, name := range []string{"audit_bucket", "provider_name", "model_bucket"} {
		if a, b := local(t, pc, name), local(t, sc, name); a != b {
			t.Errorf("local.%s: primus %q, secundus %q", name, a, b)
		}
	}
	email := func(ctx *hcl.EvalContext, r *root, name string) string {
		b := r.resource(t, "resource", "google_service_account", name)
		return str(t, ctx, b.Body.Attributes["account_id"].Expr) + "@" + sampleVars["SECUNDUS_PROJECT_ID"] + ".iam.gserviceaccount.com"
	}
	if got, want := local(t, pc, "schedule_run_sa"), email(sc, s, "schedule"); got != want {
		t.Errorf("primus grants the pin pointer to %q, but ScheduleRun runs as %q", got, want)
	}
	if got, want := local(t, pc, "workload_sa"), email(sc, s, "workload"); got != want {
		t.Errorf("primus admits %q, but the VMs run as %q", got, want)
	}
	primusSA := p.resource(t, "resource", "google_service_account", "primus")
	if got, want := local(t, sc, "primus_sa"), str(t, pc, primusSA.Body.Attributes["account_id"].Expr)+"@primus-proj.iam.gserviceaccount.com"; got != want {
		t.Errorf("secundus impersonates %q, primus created %q", got, want)
	}
	wf := s.resource(t, "resource", "google_workflows_workflow", "launch")
	if got := str(t, sc, wf.Body.Attributes["name"].Expr); !strings.HasSuffix(local(t, sc, "workflow_resource"), "/workflows/"+got) {
		t.Errorf("workflow_resource %q does not name workflow %q", local(t, sc, "workflow_resource"), got)
	}
	if _, err := os.Stat(filepath.Join("secundus", "../../../workflows/launch.yaml")); err != nil {
		t.Errorf("the workflow source the Secundus root deploys is missing: %v", err)
	}
}
