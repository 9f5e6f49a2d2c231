package stack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/policy"
	"github.com/fsouza/fake-gcs-server/fakestorage"
)

// TestRestartKeepsObjectsAndThePin restarts a stack on the same data dir: objects survive, and
// the provider gets back the condition of the latest pin in the audit bucket.
func TestRestartKeepsObjectsAndThePin(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(t.Context(), Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	cond, err := policy.Policy{ImageRepository: s.PrimusRepository(), ImageDigest: "sha256:" + strings.Repeat("ab", 32),
		ServiceAccounts: []string{WorkloadSA}}.Render()
	if err != nil {
		t.Fatal(err)
	}
	latest, _ := json.Marshal(map[string]string{"condition": cond})
	s.GCS.Fake().CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: AuditBucket, Name: "pins/latest.json"}, Content: latest})
	s.GCS.Fake().CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: InputBucket, Name: "photos/x.png"}, Content: []byte("x")})
	s.Close()

	s, err = Start(t.Context(), Options{DataDir: dir})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer s.Close()
	if got := s.Condition(); got != cond {
		t.Errorf("condition after restart = %q, want the latest pin's", got)
	}
	if _, err := s.GCS.Fake().GetObject(InputBucket, "photos/x.png"); err != nil {
		t.Errorf("object lost across the restart: %v", err)
	}
}
