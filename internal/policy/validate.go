package policy

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// Field names used in validation errors; they match the Policy struct fields.
const (
	fieldRepo     = "ImageRepository"
	fieldDigest   = "ImageDigest"
	fieldSA       = "ServiceAccounts"
	fieldSupport  = "SupportAttribute"
	fieldEnv      = "EnvOverrides"
	fieldRestart  = "RestartPolicy"
	fieldEndpoint = "PinnedEndpoints"
)

// FieldError names the Policy field that failed validation.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return "policy field " + e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

var (
	// A registry host (optionally with a port) followed by one or more lower-case path
	// components, as in the OCI distribution reference grammar. No tag and no digest.
	repoHostRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$`)
	repoPathRE = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$`)
	emailRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9._+-]{0,63}@[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)
	envNameRE  = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)
)

// SupportAttributes lists the values accepted for Policy.SupportAttribute.
var SupportAttributes = []string{"LATEST", "STABLE", "USABLE", "EXPERIMENTAL"}

// RestartPolicies lists the values accepted for Policy.RestartPolicy ("" means not pinned).
var RestartPolicies = []string{"Never", "Always", "OnFailure"}

// checkText refuses values that could break out of a CEL string literal or hide in logs:
// empty values, quotes, backslashes, and any non-printable or non-ASCII-space character.
func checkText(field, v string, maxLen int) error {
	if v == "" {
		return fieldErr(field, "empty value")
	}
	if len(v) > maxLen {
		return fieldErr(field, "value longer than %d bytes", maxLen)
	}
	for _, r := range v {
		switch {
		case r == '\'' || r == '"' || r == '`':
			return fieldErr(field, "value %q contains a quote", truncate(v))
		case r == '\\':
			return fieldErr(field, "value %q contains a backslash", truncate(v))
		case r == '\n' || r == '\r':
			return fieldErr(field, "value %q contains a newline", truncate(v))
		case r == unicode.ReplacementChar || !unicode.IsPrint(r) || r > unicode.MaxASCII:
			return fieldErr(field, "value %q contains a non-printable or non-ASCII character", truncate(v))
		}
	}
	return nil
}

func validateRepo(repo string) error {
	if err := checkText(fieldRepo, repo, 255); err != nil {
		return err
	}
	if strings.Contains(repo, "@") {
		return fieldErr(fieldRepo, "%q contains a digest; give the repository and the digest separately", truncate(repo))
	}
	host, path, ok := strings.Cut(repo, "/")
	if !ok || path == "" {
		return fieldErr(fieldRepo, "%q: want host/path", truncate(repo))
	}
	if !repoHostRE.MatchString(host) {
		return fieldErr(fieldRepo, "%q: invalid registry host %q", truncate(repo), truncate(host))
	}
	for _, c := range strings.Split(path, "/") {
		if strings.Contains(c, ":") {
			return fieldErr(fieldRepo, "%q contains a tag; give the repository without a tag", truncate(repo))
		}
		if !repoPathRE.MatchString(c) {
			return fieldErr(fieldRepo, "%q: invalid path component %q", truncate(repo), truncate(c))
		}
	}
	return nil
}

// validateEndpoint checks one PinnedEndpoints entry: an env name, and either "" (must not be
// overridden) or an absolute http(s) URL without user info, query or fragment.
func validateEndpoint(name, v string) error {
	if !envNameRE.MatchString(name) {
		return fieldErr(fieldEndpoint, "name %q: want [A-Z_][A-Z0-9_]*", truncate(name))
	}
	if v == "" {
		return nil
	}
	if err := checkText(fieldEndpoint+"."+name, v, 512); err != nil {
		return err
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(v, " \t") {
		return fieldErr(fieldEndpoint+"."+name, "%q: want an absolute http(s) URL without user info, query or fragment", truncate(v))
	}
	return nil
}

func validateEmail(field, email string) error {
	if err := checkText(field, email, 254); err != nil {
		return err
	}
	if !emailRE.MatchString(email) {
		return fieldErr(field, "%q is not a lower-case service account email", truncate(email))
	}
	return nil
}

func oneOf(field, v string, allowed []string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fieldErr(field, "%q: want one of %s", truncate(v), strings.Join(allowed, ", "))
}
