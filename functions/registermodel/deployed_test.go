package registermodel

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/cspipe/cspipe/internal/fnutil/fnutiltest"
	"github.com/cspipe/cspipe/internal/records"
)

// TestDeployedEntryPoint serves the function the way Cloud Run functions does: the Functions
// Framework serves what init registered, and the first event builds the configuration from the
// environment and the storage client (here pointed at fake-gcs-server by STORAGE_EMULATOR_HOST).
func TestDeployedEntryPoint(t *testing.T) {
	srv, client := fnutiltest.FakeGCS(t, bucket)
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(srv.URL(), "http://"))
	t.Setenv("CSPIPE_MODEL_BUCKET", bucket)
	t.Setenv("FUNCTION_TARGET", "")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	go func() { _ = funcframework.StartHostPort("127.0.0.1", port) }() // never returns; lives until the test binary exits
	url := "http://127.0.0.1:" + port + "/" + EntryPoint
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("functions framework did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	ctx := t.Context()
	w := client.Bucket(bucket).Object("deployed.tar.gz").NewWriter(ctx)
	if _, err := w.Write(goodArchive()); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	a := w.Attrs()
	if err := fnutiltest.Send(ctx, url, fnutiltest.StorageEvent("d1", bucket, a.Name, a.Generation, a.Size, time.Now())); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Bucket(bucket).Object("deployed.tar.gz" + records.ManifestSuffix).Attrs(ctx); err != nil {
		t.Errorf("no manifest after the deployed function handled the event: %v", err)
	}
}
