package stack

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/cspipe/cspipe/internal/archive"
	"github.com/cspipe/cspipe/internal/records"
	"google.golang.org/api/googleapi"
)

func TestStackWiresEventsAndEnforcesIAM(t *testing.T) {
	s, err := Start(t.Context(), Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer s.Close()

	env := s.Env()
	for _, k := range []string{"STORAGE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST", "CSPIPE_REGISTRY", "CSPIPE_EXECUTIONS_ADDR"} {
		if env[k] == "" {
			t.Errorf("Env()[%s] is empty", k)
		}
	}
	var buf bytes.Buffer
	s.PrintReady(&buf, nil)
	if !bytes.Contains(buf.Bytes(), []byte("export STORAGE_EMULATOR_HOST=http://127.0.0.1:")) {
		t.Errorf("PrintReady lacks STORAGE_EMULATOR_HOST with its http:// scheme:\n%s", buf.String())
	}

	// Primus's admin uploads a model archive; RegisterModel (via the fake-gcs notification,
	// Pub/Sub and Eventarc) writes its manifest.
	admin, err := s.StorageClient(t.Context(), iam.User(PrimusAdmin))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	arc := archive.Build([]archive.File{{Name: "model.tflite", Data: []byte("not really a model")}, {Name: "labels.txt", Data: []byte("background\ncat\n")}})
	w := admin.Bucket(ModelBucket).Object("models/m.tar.gz").NewWriter(t.Context())
	if _, err := w.Write(arc); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("upload model: %v", err)
	}
	var m records.Manifest
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := admin.Bucket(ModelBucket).Object("models/m.tar.gz" + records.ManifestSuffix).NewReader(t.Context())
		if err == nil {
			b, _ := io.ReadAll(r)
			r.Close()
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("manifest: %v", err)
			}
			break
		}
		if !errors.Is(err, storage.ErrObjectNotExist) || time.Now().After(deadline) {
			t.Fatalf("manifest never written: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m.Object != "models/m.tar.gz" || m.Status == "" {
		t.Errorf("manifest = %+v", m)
	}

	// The workload's own identity may not read Primus's model: 403, as GCS answers.
	wl, err := s.StorageClient(t.Context(), iam.ServiceAccount(WorkloadSA))
	if err != nil {
		t.Fatal(err)
	}
	defer wl.Close()
	_, err = wl.Bucket(ModelBucket).Object("models/m.tar.gz").NewReader(t.Context())
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != http.StatusForbidden {
		t.Errorf("workload-sa reading the model: %v, want 403", err)
	}

	// The provider starts with a condition that admits no image.
	p, ok := s.IAM.Provider(ProviderName())
	if !ok || !bytes.Contains([]byte(p.AttributeCondition), []byte(UnpinnedDigest)) {
		t.Errorf("initial provider condition = %q", p.AttributeCondition)
	}
}
