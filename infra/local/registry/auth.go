package registry

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/cspipe/cspipe/infra/local/iam"
)

// Authorizer is the local IAM as the registry needs it.
type Authorizer interface {
	Principal(token string) (string, bool)
	Check(principal string, res iam.Resource, permission string) bool
}

var _ Authorizer = (*iam.Server)(nil)

// authorize checks r against repository IAM, as Artifact Registry does: the caller presents an
// access token (Basic with user oauth2accesstoken, as `docker login` and go-containerregistry's
// Google keychain send it, or Bearer); pulls need downloadArtifacts, pushes uploadArtifacts,
// deletes deleteArtifacts on the repository. Anonymous requests are refused. On refusal it
// writes the answer and returns false.
func authorize(w http.ResponseWriter, r *http.Request, opts Options) bool {
	if opts.IAM == nil {
		return true
	}
	token, hasToken := registryToken(r)
	principal := ""
	if hasToken {
		p, ok := opts.IAM.Principal(token)
		if !ok {
			challenge(w, r)
			registryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "Invalid credentials: the access token is not valid or has expired.")
			return false
		}
		principal = p
	}
	repoPath, perm := requestPermission(r)
	if repoPath == "" {
		if !hasToken { // /v2/ ping and catalog: a challenge tells the client how to log in
			challenge(w, r)
			registryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "Unauthenticated request.")
			return false
		}
		return true
	}
	res, ok := repositoryResource(repoPath, opts.Location)
	if !ok {
		registryError(w, http.StatusNotFound, "NAME_UNKNOWN", fmt.Sprintf("Repository %q not found: local repositories are PROJECT/REPOSITORY/IMAGE.", repoPath))
		return false
	}
	if !hasToken {
		challenge(w, r)
		registryError(w, http.StatusUnauthorized, "UNAUTHORIZED", fmt.Sprintf("Unauthenticated request. Unauthenticated requests do not have permission %q on resource %q (or it may not exist)", perm, res.Name))
		return false
	}
	if !opts.IAM.Check(principal, res, perm) {
		registryError(w, http.StatusForbidden, "DENIED", fmt.Sprintf("Permission %q denied on resource %q (or it may not exist)", perm, res.Name))
		return false
	}
	return true
}

// registryToken returns the access token of a Basic (oauth2accesstoken:TOKEN) or Bearer header.
func registryToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if tok, ok := cutPrefixFold(h, "Bearer "); ok && tok != "" {
		return tok, true
	}
	if b64, ok := cutPrefixFold(h, "Basic "); ok {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return "", h != ""
		}
		user, pass, _ := strings.Cut(string(raw), ":")
		if user == "oauth2accesstoken" || user == "_token" {
			return pass, true
		}
	}
	return "", h != ""
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return "", false
}

// requestPermission maps a /v2/ request to its repository path and permission; "" for
// requests on no repository (ping, catalog).
func requestPermission(r *http.Request) (repo, perm string) {
	p, ok := strings.CutPrefix(r.URL.Path, "/v2/")
	if !ok {
		return "", ""
	}
	for _, kind := range []string{"/manifests/", "/blobs/", "/tags/"} {
		if i := strings.LastIndex(p, kind); i > 0 {
			repo = p[:i]
			break
		}
	}
	if repo == "" {
		return "", ""
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return repo, iam.PermDownloadArtifacts
	case http.MethodDelete:
		return repo, iam.PermDeleteArtifacts
	default:
		return repo, iam.PermUploadArtifacts
	}
}

// repositoryResource names the repository of PROJECT/REPOSITORY/IMAGE.
func repositoryResource(repoPath, location string) (iam.Resource, bool) {
	parts := strings.Split(repoPath, "/")
	if len(parts) < 3 || parts[0] == "" || parts[1] == "" {
		return iam.Resource{}, false
	}
	if location == "" {
		location = "us-central1"
	}
	return iam.RepositoryResource(parts[0], location, parts[1]), true
}

func challenge(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", "http://"+r.Host+"/v2/"))
}

func registryError(w http.ResponseWriter, code int, errCode, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": errCode, "message": msg}}})
}
