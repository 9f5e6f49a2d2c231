package iam

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// Resource is what a permission is checked on, with the attributes an IAM Condition sees.
type Resource struct {
	// Name is resource.name, e.g. "projects/_/buckets/B" or "projects/P/zones/Z/instances/N".
	Name string
	// Type is resource.type, e.g. "storage.googleapis.com/Bucket".
	Type string
	// Service is resource.service, e.g. "storage.googleapis.com".
	Service string
	// Parents are resources whose bindings are inherited, nearest first (e.g. "projects/P").
	Parents []string
}

// Condition is an IAM Condition: a CEL expression over resource.name, resource.type,
// resource.service and request.time, with Google's extract() string function.
type Condition struct {
	Title      string
	Expression string
}

// binding is one role granted to one member on one resource, maybe under a condition.
type binding struct {
	member, role string
	cond         cel.Program // nil: unconditional
}

// resourceAttributeServices are the services that give IAM Conditions resource attributes
// (Google's "resource attributes for IAM Conditions" page). Elsewhere resource.* is absent: a
// condition on it evaluates to an error, which IAM treats as false, so the grant does not apply.
var resourceAttributeServices = map[string]bool{
	"storage.googleapis.com":          true,
	"compute.googleapis.com":          true,
	"artifactregistry.googleapis.com": true,
	"secretmanager.googleapis.com":    true,
	"cloudkms.googleapis.com":         true,
}

// Grant binds role to member on resource (a full resource name, or "projects/P").
func (s *Server) Grant(resource, member, role string) error {
	return s.GrantIf(resource, member, role, Condition{})
}

// GrantIf binds role to member on resource under cond (an empty expression: unconditional).
func (s *Server) GrantIf(resource, member, role string, cond Condition) error {
	if resource == "" || member == "" {
		return fmt.Errorf("granting %s: empty resource or member", role)
	}
	if s.permissions(role) == nil {
		return fmt.Errorf("granting on %s: unknown role %q", resource, role)
	}
	b := binding{member: member, role: role}
	if cond.Expression != "" {
		prg, err := compileIAMCondition(cond.Expression)
		if err != nil {
			return fmt.Errorf("granting %s on %s: condition %q: %w", role, resource, cond.Title, err)
		}
		b.cond = prg
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bindings[resource] = append(s.bindings[resource], b)
	return nil
}

// DefineRole creates a custom role (projects/P/roles/NAME) with the given permissions.
func (s *Server) DefineRole(name string, permissions ...string) error {
	if !strings.HasPrefix(name, "projects/") || !strings.Contains(name, "/roles/") || len(permissions) == 0 {
		return fmt.Errorf("defining role %q: want projects/P/roles/NAME and at least one permission", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.customRoles[name] = slices.Clone(permissions)
	return nil
}

func (s *Server) permissions(role string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.permissionsLocked(role)
}

func (s *Server) permissionsLocked(role string) []string {
	if p, ok := rolePermissions[role]; ok {
		return p
	}
	return s.customRoles[role]
}

// revokeAll removes member's unconditional bindings on resource; s.mu is held.
func (s *Server) revokeLocked(resource, member string) {
	s.bindings[resource] = slices.DeleteFunc(s.bindings[resource], func(b binding) bool {
		return b.member == member && b.cond == nil
	})
}

// Check reports whether principal holds permission on res (directly, through its pool's
// principalSet, allAuthenticatedUsers or allUsers, on res or a parent). An empty principal is
// an anonymous caller: only allUsers grants apply.
func (s *Server) Check(principal string, res Resource, permission string) bool {
	if principal == "" {
		return s.check(nil, res, permission)
	}
	return s.check(identity{principal: principal, sets: poolSet(principal)}.members(), res, permission)
}

// CheckToken is Check for the holder of an unexpired access token.
func (s *Server) CheckToken(token string, res Resource, permission string) bool {
	id, ok := s.lookup(token)
	return ok && s.check(id.members(), res, permission)
}

func (s *Server) check(members []string, res Resource, permission string) bool {
	members = append(slices.Clone(members), "allUsers")
	s.mu.Lock()
	var cands []binding
	for _, name := range append([]string{res.Name}, res.Parents...) {
		for _, b := range s.bindings[name] {
			if slices.Contains(members, b.member) && slices.Contains(s.permissionsLocked(b.role), permission) {
				cands = append(cands, b)
			}
		}
	}
	s.mu.Unlock()
	now := s.now()
	for _, b := range cands {
		if b.cond == nil || conditionHolds(b.cond, res, now) {
			return true
		}
	}
	return false
}

// conditionHolds evaluates a compiled IAM Condition for res at now: resource.* is present only
// for services that give IAM Conditions resource attributes, and an evaluation error is false.
func conditionHolds(prg cel.Program, res Resource, now time.Time) bool {
	vars := map[string]any{"request": map[string]any{"time": now}}
	if resourceAttributeServices[res.Service] {
		vars["resource"] = map[string]any{"name": res.Name, "type": res.Type, "service": res.Service}
	} else {
		vars["resource"] = map[string]any{}
	}
	v, _, err := prg.Eval(vars)
	return err == nil && v == types.True
}

// ConditionHolds reports whether the IAM Condition expr grants on res at now, exactly as Check
// evaluates a conditional binding (same CEL environment); err is a compile error.
func ConditionHolds(expr string, res Resource, now time.Time) (bool, error) {
	prg, err := compileIAMCondition(expr)
	if err != nil {
		return false, err
	}
	return conditionHolds(prg, res, now), nil
}

// compileIAMCondition compiles an IAM Condition expression; it must be a bool.
func compileIAMCondition(expr string) (cel.Program, error) {
	env, err := cel.NewEnv(
		cel.Variable("resource", cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable("request", cel.MapType(cel.StringType, cel.DynType)),
		cel.Function("extract", cel.MemberOverload("string_extract_string",
			[]*cel.Type{cel.StringType, cel.StringType}, cel.StringType,
			cel.BinaryBinding(func(s, tmpl ref.Val) ref.Val {
				return types.String(extract(string(s.(types.String)), string(tmpl.(types.String))))
			}))),
	)
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	if ast.OutputType() != cel.BoolType {
		return nil, fmt.Errorf("yields %s, want bool", ast.OutputType())
	}
	return env.Program(ast)
}

// extract is IAM's string extract(template): the text that the template's {placeholder} stands
// for at the first occurrence of the template's literal prefix, or "" when it does not occur.
func extract(s, tmpl string) string {
	open := strings.Index(tmpl, "{")
	closing := strings.Index(tmpl, "}")
	if open < 0 || closing < open {
		return ""
	}
	prefix, suffix := tmpl[:open], tmpl[closing+1:]
	i := strings.Index(s, prefix)
	if i < 0 {
		return ""
	}
	rest := s[i+len(prefix):]
	if suffix == "" {
		return rest
	}
	j := strings.Index(rest, suffix)
	if j < 0 {
		return ""
	}
	return rest[:j]
}
