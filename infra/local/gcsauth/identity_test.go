package gcsauth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/cspipe/cspipe/infra/local/attest"
	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/cspipe/cspipe/internal/policy"
	"golang.org/x/oauth2/google/externalaccount"
	"google.golang.org/api/option"
)

// TestAttestedWorkloadReadsModel runs the codelab's identity path on the local plane: an
// attestation token in a file, exchanged at STS against the provider's condition,
// impersonating Primus's service account, which reads the model bucket through the front.
// An unapproved digest gets the STS rejection, and never reaches storage.
func TestAttestedWorkloadReadsModel(t *testing.T) {
	s, ids := setup(t)
	issuer, err := attest.New()
	if err != nil {
		t.Fatal(err)
	}
	defer issuer.Close()
	const (
		repo      = "127.0.0.1:5000/primus/workload"
		digest    = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		workSA    = "workload-sa@secundus.iam.gserviceaccount.com"
		primusSA  = "primus-sa@primus.iam.gserviceaccount.com"
		modelData = "model bytes"
	)
	cond, err := policy.Policy{ImageRepository: repo, ImageDigest: digest, ServiceAccounts: []string{workSA}}.Render()
	if err != nil {
		t.Fatal(err)
	}
	prov := iam.Provider{ProjectNumber: "111", Pool: "pool", ID: "attestation-verifier", IssuerURI: issuer.URL(),
		AllowedAudiences: []string{attest.DefaultAudience}, AttributeCondition: cond}
	if err := ids.AddProvider(prov); err != nil {
		t.Fatal(err)
	}
	if err := ids.GrantServiceAccountRole(primusSA, prov.PoolPrincipalSet(), iam.RoleWorkloadIdentityUser); err != nil {
		t.Fatal(err)
	}
	if err := ids.SetBucketRoles("models", iam.ServiceAccount(primusSA), "roles/storage.objectViewer"); err != nil {
		t.Fatal(err)
	}
	if _, err := write(t.Context(), client(t, s, ids, owner).Bucket("models").Object("model.tar.gz"), []byte(modelData), 0); err != nil {
		t.Fatal(err)
	}

	readAs := func(d string) (string, error) {
		tok, err := issuer.Mint(attest.Workload{ImageReference: repo + "@" + d, ImageDigest: d,
			ServiceAccounts: []string{workSA}, Project: "secundus", ProjectNumber: "222", Zone: "z", InstanceName: "vm", InstanceID: "1"},
			attest.DefaultAudience, nil)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "attestation_verifier_claims_token")
		if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
		ts, err := externalaccount.NewTokenSource(t.Context(), externalaccount.Config{
			Audience: prov.Audience(), SubjectTokenType: "urn:ietf:params:oauth:token-type:jwt",
			TokenURL: ids.TokenURL(), ServiceAccountImpersonationURL: ids.ImpersonationURL(primusSA),
			CredentialSource: &externalaccount.CredentialSource{File: path},
			Scopes:           []string{"https://www.googleapis.com/auth/devstorage.read_only"},
		})
		if err != nil {
			t.Fatal(err)
		}
		c, err := storage.NewClient(t.Context(), option.WithEndpoint(s.JSONEndpoint()), option.WithTokenSource(ts))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		b, err := read(t.Context(), c.Bucket("models").Object("model.tar.gz"))
		return string(b), err
	}
	if got, err := readAs(digest); err != nil || got != modelData {
		t.Fatalf("approved workload read = %q, %v", got, err)
	}
	_, err = readAs("sha256:" + strings.Repeat("e", 64))
	if err == nil || !strings.Contains(err.Error(), "The given credential is rejected by the attribute condition.") {
		t.Fatalf("unapproved workload: %v, want the STS rejection", err)
	}
}
