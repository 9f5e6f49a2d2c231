package receipt

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/cspipe/cspipe/internal/records"
)

// Run is what VerifyRun found: the attested claims and the summary they cover.
type Run struct {
	Claims  *Claims
	Summary records.Summary
}

// VerifyRun checks a run's three files: the receipt's signature and nonces against results and
// summary, the summary's results_sha256 against results, and the summary's image_digest against
// the attested one (plus what Verify checks: the approved digest, no debug image unless
// allowed). opts' hash fields are filled here.
func VerifyRun(results, summary, token []byte, keys Keys, opts Options) (*Run, error) {
	opts.ResultsSHA256 = SHA256(results)
	opts.SummarySHA256 = SHA256(summary)
	c, err := Verify(token, keys, opts)
	if err != nil {
		return nil, err
	}
	var s records.Summary
	if err := json.Unmarshal(summary, &s); err != nil {
		return nil, reject("summary.json does not parse: %v", err)
	}
	if s.ResultsSHA256 != opts.ResultsSHA256 {
		return nil, reject("summary.json names results sha256 %q, but results.jsonl has %s", s.ResultsSHA256, opts.ResultsSHA256)
	}
	if s.ImageDigest != c.ImageDigest {
		return nil, reject("summary.json names image digest %q, but the receipt attests %s", s.ImageDigest, c.ImageDigest)
	}
	return &Run{Claims: c, Summary: s}, nil
}

const maxDiscoveryBytes = 1 << 20

// FetchKeys reads the issuer's OIDC discovery document and then its JWKS.
func FetchKeys(ctx context.Context, hc *http.Client, issuer string) (Keys, error) {
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	b, err := get(ctx, hc, u)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", u, err)
	}
	if strings.TrimSuffix(doc.Issuer, "/") != strings.TrimSuffix(issuer, "/") {
		return nil, fmt.Errorf("discovery document of %s names issuer %q", issuer, doc.Issuer)
	}
	if doc.JWKSURI == "" {
		return nil, fmt.Errorf("discovery document of %s has no jwks_uri", issuer)
	}
	if b, err = get(ctx, hc, doc.JWKSURI); err != nil {
		return nil, err
	}
	return ParseJWKS(b)
}

func get(ctx context.Context, hc *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching %s: status %d", u, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryBytes))
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", u, err)
	}
	return b, nil
}
