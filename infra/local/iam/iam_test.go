package iam

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cspipe/cspipe/infra/local/attest"
	"github.com/cspipe/cspipe/internal/policy"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google/externalaccount"
)

const (
	digest     = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	repo       = "127.0.0.1:5000/primus/workload"
	workloadSA = "workload-sa@secundus.iam.gserviceaccount.com"
	primusSA   = "primus-sa@primus.iam.gserviceaccount.com"
)

// recorder keeps log records so tests can check structured attributes (not log text).
type recorder struct {
	mu   sync.Mutex
	recs []map[string]string
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	m := map[string]string{"msg": rec.Message}
	rec.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	r.mu.Lock()
	r.recs = append(r.recs, m)
	r.mu.Unlock()
	return nil
}

func (r *recorder) find(msg string) map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.recs) - 1; i >= 0; i-- {
		if r.recs[i]["msg"] == msg {
			return r.recs[i]
		}
	}
	return nil
}

type fixture struct {
	iam    *Server
	issuer *attest.Issuer
	prov   Provider
	log    *recorder
	skew   time.Duration // added to the issuer's clock
}

func workload() attest.Workload {
	return attest.Workload{
		ImageReference: repo + "@" + digest, ImageDigest: digest, ImageID: digest,
		ServiceAccounts: []string{workloadSA},
		Project:         "secundus", ProjectNumber: "222", Zone: "us-west1-b", InstanceName: "run-1", InstanceID: "42",
	}
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	rec := &recorder{}
	s, err := New(WithLogger(slog.New(rec)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	f := &fixture{iam: s, log: rec}
	is, err := attest.New(attest.WithClock(func() time.Time { return time.Now().Add(f.skew) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(is.Close)
	f.issuer = is
	cond, err := policy.Policy{ImageRepository: repo, ImageDigest: digest, ServiceAccounts: []string{workloadSA}}.Render()
	if err != nil {
		t.Fatal(err)
	}
	p := Provider{ProjectID: "primus", ProjectNumber: "111", Pool: "trusted-workload-pool", ID: "attestation-verifier",
		IssuerURI: is.URL() + "/", AllowedAudiences: []string{attest.DefaultAudience},
		AttributeMapping: map[string]string{
			"google.subject":         `"gcpcs::" + assertion.submods.container.image_digest + "::" + assertion.submods.gce.project_number + "::" + assertion.submods.gce.instance_id`,
			"attribute.image_digest": "assertion.submods.container.image_digest",
		},
		AttributeCondition: cond}
	if err := s.AddProvider(p); err != nil {
		t.Fatal(err)
	}
	if err := s.GrantServiceAccountRole(primusSA, p.PoolPrincipalSet(), RoleWorkloadIdentityUser); err != nil {
		t.Fatal(err)
	}
	f.prov = p
	return f
}

// tokenSource builds the credential the workload uses: an external-account config whose
// subject token is read from a file, exchanged at STS, then impersonating sa.
func (f *fixture) tokenSource(t *testing.T, subjectToken, sa string) oauth2.TokenSource {
	t.Helper()
	path := filepath.Join(t.TempDir(), "attestation_verifier_claims_token")
	if err := os.WriteFile(path, []byte(subjectToken), 0o600); err != nil {
		t.Fatal(err)
	}
	ts, err := externalaccount.NewTokenSource(t.Context(), externalaccount.Config{
		Audience:                       f.prov.Audience(),
		SubjectTokenType:               tokenTypeJWT,
		TokenURL:                       f.iam.TokenURL(),
		ServiceAccountImpersonationURL: f.iam.ImpersonationURL(sa),
		CredentialSource:               &externalaccount.CredentialSource{File: path},
		Scopes:                         []string{"https://www.googleapis.com/auth/cloud-platform"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func (f *fixture) mint(t testing.TB, w attest.Workload, aud string) string {
	t.Helper()
	tok, err := f.issuer.Mint(w, aud, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestExternalAccountExchange(t *testing.T) {
	f := newFixture(t)
	debug := workload()
	debug.Debug = true
	other := workload()
	other.ImageDigest = "sha256:" + strings.Repeat("f", 64)
	other.ImageReference = repo + "@" + other.ImageDigest
	wrongSA := workload()
	wrongSA.ServiceAccounts = []string{"someone-else@secundus.iam.gserviceaccount.com"}
	f.skew = -2 * time.Hour
	expired := f.mint(t, workload(), attest.DefaultAudience)
	f.skew = 0

	tests := []struct {
		name    string
		subject string
		sa      string
		wantErr []string // substrings of the client's error; none means success
		clause  string   // clause the server log must name
	}{
		{"allow", f.mint(t, workload(), attest.DefaultAudience), primusSA, nil, ""},
		{"other digest", f.mint(t, other, attest.DefaultAudience), primusSA,
			[]string{"status code 400", `"error":"unauthorized_client"`, msgRejectedByCondition}, "image_digest"},
		{"debug image", f.mint(t, debug, attest.DefaultAudience), primusSA,
			[]string{"status code 400", msgRejectedByCondition}, "dbgstat"},
		{"wrong service account", f.mint(t, wrongSA, attest.DefaultAudience), primusSA,
			[]string{"status code 400", msgRejectedByCondition}, "google_service_accounts"},
		{"wrong audience", f.mint(t, workload(), "https://example.com"), primusSA,
			[]string{"status code 400", "invalid_grant", "does not match the expected audience"}, ""},
		{"expired", expired, primusSA, []string{"status code 400", "invalid_grant", "expired"}, ""},
		{"not a jwt", "garbage", primusSA, []string{"invalid_grant"}, ""},
		{"no workloadIdentityUser", f.mint(t, workload(), attest.DefaultAudience), "other-sa@primus.iam.gserviceaccount.com",
			[]string{"403", "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).", "IAM_PERMISSION_DENIED"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := f.tokenSource(t, tt.subject, tt.sa).Token()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Token: %v", err)
				}
				if p, ok := f.iam.Principal(tok.AccessToken); !ok || p != ServiceAccount(primusSA) {
					t.Errorf("Principal = %q, %v; want %s", p, ok, ServiceAccount(primusSA))
				}
				return
			}
			if err == nil {
				t.Fatal("Token succeeded, want error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tt.clause != "" {
				rec := f.log.find("sts: attribute condition rejected the credential")
				if rec == nil || !strings.Contains(rec["failed_clause"], tt.clause) {
					t.Errorf("server log record %v does not name the %s clause", rec, tt.clause)
				}
			}
		})
	}
}

func TestSTSErrors(t *testing.T) {
	f := newFixture(t)
	good := f.mint(t, workload(), attest.DefaultAudience)
	disabled := f.prov
	disabled.ID = "off"
	disabled.Disabled = true
	if err := f.iam.AddProvider(disabled); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		audience string
		want     string
	}{
		{"malformed audience", "projects/111/pools/x", msgInvalidAudience},
		{"unknown provider", "//iam.googleapis.com/projects/111/locations/global/workloadIdentityPools/p/providers/nope", msgInvalidTarget},
		{"disabled provider", disabled.Audience(), msgInvalidTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := externalaccount.NewTokenSource(t.Context(), externalaccount.Config{
				Audience: tt.audience, SubjectTokenType: tokenTypeJWT, TokenURL: f.iam.TokenURL(),
				SubjectTokenSupplier: staticSupplier(good),
				Scopes:               []string{"https://www.googleapis.com/auth/cloud-platform"},
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = ts.Token()
			if err == nil || !strings.Contains(err.Error(), "status code 400") || !strings.Contains(err.Error(), jsonEscape(tt.want)) {
				t.Errorf("error %v, want 400 with %q", err, tt.want)
			}
		})
	}
}

// jsonEscape renders s as it appears inside a JSON string.
func jsonEscape(s string) string { return strings.ReplaceAll(s, `"`, `\"`) }

type staticSupplier string

func (s staticSupplier) SubjectToken(context.Context, externalaccount.SupplierOptions) (string, error) {
	return string(s), nil
}

func TestFederatedTokenMembership(t *testing.T) {
	f := newFixture(t)
	ts, err := externalaccount.NewTokenSource(t.Context(), externalaccount.Config{
		Audience: f.prov.Audience(), SubjectTokenType: tokenTypeJWT, TokenURL: f.iam.TokenURL(),
		SubjectTokenSupplier: staticSupplier(f.mint(t, workload(), attest.DefaultAudience)),
		Scopes:               []string{"https://www.googleapis.com/auth/cloud-platform"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := f.iam.Principal(tok.AccessToken)
	want := "principal://iam.googleapis.com/projects/111/locations/global/workloadIdentityPools/trusted-workload-pool/subject/gcpcs::" + digest + "::222::42"
	if p != want {
		t.Fatalf("principal %q, want %q", p, want)
	}
	// Direct grant to the pool's principalSet (no impersonation) and to an attribute set.
	if err := f.iam.SetBucketRoles("primus-models", f.prov.PoolPrincipalSet(), "roles/storage.objectViewer"); err != nil {
		t.Fatal(err)
	}
	attrSet := "principalSet://iam.googleapis.com/projects/111/locations/global/workloadIdentityPools/trusted-workload-pool/attribute.image_digest/" + digest
	if err := f.iam.SetBucketRoles("primus-results", attrSet, "roles/storage.objectCreator"); err != nil {
		t.Fatal(err)
	}
	if !f.iam.AllowedToken(tok.AccessToken, "primus-models", PermObjectsGet) || !f.iam.Allowed(p, "primus-models", PermObjectsGet) {
		t.Error("pool member denied objects.get")
	}
	if !f.iam.AllowedToken(tok.AccessToken, "primus-results", PermObjectsCreate) {
		t.Error("attribute-set member denied objects.create")
	}
	if f.iam.AllowedToken(tok.AccessToken, "primus-models", PermObjectsCreate) {
		t.Error("objectViewer allowed objects.create")
	}
}

// Issue 11: a subject token without exp, or one that lives longer than STS allows, gets an
// invalid_grant answer naming the problem (not "Unable to verify the ID Token signature").
func TestSTSRefusesTokensWithoutBoundedLifetime(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	tests := []struct {
		name   string
		mod    func(c map[string]any)
		want   string
		status int
	}{
		{"one hour, as minted", func(map[string]any) {}, "", http.StatusOK},
		{"no exp", func(c map[string]any) { delete(c, "exp") }, msgMissingExp, http.StatusBadRequest},
		{"ten years", func(c map[string]any) { c["exp"] = now.AddDate(10, 0, 0).Unix() }, "exceeds the maximum of 86400 seconds", http.StatusBadRequest},
		{"no iat, exp in a year", func(c map[string]any) { delete(c, "iat"); c["exp"] = now.AddDate(1, 0, 0).Unix() }, "exceeds the maximum", http.StatusBadRequest},
		{"exactly 24 hours", func(c map[string]any) { c["exp"] = now.Add(MaxSubjectTokenLifetime).Unix(); c["iat"] = now.Unix() }, "", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := f.issuer.Claims(workload(), attest.DefaultAudience, nil)
			if err != nil {
				t.Fatal(err)
			}
			tt.mod(c)
			tok, err := f.issuer.Sign(c)
			if err != nil {
				t.Fatal(err)
			}
			form := exchangeForm(f.prov.Audience(), tok)
			resp, err := http.PostForm(f.iam.TokenURL(), form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d %v, want %d", resp.StatusCode, body, tt.status)
			}
			if tt.want != "" {
				if body["error"] != "invalid_grant" || !strings.Contains(fmt.Sprint(body["error_description"]), tt.want) {
					t.Errorf("answer %v, want invalid_grant with %q", body, tt.want)
				}
			}
		})
	}
}
