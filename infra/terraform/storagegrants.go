// Package terraform carries the Terraform roots (primus, secundus) inside the module and reads
// from them what the local stack must apply the same way: the Cloud Storage grants of the
// deployment's own identities, with their IAM Condition text. The local stack grants from these
// (instead of a copy), so a condition that is wrong in Terraform fails locally as it would on
// Google Cloud. The tests in this directory check the roots themselves.
package terraform

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

//go:embed primus/*.tf secundus/*.tf
var roots embed.FS

// Roots are the Terraform root modules StorageGrants reads.
var Roots = []string{"primus", "secundus"}

// StorageGrant is one google_storage_bucket_iam_member of a root.
type StorageGrant struct {
	// Root and Name locate it: the root's directory and the resource's label.
	Root, Name string
	// Bucket is the label of the google_storage_bucket it grants on (google_storage_bucket.X.name).
	Bucket string
	// Role is the predefined role, e.g. "roles/storage.objectUser".
	Role string
	// Member is the reference the member string interpolates after "serviceAccount:", e.g.
	// "google_service_account.pin.email" or "local.schedule_run_sa".
	Member string
	// ConditionTitle and Condition are the IAM Condition, if any. Condition is the expression
	// with the root's ${local.…} references replaced by the values given to StorageGrants.
	ConditionTitle, Condition string
}

// StorageGrants returns every google_storage_bucket_iam_member of the roots, in file order.
// locals gives the value of each local a condition interpolates (the bucket names of the
// deployment at hand); a condition referring to anything else is an error, never a guess.
func StorageGrants(locals map[string]string) ([]StorageGrant, error) {
	lv := map[string]cty.Value{}
	for k, v := range locals {
		lv[k] = cty.StringVal(v)
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"local": cty.ObjectVal(lv)}}
	var out []StorageGrant
	for _, root := range Roots {
		blocks, err := parseRoot(root)
		if err != nil {
			return nil, err
		}
		for _, b := range blocks {
			if b.Type != "resource" || len(b.Labels) != 2 || b.Labels[0] != "google_storage_bucket_iam_member" {
				continue
			}
			g, err := storageGrant(root, b, ctx)
			if err != nil {
				return nil, fmt.Errorf("terraform %s: google_storage_bucket_iam_member.%s: %w", root, b.Labels[1], err)
			}
			out = append(out, g)
		}
	}
	return out, nil
}

func storageGrant(root string, b *hclsyntax.Block, ctx *hcl.EvalContext) (StorageGrant, error) {
	g := StorageGrant{Root: root, Name: b.Labels[1]}
	attr := func(name string) (hclsyntax.Expression, error) {
		a, ok := b.Body.Attributes[name]
		if !ok {
			return nil, fmt.Errorf("no %s", name)
		}
		return a.Expr, nil
	}
	bucket, err := attr("bucket")
	if err != nil {
		return g, err
	}
	ref, err := reference(bucket)
	if err != nil || len(ref) != 3 || ref[0] != "google_storage_bucket" || ref[2] != "name" {
		return g, fmt.Errorf("bucket must be google_storage_bucket.X.name, is %v (%v)", ref, err)
	}
	g.Bucket = ref[1]
	role, err := attr("role")
	if err != nil {
		return g, err
	}
	if g.Role, err = stringValue(role, nil); err != nil {
		return g, fmt.Errorf("role: %w", err)
	}
	member, err := attr("member")
	if err != nil {
		return g, err
	}
	tmpl, ok := member.(*hclsyntax.TemplateExpr)
	if !ok || len(tmpl.Parts) != 2 {
		return g, fmt.Errorf("member must be \"serviceAccount:${REFERENCE}\"")
	}
	if lit, err := stringValue(tmpl.Parts[0], nil); err != nil || lit != "serviceAccount:" {
		return g, fmt.Errorf("member must start with serviceAccount:")
	}
	mref, err := reference(tmpl.Parts[1])
	if err != nil {
		return g, fmt.Errorf("member: %w", err)
	}
	g.Member = strings.Join(mref, ".")
	for _, c := range b.Body.Blocks {
		if c.Type != "condition" {
			continue
		}
		if g.Condition != "" {
			return g, fmt.Errorf("more than one condition block")
		}
		if t, ok := c.Body.Attributes["title"]; ok {
			if g.ConditionTitle, err = stringValue(t.Expr, nil); err != nil {
				return g, fmt.Errorf("condition title: %w", err)
			}
		}
		e, ok := c.Body.Attributes["expression"]
		if !ok {
			return g, fmt.Errorf("condition without expression")
		}
		if g.Condition, err = stringValue(e.Expr, ctx); err != nil {
			return g, fmt.Errorf("condition expression: %w", err)
		}
		if g.Condition == "" {
			return g, fmt.Errorf("empty condition expression")
		}
	}
	return g, nil
}

// reference returns the parts of a bare traversal (a.b.c), or of a template that is only one.
func reference(e hclsyntax.Expression) ([]string, error) {
	if w, ok := e.(*hclsyntax.TemplateWrapExpr); ok {
		e = w.Wrapped
	}
	tr, diags := hcl.AbsTraversalForExpr(e)
	if diags.HasErrors() {
		return nil, fmt.Errorf("not a reference: %s", diags.Error())
	}
	var parts []string
	for _, step := range tr {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			parts = append(parts, s.Name)
		case hcl.TraverseAttr:
			parts = append(parts, s.Name)
		default:
			return nil, fmt.Errorf("not a plain reference")
		}
	}
	return parts, nil
}

// stringValue evaluates e to a string in ctx (nil: literals only).
func stringValue(e hclsyntax.Expression, ctx *hcl.EvalContext) (string, error) {
	v, diags := e.Value(ctx)
	if diags.HasErrors() {
		return "", fmt.Errorf("%s", diags.Error())
	}
	if v.IsNull() || !v.IsWhollyKnown() || v.Type() != cty.String {
		return "", fmt.Errorf("not a known string")
	}
	return v.AsString(), nil
}

func parseRoot(root string) ([]*hclsyntax.Block, error) {
	names, err := fs.Glob(roots, root+"/*.tf")
	if err != nil || len(names) == 0 {
		return nil, fmt.Errorf("terraform: no .tf files in %s (%v)", root, err)
	}
	slices.Sort(names)
	p := hclparse.NewParser()
	var blocks []*hclsyntax.Block
	for _, name := range names {
		src, err := roots.ReadFile(name)
		if err != nil {
			return nil, err
		}
		f, diags := p.ParseHCL(src, path.Join("infra/terraform", name))
		if diags.HasErrors() {
			return nil, fmt.Errorf("terraform: parsing %s: %s", name, diags.Error())
		}
		blocks = append(blocks, f.Body.(*hclsyntax.Body).Blocks...)
	}
	return blocks, nil
}
