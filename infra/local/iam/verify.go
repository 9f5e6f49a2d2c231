package iam

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cspipe/cspipe/infra/local/attest"
	"github.com/golang-jwt/jwt/v5"
)

// issuerKeys caches one issuer's verification keys by kid.
type issuerKeys struct {
	keys    map[string]*rsa.PublicKey
	fetched time.Time
}

// errIssuerUnavailable marks a failure to reach the issuer (a 5xx, not the caller's fault).
var errIssuerUnavailable = errors.New("issuer unavailable")

// issuerKey returns the key kid of issuer, fetching discovery and JWKS over HTTP when the key
// is not cached (keys rotate; an unknown kid triggers one refetch).
func (s *Server) issuerKey(issuer, kid string) (*rsa.PublicKey, error) {
	s.mu.Lock()
	ik := s.issuers[issuer]
	s.mu.Unlock()
	if ik != nil {
		if k, ok := ik.keys[kid]; ok {
			return k, nil
		}
		if s.now().Sub(ik.fetched) < time.Second {
			return nil, fmt.Errorf("key %q not in issuer's JWKS", kid)
		}
	}
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := s.getJSON(strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", &disc); err != nil {
		return nil, err
	}
	if disc.JWKSURI == "" {
		return nil, fmt.Errorf("discovery document of %s has no jwks_uri: %w", issuer, errIssuerUnavailable)
	}
	var set attest.JWKS
	if err := s.getJSON(disc.JWKSURI, &set); err != nil {
		return nil, err
	}
	ik = &issuerKeys{keys: map[string]*rsa.PublicKey{}, fetched: s.now()}
	for _, k := range set.Keys {
		if pub, err := k.RSA(); err == nil && k.Kid != "" {
			ik.keys[k.Kid] = pub
		}
	}
	s.mu.Lock()
	s.issuers[issuer] = ik
	s.mu.Unlock()
	if k, ok := ik.keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("key %q not in issuer's JWKS", kid)
}

func (s *Server) getJSON(url string, v any) error {
	resp, err := s.http.Get(url)
	if err != nil {
		return fmt.Errorf("fetching %s: %v: %w", url, err, errIssuerUnavailable)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetching %s: %s: %w", url, resp.Status, errIssuerUnavailable)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("decoding %s: %v: %w", url, err, errIssuerUnavailable)
	}
	return nil
}

// stsError is an OAuth error answer of the STS.
type stsError struct {
	status int
	code   string
	desc   string
	detail string // for the server log only
}

func (e *stsError) Error() string { return e.code + ": " + e.desc }

// MaxSubjectTokenLifetime is the longest exp − iat STS accepts for an OIDC subject token.
// Google documents that federated OIDC tokens must carry exp and be short-lived; the 24-hour
// bound is the one its Workload Identity Federation guides give for issuers' tokens (we found
// no STS reference page stating it, so treat it as unverified). Confidential Space tokens live
// one hour.
const MaxSubjectTokenLifetime = 24 * time.Hour

// MaxSubjectTokenBytes bounds the subject token STS parses (the form itself is bounded too).
const MaxSubjectTokenBytes = 64 << 10

// STS's answers for a subject token without exp, or with a lifetime over the maximum. Google
// does not document these descriptions verbatim; they follow the documented invalid_grant
// answers for ID tokens ("ID Token expired at …", "The audience in ID Token …").
const (
	msgMissingExp  = "The ID Token is missing the required exp claim."
	msgTooLongLife = "The ID Token lifetime (exp - iat) of %d seconds exceeds the maximum of %d seconds."
)

func invalidGrant(desc, detail string) *stsError {
	return &stsError{status: http.StatusBadRequest, code: "invalid_grant", desc: desc, detail: detail}
}

// verifySubjectToken checks the JWT's signature against the provider's issuer, its issuer,
// expiry and audience, and returns its claims as decoded JSON.
func (s *Server) verifySubjectToken(p Provider, token string) (map[string]any, *stsError) {
	issuer := strings.TrimSuffix(p.IssuerURI, "/")
	if len(token) > MaxSubjectTokenBytes {
		return nil, &stsError{status: http.StatusBadRequest, code: "invalid_request",
			desc: fmt.Sprintf("The subject token is larger than %d bytes.", MaxSubjectTokenBytes), detail: "subject token too large"}
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return s.issuerKey(issuer, kid)
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithTimeFunc(s.now))
	switch {
	case errors.Is(err, errIssuerUnavailable):
		return nil, &stsError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable",
			desc: "The issuer of the credential could not be reached.", detail: err.Error()}
	case errors.Is(err, jwt.ErrTokenExpired):
		exp, _ := claims.GetExpirationTime()
		return nil, invalidGrant(fmt.Sprintf("ID Token expired at %d.", exp.Unix()), err.Error())
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return nil, invalidGrant("ID Token is not yet valid.", err.Error())
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return nil, invalidGrant(msgMissingExp, err.Error())
	case err != nil:
		return nil, invalidGrant("Unable to verify the ID Token signature.", err.Error())
	}
	exp, _ := claims.GetExpirationTime()
	start := s.now()
	if iat, _ := claims.GetIssuedAt(); iat != nil {
		start = iat.Time
	}
	if life := exp.Sub(start); life > MaxSubjectTokenLifetime {
		return nil, invalidGrant(fmt.Sprintf(msgTooLongLife, int64(life/time.Second), int64(MaxSubjectTokenLifetime/time.Second)), "lifetime too long")
	}
	if iss, _ := claims["iss"].(string); strings.TrimSuffix(iss, "/") != issuer {
		return nil, invalidGrant(fmt.Sprintf("The issuer in ID Token %s does not match the expected issuer %s.", iss, p.IssuerURI), "issuer mismatch")
	}
	auds, _ := claims.GetAudience()
	allowed := p.AllowedAudiences
	if len(allowed) == 0 {
		allowed = []string{p.Audience(), "https://iam.googleapis.com/" + p.Name()}
	}
	if !anyIn(auds, allowed) {
		return nil, invalidGrant(fmt.Sprintf("The audience in ID Token %v does not match the expected audience.", []string(auds)), "audience mismatch")
	}
	b, err := json.Marshal(claims)
	if err != nil {
		return nil, invalidGrant("The ID Token payload is malformed.", err.Error())
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, invalidGrant("The ID Token payload is malformed.", err.Error())
	}
	return out, nil
}

func anyIn(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}
