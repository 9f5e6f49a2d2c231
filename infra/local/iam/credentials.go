package iam

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Roles on a service account that carry iam.serviceAccounts.getAccessToken.
const (
	RoleWorkloadIdentityUser = "roles/iam.workloadIdentityUser"
	RoleTokenCreator         = "roles/iam.serviceAccountTokenCreator"
)

// GrantServiceAccountRole grants role on the service account email to member (a principal or
// a principalSet://…), as a binding of the one policy model.
func (s *Server) GrantServiceAccountRole(email, member, role string) error {
	if role != RoleWorkloadIdentityUser && role != RoleTokenCreator {
		return fmt.Errorf("granting on %s: unsupported role %q", email, role)
	}
	return s.Grant(ServiceAccountResource(ServiceAccountProject(email), email).Name, member, role)
}

// PermGetAccessToken is what generateAccessToken checks on the service account.
const PermGetAccessToken = "iam.serviceAccounts.getAccessToken"

func (s *Server) mayImpersonate(id identity, email string) bool {
	return s.check(id.members(), ServiceAccountResource(ServiceAccountProject(email), email), PermGetAccessToken)
}

func (s *Server) handleServiceAccountCall(w http.ResponseWriter, r *http.Request) {
	email, ok := strings.CutSuffix(r.PathValue("call"), ":generateAccessToken")
	if !ok || email == "" {
		googleError(w, http.StatusNotFound, "NOT_FOUND", "Method not found.")
		return
	}
	id, ok := s.bearer(w, r)
	if !ok {
		return
	}
	var req struct {
		Scope    []string `json:"scope"`
		Lifetime string   `json:"lifetime"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return
	}
	if len(req.Scope) == 0 {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Scope required.")
		return
	}
	if req.Lifetime != "" {
		d, err := time.ParseDuration(req.Lifetime)
		if err != nil || d <= 0 || d > AccessTokenLifetime {
			googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "The lifetime must be a positive duration of at most 3600s.")
			return
		}
	}
	if !s.mayImpersonate(id, email) {
		const perm = "iam.serviceAccounts.getAccessToken"
		s.log.Info("iamcredentials: generateAccessToken denied", "service_account", email, "principal", id.principal)
		googleError(w, http.StatusForbidden, "PERMISSION_DENIED",
			"Permission '"+perm+"' denied on resource (or it may not exist).", permissionDetail(perm, "iam.googleapis.com"))
		return
	}
	tok, exp := s.mint(identity{principal: ServiceAccount(email)})
	writeJSON(w, http.StatusOK, map[string]string{"accessToken": tok, "expireTime": exp.UTC().Format(time.RFC3339)})
}

// MintIDToken signs a Google-style ID token for the service account email with the given
// audience (the metadata server's identity endpoint uses it). Verify it with the keys at
// URL()+"/oauth2/v3/certs"; its issuer is URL().
func (s *Server) MintIDToken(email, audience string) (string, error) {
	if audience == "" {
		return "", fmt.Errorf("minting id token for %s: empty audience", email)
	}
	now := s.now()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": s.url, "aud": audience, "sub": email, "azp": email,
		"email": email, "email_verified": true,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	t.Header["kid"] = s.kid
	return t.SignedString(s.key)
}

func (s *Server) handleCerts(w http.ResponseWriter, r *http.Request) {
	pub := s.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": s.kid,
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}
