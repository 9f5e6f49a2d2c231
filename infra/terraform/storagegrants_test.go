package terraform_test

import (
	"testing"

	"github.com/cspipe/cspipe/infra/terraform"
)

// TestStorageGrantsReadsEveryGrant: terraform.StorageGrants (what the local stack grants from)
// returns every google_storage_bucket_iam_member of both roots, with the role and the condition
// text Terraform itself would evaluate for the same bucket names.
func TestStorageGrantsReadsEveryGrant(t *testing.T) {
	locals := map[string]string{}
	roots := map[string]*root{}
	for _, dir := range terraform.Roots {
		r := loadRoot(t, dir)
		roots[dir] = r
		ctx := r.evalCtx(t, sampleVars)
		for _, name := range []string{"audit_bucket", "model_bucket", "input_bucket", "results_bucket", "state_bucket"} {
			if ctx.Variables["local"].Type().HasAttribute(name) {
				locals[name] = local(t, ctx, name)
			}
		}
	}
	grants, err := terraform.StorageGrants(locals)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for dir, r := range roots {
		ctx := r.evalCtx(t, sampleVars)
		for _, b := range r.resourcesOf("google_storage_bucket_iam_member") {
			total++
			var g *terraform.StorageGrant
			for i := range grants {
				if grants[i].Root == dir && grants[i].Name == b.Labels[1] {
					g = &grants[i]
				}
			}
			if g == nil {
				t.Errorf("%s: StorageGrants lacks %s", dir, b.Labels[1])
				continue
			}
			if want := str(t, ctx, b.Body.Attributes["role"].Expr); g.Role != want {
				t.Errorf("%s.%s: role %q, want %q", dir, g.Name, g.Role, want)
			}
			want := ""
			for _, c := range b.Body.Blocks {
				if c.Type == "condition" {
					want = str(t, ctx, c.Body.Attributes["expression"].Expr)
				}
			}
			if g.Condition != want {
				t.Errorf("%s.%s: condition %q, want %q", dir, g.Name, g.Condition, want)
			}
		}
	}
	if len(grants) != total || total == 0 {
		t.Errorf("StorageGrants returned %d grants, the roots declare %d", len(grants), total)
	}
	// A condition that refers to something other than the given locals is an error, not a guess.
	delete(locals, "results_bucket")
	if _, err := terraform.StorageGrants(locals); err == nil {
		t.Error("StorageGrants without results_bucket: no error")
	}
}
