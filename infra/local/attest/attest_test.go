package attest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/policy"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func workload() Workload {
	return Workload{
		ImageReference:  "127.0.0.1:5000/primus/workload@" + digest,
		ImageDigest:     digest,
		ImageID:         "sha256:" + strings.Repeat("1", 64),
		Env:             map[string]string{"CSPIPE_TOP_K": "5", "HOSTNAME": "vm"},
		EnvOverride:     map[string]string{"CSPIPE_TOP_K": "5"},
		Args:            []string{"/app/workload"},
		ServiceAccounts: []string{"workload-sa@secundus.iam.gserviceaccount.com"},
		Project:         "secundus", ProjectNumber: "222", Zone: "us-west1-b", InstanceName: "run-1", InstanceID: "42",
	}
}

func newIssuer(t *testing.T, opts ...Option) *Issuer {
	t.Helper()
	i, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(i.Close)
	return i
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestRelyingParty verifies a minted token the way a relying party does: discovery, then JWKS
// over HTTP, then an RS256 check with the key named by kid.
func TestRelyingParty(t *testing.T) {
	i := newIssuer(t)
	tok, err := i.Mint(workload(), DefaultAudience, nil)
	if err != nil {
		t.Fatal(err)
	}
	var disc struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	getJSON(t, i.URL()+"/.well-known/openid-configuration", &disc)
	if disc.Issuer != i.URL() || len(disc.Algs) != 1 || disc.Algs[0] != "RS256" {
		t.Fatalf("discovery = %+v", disc)
	}
	var set JWKS
	getJSON(t, disc.JWKSURI, &set)
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(tok, claims, func(tk *jwt.Token) (any, error) {
		for _, k := range set.Keys {
			if k.Kid == tk.Header["kid"] {
				return k.RSA()
			}
		}
		t.Fatalf("kid %v not in JWKS", tk.Header["kid"])
		return nil, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(disc.Issuer), jwt.WithAudience(DefaultAudience), jwt.WithExpirationRequired())
	if err != nil || !parsed.Valid {
		t.Fatalf("relying-party verification: %v", err)
	}
	exp, _ := claims.GetExpirationTime()
	iat, _ := claims.GetIssuedAt()
	if got := exp.Sub(iat.Time); got != time.Hour {
		t.Errorf("exp-iat = %v, want 1h", got)
	}
	if _, ok := claims["eat_nonce"]; ok {
		t.Error("default token carries eat_nonce")
	}
	// A second issuer's key must not verify the first issuer's token.
	other := newIssuer(t)
	if _, err := other.Verify(tok, DefaultAudience); err == nil {
		t.Error("token verified by a different issuer instance")
	}
}

func TestClaimsSchema(t *testing.T) {
	i := newIssuer(t)
	tok, err := i.Mint(workload(), "uwear", []string{"thisIsAcustomNonce"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := i.Verify(tok, "uwear")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(c)
	var got map[string]any
	_ = json.Unmarshal(b, &got)
	for _, k := range []string{"iat", "nbf", "exp", "jti"} {
		delete(got, k)
	}
	want := map[string]any{
		"iss": i.URL(), "aud": "uwear", "eat_nonce": "thisIsAcustomNonce",
		"sub":         "https://www.googleapis.com/compute/v1/projects/secundus/zones/us-west1-b/instances/run-1",
		"eat_profile": "https://cloud.google.com/confidential-computing/confidential-space/docs/reference/token-claims",
		"secboot":     true, "oemid": float64(11129), "hwmodel": "GCP_AMD_SEV", "swname": "CONFIDENTIAL_SPACE",
		"swversion": []any{"250800"}, "dbgstat": "disabled-since-boot",
		"google_service_accounts": []any{"workload-sa@secundus.iam.gserviceaccount.com"},
		"submods": map[string]any{
			"container": map[string]any{
				"image_reference": "127.0.0.1:5000/primus/workload@" + digest, "image_digest": digest,
				"image_id": "sha256:" + strings.Repeat("1", 64), "restart_policy": "Never",
				"env":          map[string]any{"CSPIPE_TOP_K": "5", "HOSTNAME": "vm"},
				"env_override": map[string]any{"CSPIPE_TOP_K": "5"}, "cmd_override": nil, "args": []any{"/app/workload"},
			},
			"gce": map[string]any{"zone": "us-west1-b", "project_id": "secundus", "project_number": "222", "instance_name": "run-1", "instance_id": "42"},
			"confidential_space": map[string]any{"support_attributes": []any{"LATEST", "STABLE", "USABLE"},
				"monitoring_enabled": map[string]any{"memory": false}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	two, err := i.Mint(workload(), "uwear", []string{"nonce-one", "nonce-two"})
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := i.Verify(two, "uwear")
	if diff := cmp.Diff([]any{"nonce-one", "nonce-two"}, c2["eat_nonce"]); diff != "" {
		t.Errorf("two nonces (-want +got):\n%s", diff)
	}
}

func TestMintRefuses(t *testing.T) {
	i := newIssuer(t)
	long := strings.Repeat("n", MaxNonceLen+1)
	tests := []struct {
		name   string
		w      Workload
		aud    string
		nonces []string
	}{
		{"no audience", workload(), "", nil},
		{"long audience", workload(), strings.Repeat("a", MaxAudienceLen+1), nil},
		{"short nonce", workload(), "a", []string{"short"}},
		{"long nonce", workload(), "a", []string{long}},
		{"seven nonces", workload(), "a", []string{"nonce-001", "nonce-002", "nonce-003", "nonce-004", "nonce-005", "nonce-006", "nonce-007"}},
		{"no digest", func() Workload { w := workload(); w.ImageDigest = ""; return w }(), "a", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tok, err := i.Mint(tt.w, tt.aud, tt.nonces); err == nil {
				t.Errorf("Mint accepted; token %d bytes", len(tok))
			}
		})
	}
}

func TestVerifyRefusesExpiredAndWrongAudience(t *testing.T) {
	clock := time.Now().Add(-2 * time.Hour)
	i := newIssuer(t, WithClock(func() time.Time { return clock }))
	old, err := i.Mint(workload(), DefaultAudience, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := i.Verify(old, DefaultAudience); err != nil {
		t.Fatalf("token rejected at its own issue time: %v", err)
	}
	clock = time.Now()
	if _, err := i.Verify(old, DefaultAudience); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired token: err = %v, want expired", err)
	}
	fresh, _ := i.Mint(workload(), DefaultAudience, nil)
	if _, err := i.Verify(fresh, "other"); err == nil {
		t.Error("wrong audience verified")
	}
}

// TestPolicyGate checks that the issuer's claims line up with the conditions internal/policy
// renders: the production image passes, the debug image and another digest do not.
func TestPolicyGate(t *testing.T) {
	i := newIssuer(t)
	cond, err := policy.Policy{ImageRepository: "127.0.0.1:5000/primus/workload", ImageDigest: digest,
		ServiceAccounts: []string{"workload-sa@secundus.iam.gserviceaccount.com"}}.Render()
	if err != nil {
		t.Fatal(err)
	}
	debug := workload()
	debug.Debug = true
	other := workload()
	other.ImageDigest = "sha256:" + strings.Repeat("f", 64)
	other.ImageReference = "127.0.0.1:5000/primus/workload@" + other.ImageDigest
	for _, tt := range []struct {
		name  string
		w     Workload
		allow bool
		fail  string
	}{
		{"production", workload(), true, ""},
		{"debug", debug, false, "dbgstat"},
		{"other digest", other, false, "image_digest"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := i.Mint(tt.w, DefaultAudience, nil)
			if err != nil {
				t.Fatal(err)
			}
			claims, err := i.Verify(tok, DefaultAudience)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(claims)
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			v, err := policy.Explain(cond, m)
			if err != nil {
				t.Fatal(err)
			}
			if v.Allow != tt.allow {
				t.Fatalf("allow = %v, want %v: %+v", v.Allow, tt.allow, v)
			}
			if f, failed := v.FailedClause(); failed && !strings.Contains(f.Expr, tt.fail) {
				t.Errorf("failed clause %q, want %q", f.Expr, tt.fail)
			}
		})
	}
}
