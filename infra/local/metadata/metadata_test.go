package metadata

import (
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"cloud.google.com/go/compute/metadata"
	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2/google"
)

const sa = "workload-sa@secundus.iam.gserviceaccount.com"

func start(t *testing.T) (*Server, *iam.Server) {
	t.Helper()
	ids, err := iam.New(iam.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ids.Close)
	s, err := New(Instance{Project: "secundus", ProjectNumber: "222", Zone: "us-west1-b", Name: "run-1", ID: "42",
		ServiceAccount: sa, Attributes: map[string]string{"tee-image-reference": "r@sha256:abc", "tee-restart-policy": "Never"}}, ids)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	// Isolate from any credentials on the machine running the test.
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("CLOUDSDK_CONFIG", filepath.Join(home, "gcloud"))
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("GCE_METADATA_HOST", s.Host())
	return s, ids
}

// TestOfficialClients drives the server with cloud.google.com/go/compute/metadata and with
// golang.org/x/oauth2/google application default credentials.
func TestOfficialClients(t *testing.T) {
	_, ids := start(t)
	ctx := t.Context()
	c := metadata.NewClient(nil)
	checks := []struct {
		name string
		get  func() (string, error)
		want string
	}{
		{"project", func() (string, error) { return c.ProjectIDWithContext(ctx) }, "secundus"},
		{"numeric project", func() (string, error) { return c.NumericProjectIDWithContext(ctx) }, "222"},
		{"zone", func() (string, error) { return c.ZoneWithContext(ctx) }, "us-west1-b"},
		{"name", func() (string, error) { return c.InstanceNameWithContext(ctx) }, "run-1"},
		{"id", func() (string, error) { return c.InstanceIDWithContext(ctx) }, "42"},
		{"email", func() (string, error) { return c.EmailWithContext(ctx, "default") }, sa},
		{"attribute", func() (string, error) { return c.InstanceAttributeValueWithContext(ctx, "tee-restart-policy") }, "Never"},
		{"attributes", func() (string, error) { return c.GetWithContext(ctx, "instance/attributes/?recursive=true") },
			`{"tee-image-reference":"r@sha256:abc","tee-restart-policy":"Never"}` + "\n"},
	}
	for _, ck := range checks {
		got, err := ck.get()
		if err != nil || got != ck.want {
			t.Errorf("%s = %q, %v; want %q", ck.name, got, err, ck.want)
		}
	}
	if _, err := c.InstanceAttributeValueWithContext(ctx, "tee-missing"); err == nil {
		t.Error("missing attribute: no error")
	}
	if !metadata.OnGCE() {
		t.Error("OnGCE = false with GCE_METADATA_HOST set")
	}

	idTok, err := c.GetWithContext(ctx, "instance/service-accounts/default/identity?audience=https://primus.example")
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(idTok, claims); err != nil || claims["email"] != sa || claims["aud"] != "https://primus.example" {
		t.Errorf("identity token claims %v, err %v", claims, err)
	}

	creds, err := google.FindDefaultCredentials(ctx, "https://www.googleapis.com/auth/cloud-platform")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := creds.TokenSource.Token()
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := ids.Principal(tok.AccessToken); !ok || p != iam.ServiceAccount(sa) {
		t.Errorf("default credentials principal %q, %v; want %s", p, ok, iam.ServiceAccount(sa))
	}
	if creds.ProjectID != "secundus" {
		t.Errorf("default credentials project %q", creds.ProjectID)
	}
}

func TestRequiresFlavorHeader(t *testing.T) {
	s, _ := start(t)
	for _, tt := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"no header", nil, http.StatusForbidden},
		{"wrong header", map[string]string{"Metadata-Flavor": "Amazon"}, http.StatusForbidden},
		{"forwarded", map[string]string{"Metadata-Flavor": "Google", "X-Forwarded-For": "1.2.3.4"}, http.StatusForbidden},
		{"ok", map[string]string{"Metadata-Flavor": "Google"}, http.StatusOK},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+"/computeMetadata/v1/instance/service-accounts/default/token", nil)
		for k, v := range tt.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
	}
	if _, err := New(Instance{Project: "p"}, nil); err == nil || !strings.Contains(err.Error(), "required") {
		t.Errorf("New with an incomplete instance: %v", err)
	}
}
