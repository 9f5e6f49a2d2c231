package compute

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/cspipe/cspipe/infra/local/iam"
)

// Authorizer is the local IAM as Compute needs it: who called, and whether they may.
type Authorizer interface {
	Caller(r *http.Request) (string, error)
	Check(principal string, res iam.Resource, permission string) bool
}

var _ Authorizer = (*iam.Server)(nil)

// caller authenticates r; with no Authorizer every request passes as "".
func (s *Server) caller(w http.ResponseWriter, r *http.Request) (string, bool) {
	if s.opts.IAM == nil {
		return "", true
	}
	p, err := s.opts.IAM.Caller(r)
	switch {
	case errors.Is(err, iam.ErrNoCredentials):
		(&apiError{http.StatusUnauthorized, "required", "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."}).write(w)
		return "", false
	case err != nil:
		(&apiError{http.StatusUnauthorized, "authError", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."}).write(w)
		return "", false
	}
	return p, true
}

// permitted checks permission on res for principal, writing Compute's 403 when it is missing.
func (s *Server) permitted(w http.ResponseWriter, principal string, res iam.Resource, permission string) bool {
	if s.opts.IAM == nil || s.opts.IAM.Check(principal, res, permission) {
		return true
	}
	s.log.Info("compute: permission denied", "principal", principal, "permission", permission, "resource", res.Name)
	(&apiError{http.StatusForbidden, "forbidden", fmt.Sprintf("Required '%s' permission for '%s'", permission, res.Name)}).write(w)
	return false
}

// mayActAs checks iam.serviceAccounts.actAs on every service account an instance would run as:
// creating a VM that runs as an account lets its code use that account's tokens.
func (s *Server) mayActAs(w http.ResponseWriter, principal string, accounts []string) bool {
	if s.opts.IAM == nil {
		return true
	}
	for _, email := range accounts {
		if s.opts.IAM.Check(principal, iam.ServiceAccountResource(iam.ServiceAccountProject(email), email), iam.PermActAs) {
			continue
		}
		s.log.Info("compute: actAs denied", "principal", principal, "service_account", email)
		badRequest(fmt.Sprintf("The user does not have access to service account '%s'.  User: '%s'.  Ask a project owner to grant you the iam.serviceAccountUser role on the service account", email, iam.Email(principal))).write(w)
		return false
	}
	return true
}
