package iam

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// Form values of the RFC 8693 token exchange as Google's STS takes them.
const (
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccess    = "urn:ietf:params:oauth:token-type:access_token"
	tokenTypeJWT       = "urn:ietf:params:oauth:token-type:jwt"
	tokenTypeIDToken   = "urn:ietf:params:oauth:token-type:id_token"
)

// Google's STS error descriptions, verbatim.
const (
	msgRejectedByCondition = "The given credential is rejected by the attribute condition."
	msgInvalidAudience     = `Invalid value for "audience". This value should be the full resource name of the Identity Provider. See https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token for the list of possible formats.`
	msgInvalidTarget       = `The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist.`
)

var audienceRE = regexp.MustCompile(`^//iam\.googleapis\.com/(projects/[^/]+/locations/global/workloadIdentityPools/[^/]+/providers/[^/]+)$`)

func (s *Server) handleSTS(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		s.stsFail(w, &stsError{status: http.StatusBadRequest, code: "invalid_request", desc: "The request body is not a valid form.", detail: err.Error()}, "")
		return
	}
	tok, expiresIn, serr := s.exchange(r.PostForm)
	if serr != nil {
		s.stsFail(w, serr, r.PostForm.Get("audience"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":      tok,
		"issued_token_type": tokenTypeAccess,
		"token_type":        "Bearer",
		"expires_in":        expiresIn,
	})
}

func (s *Server) stsFail(w http.ResponseWriter, e *stsError, audience string) {
	s.log.Info("sts: token exchange refused", "audience", audience, "error", e.code, "reason", e.detail)
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.desc})
}

func invalidRequest(field string) *stsError {
	return &stsError{status: http.StatusBadRequest, code: "invalid_request",
		desc: fmt.Sprintf("Invalid value for %q.", field), detail: "bad " + field}
}

// exchange verifies a subject token against the provider named by the audience and mints a
// federated access token.
func (s *Server) exchange(f map[string][]string) (string, int, *stsError) {
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if get("grant_type") != grantTokenExchange {
		return "", 0, &stsError{status: http.StatusBadRequest, code: "unsupported_grant_type",
			desc: fmt.Sprintf("Unsupported grant type %q.", get("grant_type")), detail: "grant_type"}
	}
	if t := get("requested_token_type"); t != tokenTypeAccess {
		return "", 0, invalidRequest("requested_token_type")
	}
	if t := get("subject_token_type"); t != tokenTypeJWT && t != tokenTypeIDToken {
		return "", 0, invalidRequest("subject_token_type")
	}
	if get("subject_token") == "" {
		return "", 0, invalidRequest("subject_token")
	}
	m := audienceRE.FindStringSubmatch(get("audience"))
	if m == nil {
		return "", 0, &stsError{status: http.StatusBadRequest, code: "invalid_request", desc: msgInvalidAudience, detail: "malformed audience"}
	}
	s.mu.Lock()
	prov := s.providerLocked(m[1])
	s.mu.Unlock()
	if prov == nil || prov.Disabled {
		return "", 0, &stsError{status: http.StatusBadRequest, code: "invalid_target", desc: msgInvalidTarget, detail: "no such provider or disabled"}
	}
	claims, serr := s.verifySubjectToken(prov.Provider, get("subject_token"))
	if serr != nil {
		return "", 0, serr
	}
	attrs, err := mapAttributes(prov.mappings, claims)
	if err != nil {
		return "", 0, invalidGrant("The mapped attributes could not be evaluated.", err.Error())
	}
	if len(attrs["google.subject"]) > maxSubjectLen {
		return "", 0, &stsError{status: http.StatusBadRequest, code: "invalid_request",
			desc: "The size of mapped attribute google.subject exceeds the 127 bytes limit.", detail: "subject too long"}
	}
	if prov.AttributeCondition != "" {
		cond, err := s.condition(prov.AttributeCondition)
		if err != nil {
			return "", 0, &stsError{status: http.StatusInternalServerError, code: "server_error", desc: "Internal error.", detail: err.Error()}
		}
		v := cond.EvaluateMapped(claims, attrs)
		if !v.Allow {
			// Real STS says only "rejected"; developers get the failing clause in the log.
			failed, _ := v.FailedClause()
			s.log.Warn("sts: attribute condition rejected the credential",
				"provider", prov.Name(), "failed_clause", failed.Expr, "clause_error", failed.Err,
				"image_digest", digestOf(claims))
			return "", 0, &stsError{status: http.StatusBadRequest, code: "unauthorized_client", desc: msgRejectedByCondition,
				detail: "condition failed at: " + failed.Expr}
		}
	}
	poolPrefix := fmt.Sprintf("iam.googleapis.com/projects/%s/locations/global/workloadIdentityPools/%s", prov.ProjectNumber, prov.Pool)
	id := identity{principal: "principal://" + poolPrefix + "/subject/" + attrs["google.subject"],
		sets: []string{"principalSet://" + poolPrefix + "/*"}}
	for k, v := range attrs {
		if name, ok := strings.CutPrefix(k, "attribute."); ok {
			id.sets = append(id.sets, "principalSet://"+poolPrefix+"/attribute."+name+"/"+v)
		}
	}
	tok, _ := s.mint(id)
	s.log.Info("sts: token exchanged", "provider", prov.Name(), "principal", id.principal, "image_digest", digestOf(claims))
	return tok, int(AccessTokenLifetime.Seconds()), nil
}

func digestOf(claims map[string]any) string {
	sub, _ := claims["submods"].(map[string]any)
	c, _ := sub["container"].(map[string]any)
	d, _ := c["image_digest"].(string)
	return d
}
