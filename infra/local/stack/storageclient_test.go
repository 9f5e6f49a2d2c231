package stack

import (
	"errors"
	"net/http"
	"testing"

	"github.com/cspipe/cspipe/infra/local/iam"
	"google.golang.org/api/googleapi"
)

// TestStorageClientKeepsItsIdentityUnderEmulatorEnv: with STORAGE_EMULATOR_HOST set (as in any
// shell that sourced the ready block), the storage library drops token sources; the stack's own
// clients must still act as their principal, not as the anonymous local operator.
func TestStorageClientKeepsItsIdentityUnderEmulatorEnv(t *testing.T) {
	s, err := Start(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t.Setenv("STORAGE_EMULATOR_HOST", s.GCS.URL())
	c, err := s.StorageClient(t.Context(), iam.User(PrimusAdmin))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := c.Bucket(ModelBucket).Object("models/x.tar.gz").NewWriter(t.Context())
	w.Write([]byte("x"))
	if err := w.Close(); err != nil {
		t.Fatalf("Primus's admin writing its model bucket with STORAGE_EMULATOR_HOST set: %v", err)
	}
	// And the anonymous operator may not (Primus's resources are never the operator's).
	anon, err := s.StorageClient(t.Context(), iam.User(LocalOperator))
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	w = anon.Bucket(ModelBucket).Object("models/y.tar.gz").NewWriter(t.Context())
	w.Write([]byte("y"))
	var gerr *googleapi.Error
	if err := w.Close(); !errors.As(err, &gerr) || gerr.Code != http.StatusForbidden {
		t.Errorf("the operator writing Primus's model bucket: %v, want 403", err)
	}
}
