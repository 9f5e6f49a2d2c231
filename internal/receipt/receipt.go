// Package receipt binds a run's results to the attestation. The workload asks the launcher for a
// custom token whose eat_nonce carries the hex sha256 of results.jsonl and of summary.json; Verify
// checks such a token's RS256 signature against the issuer's keys and the nonces against the
// files, and returns what the token attests (image digest and reference, support attributes,
// dbgstat, service accounts).
//
// Expiry is deliberately not checked: a receipt is evidence of what a TEE signed at the time
// (iat), read long after its one-hour lifetime. Keys rotate, so verifying an old receipt needs the
// issuer's JWKS from that time (a saved file) rather than today's discovery document.
package receipt

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/cspipe/cspipe/internal/policy"
)

// Audience is the audience the workload requests for its receipts.
const Audience = "cspipe-receipt"

// SHA256 is the lower-case hex sha256 of b, the form used as a nonce (64 bytes, inside the
// attestation service's 8..88 byte limit).
func SHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Nonces are the eat_nonce values of a receipt: the sha256 of results.jsonl, then of summary.json.
func Nonces(resultsSHA256, summarySHA256 string) []string {
	return []string{resultsSHA256, summarySHA256}
}

// Keys maps a key id to its RSA public key.
type Keys map[string]*rsa.PublicKey

// ParseJWKS reads a JSON Web Key Set, keeping its RSA signing keys.
func ParseJWKS(b []byte) (Keys, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Use string `json:"use"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("parsing JWKS: %w", err)
	}
	keys := Keys{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return nil, fmt.Errorf("parsing JWKS: key %q has a malformed modulus or exponent", k.Kid)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < 2048 {
			return nil, fmt.Errorf("parsing JWKS: key %q is shorter than 2048 bits", k.Kid)
		}
		keys[k.Kid] = pub
	}
	if len(keys) == 0 {
		return nil, errors.New("parsing JWKS: no RSA signing keys")
	}
	return keys, nil
}

// Options say what Verify expects.
type Options struct {
	// Issuer, when set, must equal the token's iss.
	Issuer string
	// Audience must equal the token's aud (default Audience).
	Audience string
	// ResultsSHA256 and SummarySHA256 are the hex sha256 of the files as found.
	ResultsSHA256 string
	SummarySHA256 string
	// Now is used to refuse tokens issued in the future (default time.Now).
	Now func() time.Time
	// ExpectDigest, when set, is the approved image digest ("sha256:…"): the receipt must
	// attest exactly it.
	ExpectDigest string
	// AllowDebugUnsafe accepts a receipt from the Confidential Space debug image (dbgstat not
	// "disabled-since-boot"), whose operator could inspect or change the workload. Off by
	// default.
	AllowDebugUnsafe bool
}

// Claims is what a verified receipt attests.
type Claims struct {
	Issuer            string    `json:"iss"`
	Subject           string    `json:"sub"`
	Audience          []string  `json:"aud"`
	IssuedAt          time.Time `json:"iat"`
	Nonces            []string  `json:"eat_nonce"`
	SWName            string    `json:"swname"`
	HWModel           string    `json:"hwmodel"`
	DbgStat           string    `json:"dbgstat"`
	ImageDigest       string    `json:"image_digest"`
	ImageReference    string    `json:"image_reference"`
	RestartPolicy     string    `json:"restart_policy"`
	SupportAttributes []string  `json:"support_attributes"`
	ServiceAccounts   []string  `json:"google_service_accounts"`
}

// Error is a verification failure: the receipt, the files or the key set do not match. Other
// errors (I/O, fetching keys) are returned unwrapped so callers can tell "tampered" from "broken".
type Error struct{ Reason string }

func (e *Error) Error() string { return "receipt rejected: " + e.Reason }

func reject(format string, a ...any) error { return &Error{Reason: fmt.Sprintf(format, a...)} }

// tokenClaims is the part of the Confidential Space claim schema a receipt reads.
type tokenClaims struct {
	jwt.RegisteredClaims
	EatNonce        nonceList `json:"eat_nonce"`
	SWName          string    `json:"swname"`
	HWModel         string    `json:"hwmodel"`
	DbgStat         string    `json:"dbgstat"`
	ServiceAccounts []string  `json:"google_service_accounts"`
	Submods         struct {
		Container struct {
			ImageDigest    string `json:"image_digest"`
			ImageReference string `json:"image_reference"`
			RestartPolicy  string `json:"restart_policy"`
		} `json:"container"`
		ConfidentialSpace struct {
			SupportAttributes []string `json:"support_attributes"`
		} `json:"confidential_space"`
	} `json:"submods"`
}

// nonceList accepts eat_nonce as a string or an array of strings.
type nonceList []string

func (n *nonceList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*n = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("eat_nonce is neither a string nor a list of strings")
	}
	*n = many
	return nil
}

// Verify checks token against keys and opts and returns its claims.
func Verify(token []byte, keys Keys, opts Options) (*Claims, error) {
	if opts.Audience == "" {
		opts.Audience = Audience
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	var tc tokenClaims
	_, err := jwt.ParseWithClaims(string(token), &tc, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := keys[kid]
		if !ok {
			return nil, fmt.Errorf("no key with kid %q", kid)
		}
		return k, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	if err != nil {
		return nil, reject("signature: %v", err)
	}
	if opts.Issuer != "" && tc.Issuer != opts.Issuer {
		return nil, reject("issuer is %q, want %q", tc.Issuer, opts.Issuer)
	}
	if !slices.Contains(tc.Audience, opts.Audience) {
		return nil, reject("audience is %q, want %q", []string(tc.Audience), opts.Audience)
	}
	if tc.IssuedAt == nil {
		return nil, reject("token has no iat")
	}
	if tc.IssuedAt.After(now().Add(5 * time.Minute)) {
		return nil, reject("token was issued in the future (%s)", tc.IssuedAt.UTC().Format(time.RFC3339))
	}
	if tc.SWName != "CONFIDENTIAL_SPACE" {
		return nil, reject("swname is %q, want CONFIDENTIAL_SPACE", tc.SWName)
	}
	if _, err := policy.ParseDigest(tc.Submods.Container.ImageDigest); err != nil {
		return nil, reject("the receipt attests no valid image digest: %v", err)
	}
	if opts.ExpectDigest != "" && tc.Submods.Container.ImageDigest != opts.ExpectDigest {
		return nil, reject("the receipt attests image digest %s, not the approved %s", tc.Submods.Container.ImageDigest, opts.ExpectDigest)
	}
	if tc.DbgStat != "disabled-since-boot" && !opts.AllowDebugUnsafe {
		return nil, reject("the receipt comes from a debug image (dbgstat %q), whose operator can inspect the workload; accept it only with --allow-debug-unsafe", tc.DbgStat)
	}
	want := Nonces(opts.ResultsSHA256, opts.SummarySHA256)
	if len(tc.EatNonce) != len(want) {
		return nil, reject("token carries %d nonces, want %d (results, summary)", len(tc.EatNonce), len(want))
	}
	for i, name := range []string{"results.jsonl", "summary.json"} {
		if tc.EatNonce[i] != want[i] {
			return nil, reject("%s has sha256 %s but the receipt attests %s: the file was changed", name, want[i], tc.EatNonce[i])
		}
	}
	return &Claims{
		Issuer: tc.Issuer, Subject: tc.Subject, Audience: tc.Audience, IssuedAt: tc.IssuedAt.Time,
		Nonces: tc.EatNonce, SWName: tc.SWName, HWModel: tc.HWModel, DbgStat: tc.DbgStat,
		ImageDigest: tc.Submods.Container.ImageDigest, ImageReference: tc.Submods.Container.ImageReference,
		RestartPolicy:     tc.Submods.Container.RestartPolicy,
		SupportAttributes: tc.Submods.ConfidentialSpace.SupportAttributes, ServiceAccounts: tc.ServiceAccounts,
	}, nil
}
