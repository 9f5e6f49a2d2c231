package iam

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cspipe/cspipe/infra/local/attest"
	"github.com/cspipe/cspipe/internal/policy"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google/externalaccount"
	"google.golang.org/api/googleapi"
	iamv1 "google.golang.org/api/iam/v1"
	"google.golang.org/api/option"
)

func (f *fixture) iamClient(t *testing.T, principal string) *iamv1.Service {
	t.Helper()
	svc, err := iamv1.NewService(t.Context(), option.WithEndpoint(f.iam.URL()+"/"),
		option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: f.iam.MintAccessToken(principal)})))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestPatchProviderRePin pins a new digest through the IAM REST client the pin function uses,
// waits for the operation, and checks that STS now refuses the old image and admits the new.
func TestPatchProviderRePin(t *testing.T) {
	f := newFixture(t)
	admin := ServiceAccount("pin-fn@primus.iam.gserviceaccount.com")
	f.iam.AllowProviderUpdate(admin)
	svc := f.iamClient(t, admin)
	provs := svc.Projects.Locations.WorkloadIdentityPools.Providers
	name := "projects/primus/locations/global/workloadIdentityPools/trusted-workload-pool/providers/attestation-verifier"

	got, err := provs.Get(name).Context(t.Context()).Do()
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.AttributeCondition != f.prov.AttributeCondition || got.Oidc.IssuerUri != f.prov.IssuerURI || got.Name != f.prov.Name() {
		t.Fatalf("Get = %+v", got)
	}

	newDigest := "sha256:" + strings.Repeat("a", 64)
	cond, err := policy.Policy{ImageRepository: repo, ImageDigest: newDigest, ServiceAccounts: []string{workloadSA}}.Render()
	if err != nil {
		t.Fatal(err)
	}
	op, err := provs.Patch(name, &iamv1.WorkloadIdentityPoolProvider{AttributeCondition: cond}).
		UpdateMask("attributeCondition").Context(t.Context()).Do()
	if err != nil {
		t.Fatalf("Patch: %v", err)
	}
	for i := 0; !op.Done; i++ {
		if i > 10 {
			t.Fatal("operation never finished")
		}
		if op, err = provs.Operations.Get(op.Name).Context(t.Context()).Do(); err != nil {
			t.Fatalf("Operations.Get: %v", err)
		}
	}
	if op.Error != nil {
		t.Fatalf("operation error: %+v", op.Error)
	}
	if p, _ := f.iam.Provider(name); p.AttributeCondition != cond {
		t.Fatalf("condition after patch = %q", p.AttributeCondition)
	}

	exchange := func(w attest.Workload) error {
		ts, err := externalaccount.NewTokenSource(t.Context(), externalaccount.Config{
			Audience: f.prov.Audience(), SubjectTokenType: tokenTypeJWT, TokenURL: f.iam.TokenURL(),
			SubjectTokenSupplier: staticSupplier(f.mint(t, w, attest.DefaultAudience)),
			Scopes:               []string{"https://www.googleapis.com/auth/cloud-platform"},
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ts.Token()
		return err
	}
	if err := exchange(workload()); err == nil || !strings.Contains(err.Error(), msgRejectedByCondition) {
		t.Errorf("old image after re-pin: %v, want rejected", err)
	}
	w := workload()
	w.ImageDigest, w.ImageReference = newDigest, repo+"@"+newDigest
	if err := exchange(w); err != nil {
		t.Errorf("new image after re-pin: %v", err)
	}
}

func TestPatchProviderRefuses(t *testing.T) {
	f := newFixture(t)
	admin := ServiceAccount("pin-fn@primus.iam.gserviceaccount.com")
	f.iam.AllowProviderUpdate(admin)
	name := f.prov.Name()
	tests := []struct {
		name      string
		principal string
		cond      string
		mask      string
		wantCode  int
	}{
		{"no permission", ServiceAccount("workload-sa@secundus.iam.gserviceaccount.com"), "true", "attributeCondition", http.StatusForbidden},
		{"bad CEL", admin, "assertion.swname ==", "attributeCondition", http.StatusBadRequest},
		{"not bool", admin, "assertion.swname", "attributeCondition", http.StatusBadRequest},
		{"too long", admin, strings.Repeat("true && ", 600) + "true", "attributeCondition", http.StatusBadRequest},
		{"unknown mask", admin, "true", "displayName", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := f.iamClient(t, tt.principal)
			_, err := svc.Projects.Locations.WorkloadIdentityPools.Providers.
				Patch(name, &iamv1.WorkloadIdentityPoolProvider{AttributeCondition: tt.cond}).
				UpdateMask(tt.mask).Context(t.Context()).Do()
			var gerr *googleapi.Error
			if !errors.As(err, &gerr) || gerr.Code != tt.wantCode {
				t.Fatalf("Patch error %v, want HTTP %d", err, tt.wantCode)
			}
			if p, _ := f.iam.Provider(name); p.AttributeCondition != f.prov.AttributeCondition {
				t.Errorf("condition changed by a refused patch")
			}
		})
	}
	// Without a token at all: 401.
	svc, err := iamv1.NewService(t.Context(), option.WithEndpoint(f.iam.URL()+"/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Projects.Locations.WorkloadIdentityPools.Providers.Get(name).Do()
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != http.StatusUnauthorized {
		t.Errorf("unauthenticated Get: %v, want 401", err)
	}
}

func TestBucketRoles(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	viewer, creator, admin := User("v@x.com"), ServiceAccount("c@p.iam.gserviceaccount.com"), User("a@x.com")
	for _, g := range []struct {
		member string
		roles  []string
	}{
		{viewer, []string{"roles/storage.objectViewer"}},
		{creator, []string{"roles/storage.objectCreator"}},
		{admin, []string{"roles/storage.admin"}},
	} {
		if err := s.SetBucketRoles("b", g.member, g.roles...); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetBucketRoles("b", viewer, "roles/storage.owner"); err == nil {
		t.Error("unknown role accepted")
	}
	tests := []struct {
		principal, bucket, perm string
		want                    bool
	}{
		{viewer, "b", PermObjectsGet, true},
		{viewer, "b", PermObjectsList, true},
		{viewer, "b", PermObjectsCreate, false},
		{viewer, "other", PermObjectsGet, false},
		{creator, "b", PermObjectsCreate, true},
		{creator, "b", PermObjectsGet, false},
		{creator, "b", PermObjectsDelete, false},
		{admin, "b", PermBucketsDelete, true},
		{User("nobody@x.com"), "b", PermObjectsGet, false},
	}
	for _, tt := range tests {
		if got := s.Allowed(tt.principal, tt.bucket, tt.perm); got != tt.want {
			t.Errorf("Allowed(%s, %s, %s) = %v, want %v", tt.principal, tt.bucket, tt.perm, got, tt.want)
		}
	}
	if err := s.SetBucketRoles("b", viewer); err != nil || s.Allowed(viewer, "b", PermObjectsGet) {
		t.Errorf("removing roles: err %v, still allowed %v", err, s.Allowed(viewer, "b", PermObjectsGet))
	}
}

func TestAccessTokenExpiry(t *testing.T) {
	now := time.Now()
	s, err := New(WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tok := s.MintAccessToken(User("u@x.com"))
	if p, ok := s.Principal(tok); !ok || p != User("u@x.com") {
		t.Fatalf("Principal = %q, %v", p, ok)
	}
	if _, ok := s.Principal("ya29.forged"); ok {
		t.Error("unknown token accepted")
	}
	now = now.Add(AccessTokenLifetime)
	if _, ok := s.Principal(tok); ok {
		t.Error("expired token accepted")
	}
}
