package stack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cspipe/cspipe/infra/local/attest"
)

// A token could be captured by overriding CSPIPE_STS_ENDPOINT to another loopback port (the
// launch policy allows the override): the workload sends its attestation token there. The
// condition PinWorkloadImage renders now pins the endpoints, so STS refuses such a token with
// Google's words, while the same workload with the deployment's own endpoints is admitted.
func TestOverriddenEndpointIsRefusedByTheCondition(t *testing.T) {
	s, err := Start(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	digest := pushRandom(t, s)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.WaitPinned(ctx, digest); err != nil {
		t.Fatal(err)
	}
	own := map[string]string{}
	for _, k := range []string{"CSPIPE_STS_ENDPOINT", "CSPIPE_IAMCREDENTIALS_ENDPOINT", "CSPIPE_STORAGE_ENDPOINT"} {
		own[k] = s.WorkloadEnv()[k]
	}
	other := "http://127.0.0.1:1"
	tests := []struct {
		name     string
		override map[string]string
		status   int
	}{
		{"the deployment's own endpoints", own, http.StatusOK},
		{"no endpoint overrides (Google's)", map[string]string{"CSPIPE_RUN_ID": "r"}, http.StatusOK},
		{"STS on another loopback port", with(own, "CSPIPE_STS_ENDPOINT", other), http.StatusBadRequest},
		{"IAM Credentials elsewhere", with(own, "CSPIPE_IAMCREDENTIALS_ENDPOINT", other), http.StatusBadRequest},
		{"storage elsewhere", with(own, "CSPIPE_STORAGE_ENDPOINT", other+"/storage/v1/"), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tt.override {
				env[k] = v
			}
			tok, err := s.Issuer.Mint(attest.Workload{
				ImageReference: s.PrimusRepository() + "@" + digest, ImageDigest: digest, EnvOverride: env, Env: env,
				ServiceAccounts: []string{WorkloadSA}, Project: Secundus.ID, ProjectNumber: Secundus.Number, Zone: Zone,
				InstanceName: "vm-1", InstanceID: "1",
			}, attest.DefaultAudience, nil)
			if err != nil {
				t.Fatal(err)
			}
			status, body := exchange(t, s, tok)
			if status != tt.status {
				t.Fatalf("STS answered %d %s, want %d", status, body, tt.status)
			}
			if status != http.StatusOK {
				var e map[string]string
				_ = json.Unmarshal([]byte(body), &e)
				if e["error"] != "unauthorized_client" || e["error_description"] != "The given credential is rejected by the attribute condition." {
					t.Errorf("STS refusal = %s, want Google's unauthorized_client … attribute condition", body)
				}
			}
		})
	}
}

func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{}
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

// exchange posts the token exchange the Go external-account client sends.
func exchange(t *testing.T, s *Stack, token string) (int, string) {
	t.Helper()
	form := url.Values{
		"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"requested_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"subject_token_type":   {"urn:ietf:params:oauth:token-type:jwt"},
		"subject_token":        {token},
		"audience":             {"//iam.googleapis.com/" + ProviderName()},
		"scope":                {"https://www.googleapis.com/auth/cloud-platform"},
	}
	resp, err := http.Post(s.IAM.TokenURL(), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b)
}
