package stack

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/google"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/cspipe/cspipe/internal/audit"
	"github.com/cspipe/cspipe/internal/policy"
)

func auditLog(t *testing.T, s *Stack) *audit.Log {
	t.Helper()
	l, err := s.auditLog(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// recordPin appends to the audit log the record PinWorkloadImage writes for digest.
func recordPin(t *testing.T, s *Stack, digest string) {
	t.Helper()
	st, err := s.pinSettings()
	if err != nil {
		t.Fatal(err)
	}
	d, _ := policy.ParseDigest(digest)
	pol := st.Policy(d)
	cond, err := pol.Render()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := auditLog(t, s).Append(t.Context(), audit.Record{Digest: digest, ImageReference: pol.ImageRepository + "@" + digest,
		Condition: cond, Provider: ProviderName(), PinnedAt: now, OrderTime: now, Policy: &pol}, nil); err != nil {
		t.Fatal(err)
	}
}

// wantPinned renders what this stack's PinWorkloadImage pins for digest.
func wantPinned(t *testing.T, s *Stack, digest string) string {
	t.Helper()
	st, _ := s.pinSettings()
	d, _ := policy.ParseDigest(digest)
	c, err := st.Policy(d).Render()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRestartRestoresAVerifiedPin restarts a stack on the same data dir: objects survive, and
// the provider gets the latest pin's digest back, rendered for the restarted stack's ports.
func TestRestartRestoresAVerifiedPin(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(t.Context(), Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	digest := "sha256:" + strings.Repeat("ab", 32)
	recordPin(t, s, digest)
	s.GCS.Fake().CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: InputBucket, Name: "photos/x.png"}, Content: []byte("x")})
	s.Close()

	s, err = Start(t.Context(), Options{DataDir: dir})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer s.Close()
	if got := s.Condition(); got != wantPinned(t, s, digest) {
		t.Errorf("condition after restart = %q, want the latest pin re-rendered", got)
	}
	if !strings.HasPrefix(s.PinRestore, "restored") {
		t.Errorf("PinRestore = %q", s.PinRestore)
	}
	if _, err := s.GCS.Fake().GetObject(InputBucket, "photos/x.png"); err != nil {
		t.Errorf("object lost across the restart: %v", err)
	}
}

// The attack of issue 11: pins/latest.json overwritten with a condition of `true` was re-applied
// unchecked at restart, and legitimate pins could no longer repair it. Now the restarted stack
// keeps the gate closed and says why, and the next legitimate push pins on a new audit segment.
func TestRestartWithTamperedAuditLogKeepsTheGateClosed(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, s *Stack, digest string)
		broken bool // the log no longer verifies: the next pin starts a new segment
	}{
		{"latest.json condition true", func(t *testing.T, s *Stack, _ string) {
			obj, err := s.GCS.Fake().GetObject(AuditBucket, audit.LatestObject)
			if err != nil {
				t.Fatal(err)
			}
			var head map[string]any
			if err := json.Unmarshal(obj.Content, &head); err != nil {
				t.Fatal(err)
			}
			head["condition"] = "true"
			b, _ := json.Marshal(head)
			s.GCS.Fake().CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: AuditBucket, Name: audit.LatestObject}, Content: b})
		}, true},
		{"only latest.json, condition true", func(t *testing.T, s *Stack, _ string) {
			b, _ := json.Marshal(map[string]string{"condition": "true"})
			s.GCS.Fake().CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: AuditBucket, Name: audit.LatestObject}, Content: b})
		}, true},
		{"a valid chain for Secundus's repository", func(t *testing.T, s *Stack, digest string) {
			st, _ := s.pinSettings()
			st.ImageRepository = s.SecundusRepository()
			d, _ := policy.ParseDigest(digest)
			pol := st.Policy(d)
			cond, _ := pol.Render()
			if _, err := auditLog(t, s).Append(t.Context(), audit.Record{Digest: digest, ImageReference: pol.ImageRepository + "@" + digest,
				Condition: cond, PinnedAt: time.Now(), Policy: &pol}, nil); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Start(t.Context(), Options{DataDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			digest := "sha256:" + strings.Repeat("ab", 32)
			recordPin(t, s, digest)
			tt.tamper(t, s, digest)
			s.Close()

			s, err = Start(t.Context(), Options{DataDir: dir})
			if err != nil {
				t.Fatalf("restart: %v", err)
			}
			defer s.Close()
			cond := s.Condition()
			if cond == "true" || strings.Contains(cond, digest) || !strings.Contains(cond, UnpinnedDigest) {
				t.Fatalf("condition after restart = %q, want the closed gate", cond)
			}
			if !strings.HasPrefix(s.PinRestore, "gate closed: ") {
				t.Errorf("PinRestore = %q, want it to say why the gate is closed", s.PinRestore)
			}

			pushed := pushRandom(t, s)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			if err := s.WaitPinned(ctx, pushed); err != nil {
				t.Fatalf("a legitimate push after the tampering: %v", err)
			}
			var head audit.Entry
			for head.Record.Digest != pushed && ctx.Err() == nil { // the PATCH comes before the record
				head, _, err = auditLog(t, s).Latest(ctx)
				time.Sleep(50 * time.Millisecond)
			}
			if head.Record.Digest != pushed || (head.Record.Break != nil) != tt.broken {
				t.Errorf("audit head after the push: %+v, %v; want the new pin (with a break: %v)", head.Record, err, tt.broken)
			}
		})
	}
}

// pushRandom pushes a random image to Primus's repository as Primus's admin and returns its digest.
func pushRandom(t *testing.T, s *Stack) string {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(s.PrimusRepository() + ":test")
	if err != nil {
		t.Fatal(err)
	}
	auth := google.NewTokenSourceAuthenticator(s.TokenSource(iam.User(PrimusAdmin)))
	if err := remote.Write(ref, img, remote.WithAuth(auth), remote.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d.String()
}
