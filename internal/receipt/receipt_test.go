package receipt_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/receipt"
	"github.com/cspipe/cspipe/internal/receipt/receipttest"
	"github.com/cspipe/cspipe/internal/records"
	"github.com/google/go-cmp/cmp"
)

type run struct{ results, summary, token []byte }

var (
	approved    = "sha256:" + strings.Repeat("d", 64)
	otherDigest = "sha256:" + strings.Repeat("e", 64)
)

func newRun(t *testing.T, iss *receipttest.Issuer) run {
	t.Helper()
	return runOf(t, iss, approved, approved, nil)
}

// runOf is a run whose summary names summaryDigest and whose receipt attests attested; mod
// changes the receipt's claims before signing.
func runOf(t *testing.T, iss *receipttest.Issuer, summaryDigest, attested string, mod func(map[string]any)) run {
	t.Helper()
	results := []byte(`{"run_id":"r","image":"a.jpg","status":"ok"}` + "\n")
	summary, _ := json.Marshal(records.Summary{RunID: "r", Status: records.StatusOK, Images: 1, Succeeded: 1,
		ResultsSHA256: receipt.SHA256(results), ImageDigest: summaryDigest})
	c := iss.Claims(receipt.Audience, attested, receipt.Nonces(receipt.SHA256(results), receipt.SHA256(summary)))
	if mod != nil {
		mod(c)
	}
	return run{results, summary, []byte(iss.Mint(c))}
}

func TestVerifyRun(t *testing.T) {
	iss := receipttest.New("https://issuer.test")
	keys, err := receipt.ParseJWKS(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	good := newRun(t, iss)
	other := receipttest.New("https://issuer.test") // same kid, different key

	got, err := receipt.VerifyRun(good.results, good.summary, good.token, keys, receipt.Options{Issuer: iss.URL})
	if err != nil {
		t.Fatal(err)
	}
	want := &receipt.Claims{
		ImageDigest: "sha256:" + strings.Repeat("d", 64), ImageReference: "registry.example/workload@sha256:" + strings.Repeat("d", 64),
		SupportAttributes: []string{"LATEST", "STABLE", "USABLE"}, DbgStat: "disabled-since-boot",
		ServiceAccounts: []string{"workload-sa@secundus.iam.gserviceaccount.com"}, SWName: "CONFIDENTIAL_SPACE",
		HWModel: "GCP_AMD_SEV", RestartPolicy: "Never", Issuer: iss.URL, Audience: []string{receipt.Audience},
	}
	opt := cmp.FilterPath(func(p cmp.Path) bool {
		f := p.Last().String()
		return f == ".IssuedAt" || f == ".Nonces" || f == ".Subject"
	}, cmp.Ignore())
	if diff := cmp.Diff(want, got.Claims, opt); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}

	tamper := func(b []byte) []byte { return []byte(strings.Replace(string(b), `"ok"`, `"OK"`, 1)) }
	expired := iss.Claims(receipt.Audience, approved, receipt.Nonces(receipt.SHA256(good.results), receipt.SHA256(good.summary)))
	expired["iat"] = time.Now().Add(-48 * time.Hour).Unix()
	expired["exp"] = time.Now().Add(-47 * time.Hour).Unix()
	future := iss.Claims(receipt.Audience, approved, receipt.Nonces(receipt.SHA256(good.results), receipt.SHA256(good.summary)))
	future["iat"] = time.Now().Add(time.Hour).Unix()
	tests := []struct {
		name    string
		r       run
		opts    receipt.Options
		wantSub string // "" means accepted
	}{
		{name: "expired receipt still verifies", r: run{good.results, good.summary, []byte(iss.Mint(expired))}},
		{name: "tampered results", r: run{tamper(good.results), good.summary, good.token}, wantSub: "results.jsonl has sha256"},
		{name: "tampered summary", r: run{good.results, tamper(good.summary), good.token}, wantSub: "summary.json has sha256"},
		{name: "foreign key", r: run{good.results, good.summary, []byte(other.Mint(other.Claims(receipt.Audience, approved, receipt.Nonces(receipt.SHA256(good.results), receipt.SHA256(good.summary)))))}, wantSub: "signature"},
		{name: "wrong issuer", r: good, opts: receipt.Options{Issuer: "https://other"}, wantSub: "issuer"},
		{name: "wrong audience", r: good, opts: receipt.Options{Audience: "sts"}, wantSub: "audience"},
		{name: "issued in the future", r: run{good.results, good.summary, []byte(iss.Mint(future))}, wantSub: "future"},
		{name: "not a jwt", r: run{good.results, good.summary, []byte("garbage")}, wantSub: "signature"},
		// Issue 11: results forged by Secundus's own image, whose summary claims the approved
		// digest, were "receipt OK". The receipt attests the image that really ran.
		{name: "summary claims another digest than attested", r: runOf(t, iss, approved, otherDigest, nil),
			wantSub: "summary.json names image digest"},
		{name: "summary names no digest", r: runOf(t, iss, "", approved, nil), wantSub: "summary.json names image digest"},
		{name: "approved digest", r: good, opts: receipt.Options{ExpectDigest: approved}},
		{name: "not the approved digest", r: runOf(t, iss, otherDigest, otherDigest, nil), opts: receipt.Options{ExpectDigest: approved},
			wantSub: "not the approved " + approved},
		{name: "attests a tag", r: runOf(t, iss, "latest", "latest", nil), wantSub: "no valid image digest"},
		{name: "debug image refused", r: runOf(t, iss, approved, approved, debug), wantSub: "debug image"},
		{name: "debug image with AllowDebugUnsafe", r: runOf(t, iss, approved, approved, debug), opts: receipt.Options{AllowDebugUnsafe: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := receipt.VerifyRun(tc.r.results, tc.r.summary, tc.r.token, keys, tc.opts)
			if tc.wantSub == "" {
				if err != nil {
					t.Fatalf("want accepted, got %v", err)
				}
				return
			}
			var re *receipt.Error
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.wantSub) {
				t.Fatalf("err = %v, want a *receipt.Error containing %q", err, tc.wantSub)
			}
		})
	}
}

// debug makes claims those of the confidential-space-debug image.
func debug(c map[string]any) {
	c["dbgstat"] = "enabled"
	delete(c["submods"].(map[string]any), "confidential_space")
}

func TestSummaryMustNameResults(t *testing.T) {
	iss := receipttest.New("https://issuer.test")
	keys, _ := receipt.ParseJWKS(iss.JWKS())
	results := []byte("{}\n")
	summary := []byte(`{"status":"ok","results_sha256":"` + strings.Repeat("0", 64) + `"}`)
	tok := iss.Mint(iss.Claims(receipt.Audience, approved, receipt.Nonces(receipt.SHA256(results), receipt.SHA256(summary))))
	_, err := receipt.VerifyRun(results, summary, []byte(tok), keys, receipt.Options{})
	if err == nil || !strings.Contains(err.Error(), "summary.json names results sha256") {
		t.Fatalf("err = %v", err)
	}
}

func TestFetchKeys(t *testing.T) {
	iss := receipttest.New("")
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "jwks_uri": srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) { w.Write(iss.JWKS()) })
	keys, err := receipt.FetchKeys(t.Context(), srv.Client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := keys[iss.Kid]; !ok {
		t.Errorf("keys = %v, want kid %q", keys, iss.Kid)
	}
	if _, err := receipt.FetchKeys(t.Context(), srv.Client(), srv.URL+"/elsewhere"); err == nil {
		t.Error("want an error for a missing discovery document")
	}
}

func TestParseJWKSRejects(t *testing.T) {
	for _, in := range []string{`{`, `{"keys":[]}`, `{"keys":[{"kty":"EC","kid":"a"}]}`, `{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"}]}`} {
		if _, err := receipt.ParseJWKS([]byte(in)); err == nil {
			t.Errorf("ParseJWKS(%s): want error", in)
		}
	}
}

func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(receipttest.New("x").JWKS()))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"","e":""}]}`))
	f.Fuzz(func(t *testing.T, b []byte) { receipt.ParseJWKS(b) })
}
