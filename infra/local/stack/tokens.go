package stack

import (
	"time"

	"github.com/cspipe/cspipe/infra/local/iam"
	"golang.org/x/oauth2"
)

// principalTokens mints local IAM access tokens for one principal, renewing them before expiry.
type principalTokens struct {
	ids       *iam.Server
	principal string
}

func (p principalTokens) Token() (*oauth2.Token, error) {
	return &oauth2.Token{
		AccessToken: p.ids.MintAccessToken(p.principal),
		TokenType:   "Bearer",
		Expiry:      time.Now().Add(iam.AccessTokenLifetime - 5*time.Minute),
	}, nil
}

// TokenSource returns an oauth2.TokenSource of the local IAM for principal (iam.User(…) or
// iam.ServiceAccount(…)).
func (s *Stack) TokenSource(principal string) oauth2.TokenSource {
	return oauth2.ReuseTokenSource(nil, principalTokens{ids: s.IAM, principal: principal})
}
