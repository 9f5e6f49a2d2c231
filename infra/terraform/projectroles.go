package terraform

import (
	"fmt"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// ProjectGrant is a custom role of a root and one google_project_iam_member that grants it: what
// the local stack defines and grants for a service whose IAM it enforces (Compute), so that a
// permission or a condition that is wrong in Terraform fails locally as it would on Google Cloud.
type ProjectGrant struct {
	// Permissions are the role's (google_project_iam_custom_role.X.permissions), in file order.
	Permissions []string
	// ConditionTitle and Condition are the grant's IAM Condition (literal text), if any.
	ConditionTitle, Condition string
}

// CustomRoleGrant reads root's google_project_iam_custom_role labelled role and its grant, the
// google_project_iam_member labelled grant, which must hold that role.
func CustomRoleGrant(root, role, grant string) (ProjectGrant, error) {
	var out ProjectGrant
	blocks, err := parseRoot(root)
	if err != nil {
		return out, err
	}
	find := func(typ, label string) (*hclsyntax.Block, error) {
		for _, b := range blocks {
			if b.Type == "resource" && len(b.Labels) == 2 && b.Labels[0] == typ && b.Labels[1] == label {
				return b, nil
			}
		}
		return nil, fmt.Errorf("terraform %s: no %s.%s", root, typ, label)
	}
	rb, err := find("google_project_iam_custom_role", role)
	if err != nil {
		return out, err
	}
	pa, ok := rb.Body.Attributes["permissions"]
	if !ok {
		return out, fmt.Errorf("terraform %s: google_project_iam_custom_role.%s has no permissions", root, role)
	}
	v, diags := pa.Expr.Value(nil)
	if diags.HasErrors() || !v.Type().IsTupleType() && !v.Type().IsListType() {
		return out, fmt.Errorf("terraform %s: google_project_iam_custom_role.%s: permissions must be a literal list (%s)", root, role, diags.Error())
	}
	for _, p := range v.AsValueSlice() {
		if !p.Type().Equals(cty.String) || p.IsNull() {
			return out, fmt.Errorf("terraform %s: google_project_iam_custom_role.%s: a permission is not a string", root, role)
		}
		out.Permissions = append(out.Permissions, p.AsString())
	}
	gb, err := find("google_project_iam_member", grant)
	if err != nil {
		return out, err
	}
	ra, ok := gb.Body.Attributes["role"]
	if ref, rerr := reference(ra.Expr); !ok || rerr != nil || len(ref) != 3 || ref[0] != "google_project_iam_custom_role" || ref[1] != role || ref[2] != "id" {
		return out, fmt.Errorf("terraform %s: google_project_iam_member.%s does not grant google_project_iam_custom_role.%s.id", root, grant, role)
	}
	for _, c := range gb.Body.Blocks {
		if c.Type != "condition" {
			continue
		}
		if t, ok := c.Body.Attributes["title"]; ok {
			if out.ConditionTitle, err = stringValue(t.Expr, nil); err != nil {
				return out, fmt.Errorf("terraform %s: google_project_iam_member.%s: condition title: %w", root, grant, err)
			}
		}
		e, ok := c.Body.Attributes["expression"]
		if !ok {
			return out, fmt.Errorf("terraform %s: google_project_iam_member.%s: condition without expression", root, grant)
		}
		if out.Condition, err = stringValue(e.Expr, nil); err != nil {
			return out, fmt.Errorf("terraform %s: google_project_iam_member.%s: condition expression: %w", root, grant, err)
		}
	}
	return out, nil
}
