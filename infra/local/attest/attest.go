// Package attest is the local stand-in for the Confidential Space attestation verifier: an OIDC
// issuer (discovery document and JWKS on loopback) that signs RS256 attestation tokens whose
// claims follow the real token schema. Its signing key is generated per instance, so a token it
// mints is worthless outside the run that made it.
//
// It is part of the local stack and must never be linked into a binary built for GCP.
package attest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultAudience is the audience of the launcher's default token.
const DefaultAudience = "https://sts.googleapis.com"

// TokenLifetime is exp − iat of every minted token, as on GCP.
const TokenLifetime = time.Hour

// Issuer is a running OIDC issuer. Create it with New and stop it with Close.
type Issuer struct {
	key  *rsa.PrivateKey
	kid  string
	now  func() time.Time
	lis  net.Listener
	srv  *http.Server
	url  string
	once sync.Once
}

// Option configures an Issuer.
type Option func(*Issuer)

// WithClock makes the issuer stamp tokens with times from now (tests mint expired tokens
// this way). The default is time.Now.
func WithClock(now func() time.Time) Option { return func(i *Issuer) { i.now = now } }

// WithListener serves on l instead of a fresh 127.0.0.1:0 listener.
func WithListener(l net.Listener) Option { return func(i *Issuer) { i.lis = l } }

// New generates a fresh 2048-bit RSA signing key and starts serving discovery and JWKS on
// loopback. The issuer URL (the iss claim) is the server's base URL, e.g. http://127.0.0.1:PORT.
func New(opts ...Option) (*Issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generating issuer key: %w", err)
	}
	sum := sha256.Sum256(key.PublicKey.N.Bytes())
	i := &Issuer{key: key, kid: hex.EncodeToString(sum[:8]), now: time.Now}
	for _, o := range opts {
		o(i)
	}
	if i.lis == nil {
		if i.lis, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("listening for issuer: %w", err)
		}
	}
	i.url = "http://" + i.lis.Addr().String()
	i.srv = &http.Server{Handler: i.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = i.srv.Serve(i.lis) }()
	return i, nil
}

// URL is the issuer URL: the iss claim and the base of /.well-known/openid-configuration.
func (i *Issuer) URL() string { return i.url }

// JWKSURL is where the issuer's public keys are served.
func (i *Issuer) JWKSURL() string { return i.url + "/jwks" }

// KeyID is the kid of the signing key.
func (i *Issuer) KeyID() string { return i.kid }

// PublicKey returns the signing key's public half.
func (i *Issuer) PublicKey() *rsa.PublicKey { return &i.key.PublicKey }

// Close stops the server.
func (i *Issuer) Close() {
	i.once.Do(func() { _ = i.srv.Close() })
}

// Handler serves GET /.well-known/openid-configuration and GET /jwks.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{
			"issuer":                                i.url,
			"jwks_uri":                              i.JWKSURL(),
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"claims_supported": []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf", "dbgstat", "eat_nonce",
				"google_service_accounts", "hwmodel", "oemid", "secboot", "submods", "swname", "swversion"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, JWKS{Keys: []JWK{i.jwk()}})
	})
	return mux
}

// JWKS is a JSON Web Key Set holding RSA signing keys.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWK is one RSA public key in JWK form.
type JWK struct {
	Kty string `json:"kty"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// RSA decodes the key's modulus and exponent.
func (k JWK) RSA() (*rsa.PublicKey, error) {
	if k.Kty != "RSA" {
		return nil, fmt.Errorf("jwk %s: key type %q, want RSA", k.Kid, k.Kty)
	}
	n, err := base64.RawURLEncoding.DecodeString(k.N)
	if err != nil {
		return nil, fmt.Errorf("jwk %s: modulus: %w", k.Kid, err)
	}
	e, err := base64.RawURLEncoding.DecodeString(k.E)
	if err != nil || len(e) == 0 || len(e) > 4 {
		return nil, fmt.Errorf("jwk %s: bad exponent", k.Kid)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
}

func (i *Issuer) jwk() JWK {
	pub := i.key.PublicKey
	return JWK{Kty: "RSA", Alg: "RS256", Use: "sig", Kid: i.kid,
		N: base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Verify checks token's signature (against this issuer's key), issuer, audience and expiry and
// returns its claims. It is a helper for tests and CLIs; the local STS verifies tokens the way
// a relying party does, by fetching discovery and JWKS over HTTP.
func (i *Issuer) Verify(token, audience string) (map[string]any, error) {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid != i.kid {
			return nil, fmt.Errorf("unknown key id %q", kid)
		}
		return &i.key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(i.url), jwt.WithAudience(audience),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(i.now))
	if err != nil {
		return nil, fmt.Errorf("verifying attestation token: %w", err)
	}
	return claims, nil
}

var errNonce = errors.New("nonce")
