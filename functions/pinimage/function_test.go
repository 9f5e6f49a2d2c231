package pinimage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	iam "google.golang.org/api/iam/v1"
	"google.golang.org/api/option"

	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/internal/audit"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/envconfig"
	"github.com/cspipe/cspipe/internal/fnutil"
	"github.com/cspipe/cspipe/internal/fnutil/fnutiltest"
	"github.com/cspipe/cspipe/internal/pin"
	"github.com/cspipe/cspipe/internal/pin/iamfake"
	"github.com/cspipe/cspipe/internal/policy"
)

const (
	repo        = "127.0.0.1:5000/primus/workloads/inference"
	provider    = "projects/123/locations/global/workloadIdentityPools/pool/providers/attestation"
	auditBucket = "primus-audit"
)

func digest(i int) string { return fmt.Sprintf("sha256:%064x", i) }

func testConfig() Config {
	return Config{Provider: provider, ImageRepository: repo, ServiceAccounts: []string{"workload-sa@secundus.iam.gserviceaccount.com"},
		SupportAttribute: "STABLE", AuditBucket: auditBucket, MaxEventAge: time.Hour, RestartPolicy: "Never"}
}

func gcrMessage(action, digest, tag string) []byte {
	m := map[string]string{"action": action}
	if digest != "" {
		m["digest"] = repo + "@" + digest
	}
	if tag != "" {
		m["tag"] = repo + ":" + tag
	}
	b, _ := json.Marshal(m)
	return b
}

// anyDigest is a registry holding every digest of repo (TestForgedMessages uses a real one).
var anyDigest = pin.RegistryFunc(func(_ context.Context, r string, d policy.Digest) error {
	if r != repo {
		return pin.ErrNotInRegistry
	}
	return nil
})

// TestOverHTTP runs PinWorkloadImage over HTTP (binary-mode CloudEvents) with the real iam/v1
// client against the fake IAM REST server and the real storage client against fake-gcs-server.
func TestOverHTTP(t *testing.T) {
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
	f, err := New(testConfig(), Deps{Provider: prov, Store: store, Registry: anyDigest, Log: fnutil.DiscardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	url := fnutiltest.Serve(t, f.Handle)
	ctx := t.Context()
	t0 := time.Now().Add(-10 * time.Minute)
	log := audit.New(store, auditBucket)

	send := func(id string, data []byte, published time.Time) error {
		return fnutiltest.Send(ctx, url, fnutiltest.PubSubEvent(id, "projects/primus/topics/gcr", data, published))
	}
	successfulPatches := func() int {
		n := 0
		for _, p := range fakeIAM.Patches() {
			if p.UpdateMask == "attributeCondition" {
				n++
			}
		}
		return n
	}
	pinned := func() string {
		t.Helper()
		e, ok, err := log.Latest(ctx)
		if err != nil || !ok {
			t.Fatalf("audit log: %v (ok=%v)", err, ok)
		}
		if !strings.Contains(fakeIAM.Condition(provider), "'"+e.Record.Digest+"'") {
			t.Errorf("provider condition does not pin the latest audited digest %s", e.Record.Digest)
		}
		return e.Record.Digest
	}

	if err := send("m1", gcrMessage("INSERT", digest(1), "v1"), t0); err != nil {
		t.Fatal(err)
	}
	if got := pinned(); got != digest(1) || successfulPatches() != 1 {
		t.Fatalf("after first push: pinned %s with %d PATCHes", got, successfulPatches())
	}

	t.Run("duplicate delivery does one PATCH", func(t *testing.T) {
		for range 3 {
			if err := send("m1", gcrMessage("INSERT", digest(1), "v1"), t0); err != nil {
				t.Fatal(err)
			}
		}
		if n := successfulPatches(); n != 1 {
			t.Errorf("%d PATCHes after duplicate deliveries, want 1", n)
		}
	})

	t.Run("out-of-order delivery keeps the newer pin", func(t *testing.T) {
		if err := send("m3", gcrMessage("INSERT", digest(3), "v3"), t0.Add(3*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := send("m2", gcrMessage("INSERT", digest(2), "v2"), t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := pinned(); got != digest(3) {
			t.Errorf("pinned %s, want the newer digest 3", got)
		}
		if n := successfulPatches(); n != 2 {
			t.Errorf("%d PATCHes, want 2 (digest 1, digest 3)", n)
		}
	})

	t.Run("crafted tag with quotes is acked and changes nothing", func(t *testing.T) {
		before := fakeIAM.Condition(provider)
		if err := send("evil", gcrMessage("INSERT", digest(9), "v1' || true || '"), t0.Add(time.Hour)); err != nil {
			t.Errorf("crafted message: %v, want ack", err)
		}
		if fakeIAM.Condition(provider) != before || successfulPatches() != 2 {
			t.Error("a crafted tag changed the provider")
		}
	})

	t.Run("other images and deletions are ignored", func(t *testing.T) {
		other, _ := json.Marshal(map[string]string{"action": "INSERT", "digest": "127.0.0.1:5000/primus/workloads/other@" + digest(5)})
		for id, data := range map[string][]byte{"other": other, "del": gcrMessage("DELETE", "", "v1")} {
			if err := send(id, data, t0.Add(time.Hour)); err != nil {
				t.Errorf("%s: %v", id, err)
			}
		}
		if got := pinned(); got != digest(3) || successfulPatches() != 2 {
			t.Errorf("ignored events changed the pin to %s", got)
		}
	})

	t.Run("IAM outage is redelivered, then pins once", func(t *testing.T) {
		fakeIAM.FailNextPatch(http.StatusServiceUnavailable)
		msg := gcrMessage("INSERT", digest(4), "v4")
		if err := send("m4", msg, t0.Add(4*time.Minute)); err == nil {
			t.Fatal("IAM outage: function acked, want redelivery")
		}
		if err := send("m4", msg, t0.Add(4*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := pinned(); got != digest(4) {
			t.Errorf("pinned %s, want digest 4", got)
		}
	})

	if n, err := log.Verify(ctx); err != nil || n != 3 {
		t.Errorf("audit Verify() = %d, %v; want 3 records", n, err)
	}
}

func TestConfigFromEnv(t *testing.T) {
	var cfg Config
	err := envconfig.Load(&cfg, envconfig.MapEnv(map[string]string{
		"CSPIPE_WIP_PROVIDER": provider, "CSPIPE_IMAGE_REPOSITORY": repo,
		"CSPIPE_WORKLOAD_SERVICE_ACCOUNTS": "a@p.iam.gserviceaccount.com, b@p.iam.gserviceaccount.com",
		"CSPIPE_AUDIT_BUCKET":              auditBucket, "CSPIPE_PIN_ENV_OVERRIDES": "CSPIPE_TOP_K=5",
	}))
	if err != nil {
		t.Fatal(err)
	}
	s, err := cfg.Settings()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ServiceAccounts) != 2 || s.EnvOverrides["CSPIPE_TOP_K"] != "5" || s.SupportAttribute != "STABLE" || cfg.MaxEventAge != 24*time.Hour {
		t.Errorf("settings = %+v, config = %+v", s, cfg)
	}
	if _, err := fromEnv(t.Context(), envconfig.MapEnv(nil)); err == nil || !strings.Contains(err.Error(), "CSPIPE_WIP_PROVIDER") {
		t.Errorf("fromEnv(empty) = %v, want an error naming CSPIPE_WIP_PROVIDER", err)
	}
	want := map[string]string{"CSPIPE_STS_ENDPOINT": "", "CSPIPE_IAMCREDENTIALS_ENDPOINT": "", "CSPIPE_STORAGE_ENDPOINT": ""}
	if diff := cmp.Diff(want, s.PinnedEndpoints); diff != "" {
		t.Errorf("by default every endpoint must stay Google's (-want +got):\n%s", diff)
	}
	cfg.PinSTSEndpoint = "http://127.0.0.1:4000"
	if s, _ := cfg.Settings(); s.PinnedEndpoints["CSPIPE_STS_ENDPOINT"] != cfg.PinSTSEndpoint {
		t.Errorf("CSPIPE_PIN_STS_ENDPOINT not pinned: %v", s.PinnedEndpoints)
	}
	cfg.EnvOverrides = []string{"NOEQUALS"}
	if _, err := cfg.Settings(); err == nil {
		t.Error("Settings() accepted an override without =")
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	cfg := testConfig()
	cfg.ImageRepository = repo + ":latest"
	_, err := New(cfg, Deps{Provider: pin.NewIAMProvider(nil, provider), Store: blob.NewMemory(), Registry: anyDigest})
	if err == nil {
		t.Error("New() accepted a repository with a tag")
	}
}
