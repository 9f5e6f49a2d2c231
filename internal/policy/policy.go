// Package policy renders the Workload Identity Pool provider's attribute condition from typed
// fields and explains, clause by clause, why a condition admits or rejects a token's claims.
//
// It is pure: it depends on cel-go only, never on a cloud SDK. The same evaluator is used by
// `cspipe policy explain` and by the local STS stand-in, so the gate the demo shows is the CEL
// that GCP would evaluate.
package policy

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// MaxConditionLen is the WIP provider's limit on attributeCondition, in characters.
const MaxConditionLen = 4096

// Policy is the gate Primus puts on its WIP provider: which image (by repository and digest),
// running as which service account, on which Confidential Space image family may obtain
// credentials. Render validates every field and refuses anything it cannot pin exactly.
//
// Its JSON form is the "policy" of an audit record, from which the record's condition is
// rendered again when the log is verified.
type Policy struct {
	// ImageRepository is the repository without tag or digest, e.g.
	// "us-docker.pkg.dev/primus-proj/repo/workload".
	ImageRepository string `json:"image_repository"`
	// ImageDigest is "sha256:" + 64 lowercase hex; a tag or anything else is refused.
	ImageDigest string `json:"image_digest"`
	// ServiceAccounts must hold at least one email; the clause passes if any of them is in
	// assertion.google_service_accounts.
	ServiceAccounts []string `json:"service_accounts"`
	// SupportAttribute is required in support_attributes; default "STABLE". Ignored when
	// AllowDebugImageUnsafe is set (debug images carry no support attributes).
	SupportAttribute string `json:"support_attribute,omitempty"`
	// EnvOverrides optionally pins assertion.submods.container.env_override.NAME == 'value'.
	EnvOverrides map[string]string `json:"env_overrides,omitempty"`
	// PinnedEndpoints guards the env overrides a token's trust rests on: where the workload
	// sends its attestation token (STS) and the credentials it gets for it (IAM Credentials,
	// Cloud Storage). For each NAME the token must carry no override of NAME at all, or — when
	// the value is not empty — an override of exactly that value. An empty value therefore
	// means "must not be overridden" (the workload then uses Google's own endpoint).
	PinnedEndpoints map[string]string `json:"pinned_endpoints,omitempty"`
	// RestartPolicy optionally pins the restart policy: "", "Never", "Always" or "OnFailure".
	RestartPolicy string `json:"restart_policy,omitempty"`
	// AllowDebugImageUnsafe drops the dbgstat and support-attribute clauses so that the
	// confidential-space-debug image (whose operator can inspect the workload) is admitted.
	// Off by default; never set it for production data.
	AllowDebugImageUnsafe bool `json:"allow_debug_image_unsafe,omitempty"`
}

// Validate checks every field and returns an error naming the first field that is wrong.
func (p Policy) Validate() error {
	if err := validateRepo(p.ImageRepository); err != nil {
		return err
	}
	if _, err := ParseDigest(p.ImageDigest); err != nil {
		return &FieldError{Field: fieldDigest, Err: err}
	}
	if len(p.ServiceAccounts) == 0 {
		return fieldErr(fieldSA, "at least one service account is required")
	}
	for _, sa := range p.ServiceAccounts {
		if err := validateEmail(fieldSA, sa); err != nil {
			return err
		}
	}
	if p.SupportAttribute != "" {
		if err := oneOf(fieldSupport, p.SupportAttribute, SupportAttributes); err != nil {
			return err
		}
	}
	for name, v := range p.EnvOverrides {
		if !envNameRE.MatchString(name) {
			return fieldErr(fieldEnv, "name %q: want [A-Z_][A-Z0-9_]*", truncate(name))
		}
		if err := checkText(fieldEnv+"."+name, v, 1024); err != nil {
			return err
		}
	}
	for name, v := range p.PinnedEndpoints {
		if err := validateEndpoint(name, v); err != nil {
			return err
		}
		if _, ok := p.EnvOverrides[name]; ok {
			return fieldErr(fieldEndpoint, "%s is also in EnvOverrides; pin it in one place", name)
		}
	}
	if p.RestartPolicy != "" {
		if err := oneOf(fieldRestart, p.RestartPolicy, RestartPolicies); err != nil {
			return err
		}
	}
	return nil
}

// Clauses returns the validated policy's clauses, in the order they are rendered.
func (p Policy) Clauses() ([]string, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	c := []string{`assertion.swname == 'CONFIDENTIAL_SPACE'`}
	if !p.AllowDebugImageUnsafe {
		support := p.SupportAttribute
		if support == "" {
			support = "STABLE"
		}
		c = append(c,
			`assertion.dbgstat == 'disabled-since-boot'`,
			fmt.Sprintf(`'%s' in assertion.submods.confidential_space.support_attributes`, support))
	}
	c = append(c,
		fmt.Sprintf(`assertion.submods.container.image_digest == '%s'`, p.ImageDigest),
		fmt.Sprintf(`assertion.submods.container.image_reference.startsWith('%s@')`, p.ImageRepository))
	sas := slices.Clone(p.ServiceAccounts)
	slices.Sort(sas)
	sas = slices.Compact(sas)
	if len(sas) == 1 {
		c = append(c, fmt.Sprintf(`'%s' in assertion.google_service_accounts`, sas[0]))
	} else {
		alts := make([]string, len(sas))
		for i, sa := range sas {
			alts[i] = fmt.Sprintf(`'%s' in assertion.google_service_accounts`, sa)
		}
		c = append(c, "("+strings.Join(alts, " || ")+")")
	}
	names := make([]string, 0, len(p.EnvOverrides))
	for n := range p.EnvOverrides {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		c = append(c, fmt.Sprintf(`assertion.submods.container.env_override.%s == '%s'`, n, p.EnvOverrides[n]))
	}
	for _, n := range slices.Sorted(maps.Keys(p.PinnedEndpoints)) {
		c = append(c, endpointClause(n, p.PinnedEndpoints[n]))
	}
	if p.RestartPolicy != "" {
		c = append(c, fmt.Sprintf(`assertion.submods.container.restart_policy == '%s'`, p.RestartPolicy))
	}
	return c, nil
}

// envOverrideClaim is the claim holding the operator's tee-env-* values: a map, or null when
// the operator overrode nothing.
const envOverrideClaim = "assertion.submods.container.env_override"

// endpointClause admits a token whose env_override is null, has no NAME, or (value not empty)
// has NAME == value. The null test comes first so that `in` never sees a null (an error, and
// so a deny, in CEL).
func endpointClause(name, value string) string {
	c := fmt.Sprintf(`(%[1]s == null || !('%[2]s' in %[1]s)`, envOverrideClaim, name)
	if value != "" {
		c += fmt.Sprintf(` || %s.%s == '%s'`, envOverrideClaim, name, value)
	}
	return c + ")"
}

// Render validates p and returns the attribute condition: its clauses joined by &&, compiled
// and type-checked with cel-go, and no longer than MaxConditionLen.
func (p Policy) Render() (string, error) {
	clauses, err := p.Clauses()
	if err != nil {
		return "", fmt.Errorf("rendering attribute condition: %w", err)
	}
	cond := strings.Join(clauses, " && ")
	if len(cond) > MaxConditionLen {
		return "", fmt.Errorf("rendering attribute condition: %d characters, over the provider's limit of %d", len(cond), MaxConditionLen)
	}
	if _, err := Compile(cond); err != nil {
		return "", fmt.Errorf("rendering attribute condition: %w", err)
	}
	return cond, nil
}
