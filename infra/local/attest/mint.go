package attest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"

	"github.com/golang-jwt/jwt/v5"
)

// Workload holds the facts the launcher measures and the verifier turns into claims.
type Workload struct {
	ImageReference  string            // as given in tee-image-reference
	ImageDigest     string            // manifest digest, sha256:<hex>
	ImageID         string            // config digest, sha256:<hex>
	RestartPolicy   string            // Never (default), Always, OnFailure
	Env             map[string]string // the container's full environment
	EnvOverride     map[string]string // only the operator's tee-env-* values
	CmdOverride     []string          // tee-cmd, if any
	Args            []string          // entrypoint + cmd as executed
	ServiceAccounts []string          // VM service account plus impersonated ones

	Project       string // project id
	ProjectNumber string // decimal, as a string
	Zone          string
	InstanceName  string
	InstanceID    string // decimal, as a string

	// Debug marks the confidential-space-debug image family: dbgstat "enabled" and no
	// support attributes.
	Debug bool
	// SupportAttributes overrides the production family's ["LATEST","STABLE","USABLE"].
	SupportAttributes []string
}

// Limits on custom-token inputs, as documented for the attestation service.
const (
	MaxNonces      = 6
	MinNonceLen    = 8
	MaxNonceLen    = 88
	MaxAudienceLen = 512
)

// Mint signs an attestation token for w with the given audience and nonces (at most six, each
// 8–88 bytes; one nonce is a string claim, several are a list). Its lifetime is one hour from
// the issuer's clock.
func (i *Issuer) Mint(w Workload, audience string, nonces []string) (string, error) {
	claims, err := i.Claims(w, audience, nonces)
	if err != nil {
		return "", err
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = i.kid
	s, err := t.SignedString(i.key)
	if err != nil {
		return "", fmt.Errorf("signing attestation token: %w", err)
	}
	return s, nil
}

// Sign signs arbitrary claims with the issuer's key. Tests build malformed tokens with it (no
// exp, a lifetime of years) to check that STS refuses them as Google does.
func (i *Issuer) Sign(claims jwt.MapClaims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = i.kid
	return t.SignedString(i.key)
}

// Claims builds the payload Mint would sign, without signing it.
func (i *Issuer) Claims(w Workload, audience string, nonces []string) (jwt.MapClaims, error) {
	if audience == "" || len(audience) > MaxAudienceLen {
		return nil, fmt.Errorf("minting attestation token: audience must be 1–%d bytes", MaxAudienceLen)
	}
	if len(nonces) > MaxNonces {
		return nil, fmt.Errorf("minting attestation token: %d nonces, at most %d allowed: %w", len(nonces), MaxNonces, errNonce)
	}
	for _, n := range nonces {
		if len(n) < MinNonceLen || len(n) > MaxNonceLen {
			return nil, fmt.Errorf("minting attestation token: nonce of %d bytes, want %d–%d: %w", len(n), MinNonceLen, MaxNonceLen, errNonce)
		}
	}
	for name, v := range map[string]string{"ImageReference": w.ImageReference, "ImageDigest": w.ImageDigest,
		"Project": w.Project, "Zone": w.Zone, "InstanceName": w.InstanceName} {
		if v == "" {
			return nil, fmt.Errorf("minting attestation token: workload %s is empty", name)
		}
	}
	now := i.now()
	restart := w.RestartPolicy
	if restart == "" {
		restart = "Never"
	}
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	container := map[string]any{
		"image_reference": w.ImageReference,
		"image_digest":    w.ImageDigest,
		"image_id":        w.ImageID,
		"restart_policy":  restart,
		"env":             orEmpty(w.Env),
		"env_override":    nilIfEmpty(w.EnvOverride),
		"cmd_override":    nilIfEmptySlice(w.CmdOverride),
		"args":            slices.Clone(w.Args),
	}
	if container["args"] == nil {
		container["args"] = []string{}
	}
	submods := map[string]any{
		"container": container,
		"gce": map[string]any{
			"zone":           w.Zone,
			"project_id":     w.Project,
			"project_number": w.ProjectNumber,
			"instance_name":  w.InstanceName,
			"instance_id":    w.InstanceID,
		},
	}
	dbgstat := "disabled-since-boot"
	if w.Debug {
		dbgstat = "enabled"
		submods["confidential_space"] = map[string]any{"monitoring_enabled": map[string]any{"memory": false}}
	} else {
		support := w.SupportAttributes
		if support == nil {
			support = []string{"LATEST", "STABLE", "USABLE"}
		}
		submods["confidential_space"] = map[string]any{
			"support_attributes": slices.Clone(support),
			"monitoring_enabled": map[string]any{"memory": false},
		}
	}
	sas := slices.Clone(w.ServiceAccounts)
	if sas == nil {
		sas = []string{}
	}
	c := jwt.MapClaims{
		"iss":                     i.url,
		"aud":                     audience,
		"sub":                     fmt.Sprintf("https://www.googleapis.com/compute/v1/projects/%s/zones/%s/instances/%s", w.Project, w.Zone, w.InstanceName),
		"iat":                     now.Unix(),
		"nbf":                     now.Unix(),
		"exp":                     now.Add(TokenLifetime).Unix(),
		"jti":                     hex.EncodeToString(jti[:]),
		"eat_profile":             "https://cloud.google.com/confidential-computing/confidential-space/docs/reference/token-claims",
		"secboot":                 true,
		"oemid":                   11129,
		"hwmodel":                 "GCP_AMD_SEV",
		"swname":                  "CONFIDENTIAL_SPACE",
		"swversion":               []string{"250800"},
		"dbgstat":                 dbgstat,
		"google_service_accounts": sas,
		"submods":                 submods,
	}
	switch len(nonces) {
	case 0:
	case 1:
		c["eat_nonce"] = nonces[0]
	default:
		c["eat_nonce"] = slices.Clone(nonces)
	}
	return c, nil
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

func nilIfEmptySlice(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// SignUnsafe signs arbitrary claims with the issuer's key. Only tests of relying parties use it
// (an expired or malformed token with a valid signature); the local stack never does.
func (i *Issuer) SignUnsafe(claims jwt.MapClaims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = i.kid
	return t.SignedString(i.key)
}
