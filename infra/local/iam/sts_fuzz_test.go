package iam

import (
	"net/url"
	"sync"
	"testing"

	"github.com/cspipe/cspipe/infra/local/attest"
)

func exchangeForm(audience, subject string) url.Values {
	return url.Values{
		"grant_type":           {grantTokenExchange},
		"requested_token_type": {tokenTypeAccess},
		"subject_token_type":   {tokenTypeJWT},
		"subject_token":        {subject},
		"audience":             {audience},
		"scope":                {"https://www.googleapis.com/auth/cloud-platform"},
	}
}

// FuzzExchange feeds the STS arbitrary subject tokens and audiences (outside input). Nothing
// may panic, and whatever is accepted must carry the pinned digest under the issuer's
// signature: a token is accepted only if the attribute condition holds for its claims.
func FuzzExchange(f *testing.F) {
	fx := newFixture(f)
	good, err := fx.issuer.Mint(workload(), attest.DefaultAudience, nil)
	if err != nil {
		f.Fatal(err)
	}
	other := workload()
	other.ImageDigest = "sha256:" + "ab" + digest[9:]
	bad, _ := fx.issuer.Mint(other, attest.DefaultAudience, nil)
	f.Add(fx.prov.Audience(), good)
	f.Add(fx.prov.Audience(), bad)
	f.Add(fx.prov.Audience(), good[:len(good)-3]+"AAA")
	f.Add(fx.prov.Audience(), "eyJhbGciOiJub25lIn0.eyJzd25hbWUiOiJDT05GSURFTlRJQUxfU1BBQ0UifQ.")
	f.Add("//iam.googleapis.com/projects/111/locations/global/workloadIdentityPools/p/providers/x", good)
	f.Fuzz(func(t *testing.T, audience, subject string) {
		tok, _, serr := fx.iam.exchange(exchangeForm(audience, subject))
		if serr != nil {
			return
		}
		id, ok := fx.iam.lookup(tok)
		if !ok {
			t.Fatal("exchange returned an unknown token")
		}
		claims, err := fx.issuer.Verify(subject, attest.DefaultAudience)
		if err != nil {
			t.Fatalf("accepted a token the issuer does not verify: %v", err)
		}
		if got := digestOf(claims); got != digest {
			t.Fatalf("accepted digest %s for principal %s", got, id.principal)
		}
	})
}

func TestConcurrentExchanges(t *testing.T) {
	f := newFixture(t)
	good := f.mint(t, workload(), attest.DefaultAudience)
	other := workload()
	other.Debug = true
	bad := f.mint(t, other, attest.DefaultAudience)
	var wg sync.WaitGroup
	errs := make(chan string, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			subject, wantOK := good, true
			if i%2 == 1 {
				subject, wantOK = bad, false
			}
			_, _, serr := f.iam.exchange(exchangeForm(f.prov.Audience(), subject))
			if (serr == nil) != wantOK {
				errs <- "unexpected result"
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestConditionOnMappedAttributes(t *testing.T) {
	f := newFixture(t)
	p := f.prov
	p.ID = "by-attribute"
	p.AttributeCondition = "attribute.image_digest == '" + digest + "' && google.subject.startsWith('gcpcs::')"
	if err := f.iam.AddProvider(p); err != nil {
		t.Fatal(err)
	}
	other := workload()
	other.ImageDigest = "sha256:" + "cd" + digest[9:]
	if _, _, serr := f.iam.exchange(exchangeForm(p.Audience(), f.mint(t, workload(), attest.DefaultAudience))); serr != nil {
		t.Errorf("pinned digest via attribute: %v", serr)
	}
	_, _, serr := f.iam.exchange(exchangeForm(p.Audience(), f.mint(t, other, attest.DefaultAudience)))
	if serr == nil || serr.code != "unauthorized_client" {
		t.Errorf("other digest via attribute: %v, want unauthorized_client", serr)
	}
}

// BenchmarkExchange measures a full STS exchange (JWT verification with cached JWKS, mapping,
// cached condition) without HTTP.
func BenchmarkExchange(b *testing.B) {
	f := newFixture(b)
	form := exchangeForm(f.prov.Audience(), f.mint(b, workload(), attest.DefaultAudience))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, serr := f.iam.exchange(form); serr != nil {
			b.Fatal(serr)
		}
	}
}
