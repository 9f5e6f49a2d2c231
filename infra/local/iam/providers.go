package iam

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/cspipe/cspipe/internal/policy"
	iamv1 "google.golang.org/api/iam/v1"
)

// Provider configures one OIDC Workload Identity Pool provider.
type Provider struct {
	ProjectID     string // optional alias accepted in REST names
	ProjectNumber string // required; used in names, audiences and principals
	Pool          string
	ID            string
	// IssuerURI is the OIDC issuer whose discovery document and JWKS the STS fetches.
	IssuerURI string
	// AllowedAudiences of subject tokens; empty means the provider's own resource name
	// ("//iam.googleapis.com/projects/N/…/providers/X" or its https:// form).
	AllowedAudiences []string
	// AttributeMapping maps google.subject (required) and attribute.NAME to CEL expressions
	// over assertion. Default: {"google.subject": "assertion.sub"}.
	AttributeMapping map[string]string
	// AttributeCondition is the CEL condition a token's claims must satisfy; empty admits all.
	AttributeCondition string
	Disabled           bool
}

type provider struct {
	Provider
	mappings map[string]mapping
}

// Name is the provider's resource name, with the project number.
func (p Provider) Name() string {
	return fmt.Sprintf("projects/%s/locations/global/workloadIdentityPools/%s/providers/%s", p.ProjectNumber, p.Pool, p.ID)
}

// Audience is the STS audience naming this provider.
func (p Provider) Audience() string { return "//iam.googleapis.com/" + p.Name() }

// PoolPrincipalSet is the member for every identity federated through the provider's pool.
func (p Provider) PoolPrincipalSet() string {
	return fmt.Sprintf("principalSet://iam.googleapis.com/projects/%s/locations/global/workloadIdentityPools/%s/*", p.ProjectNumber, p.Pool)
}

// AddProvider creates or replaces a provider. The condition and mappings must compile.
func (s *Server) AddProvider(p Provider) error {
	if p.ProjectNumber == "" || p.Pool == "" || p.ID == "" || p.IssuerURI == "" {
		return fmt.Errorf("adding provider: project number, pool, id and issuer are required")
	}
	if p.AttributeMapping == nil {
		p.AttributeMapping = map[string]string{"google.subject": "assertion.sub"}
	}
	p.AttributeMapping = maps.Clone(p.AttributeMapping)
	p.AllowedAudiences = slices.Clone(p.AllowedAudiences)
	m, err := compileMappings(p.AttributeMapping)
	if err != nil {
		return fmt.Errorf("adding provider %s: %w", p.Name(), err)
	}
	if p.AttributeCondition != "" {
		if _, err := s.condition(p.AttributeCondition); err != nil {
			return fmt.Errorf("adding provider %s: %w", p.Name(), err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.providers[p.Name()] = &provider{Provider: p, mappings: m}
	if p.ProjectID != "" {
		s.projectNums[p.ProjectID] = p.ProjectNumber
	}
	return nil
}

// Provider returns a copy of the named provider's configuration (project id or number).
func (s *Server) Provider(name string) (Provider, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.providerLocked(name)
	if p == nil {
		return Provider{}, false
	}
	return p.Provider, true
}

func (s *Server) providerLocked(name string) *provider {
	parts := strings.Split(name, "/")
	if len(parts) == 8 && parts[0] == "projects" {
		if n, ok := s.projectNums[parts[1]]; ok {
			parts[1] = n
		}
	}
	return s.providers[strings.Join(parts, "/")]
}

// AllowProviderUpdate lets principal PATCH providers (iam.workloadIdentityPoolProviders.update).
func (s *Server) AllowProviderUpdate(principal string) {
	s.mu.Lock()
	s.updaters[principal] = true
	s.mu.Unlock()
}

// condition compiles a condition once and caches it.
func (s *Server) condition(text string) (*policy.Condition, error) {
	s.mu.Lock()
	c, ok := s.conds[text]
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	c, err := policy.Compile(text)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.conds[text] = c
	s.mu.Unlock()
	return c, nil
}

func providerName(r *http.Request) string {
	return fmt.Sprintf("projects/%s/locations/%s/workloadIdentityPools/%s/providers/%s",
		r.PathValue("project"), r.PathValue("location"), r.PathValue("pool"), r.PathValue("provider"))
}

func (p Provider) rest() *iamv1.WorkloadIdentityPoolProvider {
	state := "ACTIVE"
	return &iamv1.WorkloadIdentityPoolProvider{
		Name:               p.Name(),
		State:              state,
		Disabled:           p.Disabled,
		AttributeMapping:   maps.Clone(p.AttributeMapping),
		AttributeCondition: p.AttributeCondition,
		Oidc:               &iamv1.Oidc{IssuerUri: p.IssuerURI, AllowedAudiences: slices.Clone(p.AllowedAudiences)},
	}
}

func (s *Server) notFound(w http.ResponseWriter, name string) {
	googleError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.")
	s.log.Info("iam: provider not found", "provider", name)
}

func (s *Server) handleGetProvider(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.bearer(w, r); !ok {
		return
	}
	p, ok := s.Provider(providerName(r))
	if !ok {
		s.notFound(w, providerName(r))
		return
	}
	writeJSON(w, http.StatusOK, p.rest())
}

func (s *Server) handlePatchProvider(w http.ResponseWriter, r *http.Request) {
	id, ok := s.bearer(w, r)
	if !ok {
		return
	}
	name := providerName(r)
	s.mu.Lock()
	allowed := s.updaters[id.principal]
	s.mu.Unlock()
	if !allowed {
		perm := "iam.workloadIdentityPoolProviders.update"
		googleError(w, http.StatusForbidden, "PERMISSION_DENIED",
			fmt.Sprintf("Permission '%s' denied on resource '//iam.googleapis.com/%s' (or it may not exist).", perm, name),
			permissionDetail(perm, "iam.googleapis.com"))
		return
	}
	var body iamv1.WorkloadIdentityPoolProvider
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return
	}
	mask := r.URL.Query().Get("updateMask")
	if mask == "" {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "update_mask is required.")
		return
	}
	s.mu.Lock()
	cur := s.providerLocked(name)
	s.mu.Unlock()
	if cur == nil {
		s.notFound(w, name)
		return
	}
	next := cur.Provider
	for _, f := range strings.Split(mask, ",") {
		switch strings.TrimSpace(f) {
		case "attributeCondition", "attribute_condition":
			next.AttributeCondition = body.AttributeCondition
		case "attributeMapping", "attribute_mapping":
			next.AttributeMapping = body.AttributeMapping
		case "disabled":
			next.Disabled = body.Disabled
		case "oidc.allowedAudiences", "oidc.allowed_audiences":
			if body.Oidc != nil {
				next.AllowedAudiences = body.Oidc.AllowedAudiences
			}
		default:
			googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf("Invalid update mask path: %q.", f))
			return
		}
	}
	if len(next.AttributeCondition) > policy.MaxConditionLen {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "The attribute condition must not exceed 4096 characters.")
		return
	}
	if err := s.AddProvider(next); err != nil {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid attribute condition or mapping: "+err.Error())
		return
	}
	s.log.Info("iam: provider updated", "provider", next.Name(), "update_mask", mask, "principal", id.principal)
	writeJSON(w, http.StatusOK, s.newOperation(next))
}

// newOperation records a finished operation for the update and returns it as PATCH answers
// it: not yet done, so that callers exercise their polling; GET reports it done.
func (s *Server) newOperation(p Provider) *iamv1.Operation {
	s.mu.Lock()
	s.opSeq++
	name := fmt.Sprintf("%s/operations/%s", p.Name(), fmt.Sprintf("op-%d-%s", s.opSeq, randomHex(4)))
	resp, _ := json.Marshal(map[string]any{
		"@type": "type.googleapis.com/google.iam.v1.WorkloadIdentityPoolProvider",
		"name":  p.Name(), "attributeCondition": p.AttributeCondition, "state": "ACTIVE",
	})
	done, _ := json.Marshal(&iamv1.Operation{Name: name, Done: true, Response: resp})
	s.ops[name] = done
	s.mu.Unlock()
	return &iamv1.Operation{Name: name, Done: false}
}

func (s *Server) handleGetOperation(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.bearer(w, r); !ok {
		return
	}
	name := providerName(r) + "/operations/" + r.PathValue("op")
	s.mu.Lock()
	parts := strings.Split(name, "/")
	if n, ok := s.projectNums[parts[1]]; ok {
		parts[1] = n
	}
	op, ok := s.ops[strings.Join(parts, "/")]
	s.mu.Unlock()
	if !ok {
		googleError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(op)
}

func permissionDetail(perm, domain string) map[string]any {
	return map[string]any{
		"@type":    "type.googleapis.com/google.rpc.ErrorInfo",
		"reason":   "IAM_PERMISSION_DENIED",
		"domain":   domain,
		"metadata": map[string]string{"permission": perm},
	}
}
