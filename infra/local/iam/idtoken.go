package iam

import (
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// VerifyIDToken checks an ID token minted by MintIDToken: RS256 with this server's key, issuer
// URL(), the given audience, unexpired. It returns the token's service account email.
func (s *Server) VerifyIDToken(token, audience string) (string, error) {
	var claims struct {
		Email string `json:"email"`
		jwt.RegisteredClaims
	}
	_, err := jwt.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid != s.kid {
			return nil, fmt.Errorf("unknown key id %q", kid)
		}
		return &s.key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(s.url), jwt.WithAudience(audience),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.now))
	if err != nil {
		return "", fmt.Errorf("verifying ID token: %w", err)
	}
	if claims.Email == "" {
		return "", errors.New("verifying ID token: no email claim")
	}
	return claims.Email, nil
}
