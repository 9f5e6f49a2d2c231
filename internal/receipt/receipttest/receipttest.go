// Package receipttest is a test issuer for Confidential Space shaped tokens: a fresh RSA key per
// Issuer, its JWKS, and Mint for tokens with the real claim layout. Tests only; the local stack
// has its own issuer (infra/local/attest).
package receipttest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer signs tokens with a key generated for it.
type Issuer struct {
	URL string
	Kid string
	key *rsa.PrivateKey
}

// New generates a 2048-bit key. It panics if the system has no randomness.
func New(url string) *Issuer {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return &Issuer{URL: url, Kid: "test-key-1", key: k}
}

// JWKS is the issuer's key set as JSON.
func (i *Issuer) JWKS() []byte {
	b, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": i.Kid, "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(i.key.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(i.key.E)).Bytes()),
	}}})
	return b
}

// Claims returns Confidential Space claims for an image digest and audience, with the nonces.
func (i *Issuer) Claims(audience, imageDigest string, nonces []string) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"iss": i.URL, "aud": audience, "sub": "https://www.googleapis.com/compute/v1/projects/p/zones/z/instances/vm",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"swname": "CONFIDENTIAL_SPACE", "hwmodel": "GCP_AMD_SEV", "dbgstat": "disabled-since-boot", "secboot": true,
		"google_service_accounts": []string{"workload-sa@secundus.iam.gserviceaccount.com"},
		"submods": map[string]any{
			"container": map[string]any{
				"image_digest":    imageDigest,
				"image_reference": "registry.example/workload@" + imageDigest,
				"restart_policy":  "Never",
			},
			"confidential_space": map[string]any{"support_attributes": []string{"LATEST", "STABLE", "USABLE"}},
		},
	}
	if len(nonces) > 0 {
		c["eat_nonce"] = nonces
	}
	return c
}

// Mint signs claims with RS256 and the issuer's kid.
func (i *Issuer) Mint(claims jwt.MapClaims) string {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = i.Kid
	s, err := t.SignedString(i.key)
	if err != nil {
		panic(err)
	}
	return s
}
