package pin

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	iam "google.golang.org/api/iam/v1"
	"google.golang.org/api/option"

	"github.com/cspipe/cspipe/internal/errclass"
	"github.com/cspipe/cspipe/internal/pin/iamfake"
)

func newIAM(t *testing.T) (*iamfake.Server, *IAMProvider) {
	t.Helper()
	fake := iamfake.New(map[string]string{testProvider: "initial"})
	t.Cleanup(fake.Close)
	svc, err := iam.NewService(t.Context(), option.WithEndpoint(fake.URL()), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	p := NewIAMProvider(svc, testProvider)
	p.PollInterval = time.Millisecond
	p.Timeout = 5 * time.Second
	return fake, p
}

func TestIAMProviderSetCondition(t *testing.T) {
	fake, p := newIAM(t)
	fake.PollsUntilDone(3)
	got, err := p.Condition(t.Context())
	if err != nil || got != "initial" {
		t.Fatalf("Condition() = %q, %v", got, err)
	}
	if err := p.SetCondition(t.Context(), "assertion.swname == 'CONFIDENTIAL_SPACE'"); err != nil {
		t.Fatal(err)
	}
	want := []iamfake.Patch{{Provider: testProvider, UpdateMask: "attributeCondition", Condition: "assertion.swname == 'CONFIDENTIAL_SPACE'"}}
	if diff := cmp.Diff(want, fake.Patches()); diff != "" {
		t.Errorf("PATCHes mismatch (-want +got):\n%s", diff)
	}
	if got, _ := p.Condition(t.Context()); got != want[0].Condition {
		t.Errorf("Condition() after SetCondition = %q", got)
	}
}

func TestIAMProviderErrors(t *testing.T) {
	tests := []struct {
		name          string
		setup         func(*iamfake.Server, *IAMProvider)
		wantPermanent bool
	}{
		{"server error is retryable", func(f *iamfake.Server, _ *IAMProvider) { f.FailNextPatch(http.StatusServiceUnavailable) }, false},
		{"forbidden is retryable", func(f *iamfake.Server, _ *IAMProvider) { f.FailNextPatch(http.StatusForbidden) }, false},
		{"bad request is permanent", func(f *iamfake.Server, _ *IAMProvider) { f.FailNextPatch(http.StatusBadRequest) }, true},
		{"failed operation is permanent", func(f *iamfake.Server, _ *IAMProvider) { f.FailNextOperation() }, true},
		{"operation never done times out", func(f *iamfake.Server, p *IAMProvider) {
			f.PollsUntilDone(1 << 30)
			p.Timeout = 50 * time.Millisecond
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake, p := newIAM(t)
			tc.setup(fake, p)
			err := p.SetCondition(t.Context(), "true")
			if err == nil {
				t.Fatal("SetCondition() succeeded")
			}
			if errclass.IsPermanent(err) != tc.wantPermanent {
				t.Errorf("SetCondition() = %v: permanent %v, want %v", err, errclass.IsPermanent(err), tc.wantPermanent)
			}
		})
	}
}

func TestIAMProviderMissing(t *testing.T) {
	fake, _ := newIAM(t)
	svc, err := iam.NewService(t.Context(), option.WithEndpoint(fake.URL()), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	p := NewIAMProvider(svc, testProvider+"-gone")
	if _, err := p.Condition(t.Context()); err == nil || !errclass.IsPermanent(err) {
		t.Errorf("Condition() of a missing provider = %v, want a permanent error", err)
	}
}
