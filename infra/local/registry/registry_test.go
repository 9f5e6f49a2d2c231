package registry

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

type published struct {
	Project string
	Msg     Notification
}

func TestPushPublishesGCRNotification(t *testing.T) {
	var mu sync.Mutex
	var got []published
	pub := func(_ context.Context, project string, data []byte) error {
		var n Notification
		if err := json.Unmarshal(data, &n); err != nil {
			t.Errorf("notification is not JSON: %v", err)
		}
		mu.Lock()
		got = append(got, published{project, n})
		mu.Unlock()
		return nil
	}
	s, err := Start(Options{Publish: pub, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	repo := s.Repository("primus-proj", "cspipe-workload")
	if repo != s.Host()+"/primus-proj/workloads/cspipe-workload" {
		t.Fatalf("Repository = %q", repo)
	}

	tagRef, _ := name.ParseReference(repo + ":v1")
	if err := remote.Write(tagRef, img); err != nil {
		t.Fatalf("push by tag: %v", err)
	}
	img2, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := img2.Digest()
	digRef, _ := name.ParseReference(repo + "@" + d2.String())
	if err := remote.Write(digRef, img2); err != nil {
		t.Fatalf("push by digest: %v", err)
	}
	// The pushed images can be pulled back by digest.
	pulled, err := remote.Image(digRef)
	if err != nil {
		t.Fatalf("pull by digest: %v", err)
	}
	if pd, _ := pulled.Digest(); pd != d2 {
		t.Errorf("pulled digest %s, pushed %s", pd, d2)
	}

	want := []published{
		{"primus-proj", Notification{Action: "INSERT", Digest: repo + "@" + d.String(), Tag: repo + ":v1"}},
		{"primus-proj", Notification{Action: "INSERT", Digest: repo + "@" + d2.String()}},
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notifications (-want +got):\n%s", diff)
	}
}

func TestFailedManifestPutPublishesNothing(t *testing.T) {
	calls := 0
	h := Handler("127.0.0.1:1", Options{Logger: discard(), Publish: func(context.Context, string, []byte) error { calls++; return nil }})
	srv := httptest.NewServer(h)
	defer srv.Close()
	// An index naming a manifest that was never uploaded is refused by the registry.
	body := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":2,"digest":"sha256:` + strings.Repeat("a", 64) + `"}]}`
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/v2/p/workloads/x/manifests/v1", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/vnd.oci.image.index.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusCreated {
		t.Fatalf("registry accepted an index with a missing manifest")
	}
	if calls != 0 {
		t.Errorf("published %d notifications for a failed push", calls)
	}
}

func TestNotificationFor(t *testing.T) {
	dig := "sha256:" + strings.Repeat("b", 64)
	tests := []struct {
		name, ref, header string
		want              Notification
	}{
		{"tag", "v1", dig, Notification{"INSERT", "h/p/r@" + dig, "h/p/r:v1"}},
		{"digest", dig, dig, Notification{"INSERT", "h/p/r@" + dig, ""}},
		{"digest without header", dig, "", Notification{"INSERT", "h/p/r@" + dig, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := notificationFor("h", "p/r", tt.ref, tt.header)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
