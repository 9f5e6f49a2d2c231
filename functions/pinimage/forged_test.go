package pinimage

import (
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	iam "google.golang.org/api/iam/v1"
	"google.golang.org/api/option"

	"github.com/cspipe/cspipe/internal/audit"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/fnutil"
	"github.com/cspipe/cspipe/internal/fnutil/fnutiltest"
	"github.com/cspipe/cspipe/internal/pin"
	"github.com/cspipe/cspipe/internal/pin/iamfake"
)

// TestForgedMessages: the bypasses of issue 11 against the function over HTTP, with a real
// registry. A `gcr` message for a digest the repository does not hold is acked, refused and
// recorded under pins/refused/; a forged event dated 2099 for a pushed digest is refused; the
// legitimate push after both still pins.
func TestForgedMessages(t *testing.T) {
	regSrv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(regSrv.Close)
	repo := strings.TrimPrefix(regSrv.URL, "http://") + "/primus/workloads/inference"
	push := func() string {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := name.ParseReference(repo + ":v1")
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		return d.String()
	}

	fakeIAM := iamfake.New(map[string]string{provider: "false"})
	t.Cleanup(fakeIAM.Close)
	svc, err := iam.NewService(t.Context(), option.WithEndpoint(fakeIAM.URL()), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	prov := pin.NewIAMProvider(svc, provider)
	prov.PollInterval = time.Millisecond
	_, gcs := fnutiltest.FakeGCS(t, auditBucket)
	store := blob.NewGCS(gcs)
	cfg := testConfig()
	cfg.ImageRepository = repo
	f, err := New(cfg, Deps{Provider: prov, Store: store, Registry: pin.NewRemoteRegistry(), Log: fnutil.DiscardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	url := fnutiltest.Serve(t, f.Handle)
	ctx := t.Context()
	send := func(id, d string, published time.Time) {
		t.Helper()
		data := []byte(`{"action":"INSERT","digest":"` + repo + "@" + d + `"}`)
		if err := fnutiltest.Send(ctx, url, fnutiltest.PubSubEvent(id, "projects/primus/topics/gcr", data, published)); err != nil {
			t.Fatalf("%s: %v, want ack", id, err)
		}
	}
	refusals := func() int {
		t.Helper()
		n := 0
		if err := store.List(ctx, auditBucket, audit.RefusedPrefix, func(blob.Attrs) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}

	pushed := push()
	send("absent", digest(7), time.Now())
	if fakeIAM.Condition(provider) != "false" || refusals() != 1 {
		t.Fatalf("absent digest: provider %q, %d refusals; want untouched and 1 refusal", fakeIAM.Condition(provider), refusals())
	}
	send("future", pushed, time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	if fakeIAM.Condition(provider) != "false" || refusals() != 2 {
		t.Fatalf("event dated 2099: provider %q, %d refusals; want untouched and 2 refusals", fakeIAM.Condition(provider), refusals())
	}
	send("legit", pushed, time.Now())
	if c := fakeIAM.Condition(provider); !strings.Contains(c, "'"+pushed+"'") {
		t.Fatalf("legitimate push not pinned: %q", c)
	}
	if n, err := audit.New(store, auditBucket).Verify(ctx); n != 1 || err != nil {
		t.Errorf("audit chain: %d records, %v; want only the legitimate pin", n, err)
	}
}
