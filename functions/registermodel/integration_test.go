package registermodel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/cspipe/cspipe/internal/archive"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/fnutil"
	"github.com/cspipe/cspipe/internal/fnutil/fnutiltest"
	"github.com/cspipe/cspipe/internal/records"
)

// TestOverHTTP runs RegisterModel as a CloudEvent function over HTTP against fake-gcs-server
// with the real storage client, delivering events in binary mode as Eventarc does.
func TestOverHTTP(t *testing.T) {
	_, client := fnutiltest.FakeGCS(t, bucket)
	store := blob.NewGCS(client)
	f := New(testConfig(), Deps{Store: store, Log: fnutil.DiscardLogger()})
	url := fnutiltest.Serve(t, f.Handle)
	ctx := t.Context()

	upload := func(name string, data []byte) *storage.ObjectAttrs {
		t.Helper()
		w := client.Bucket(bucket).Object(name).NewWriter(ctx)
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return w.Attrs()
	}
	deliver := func(id string, a *storage.ObjectAttrs) {
		t.Helper()
		e := fnutiltest.StorageEvent(id, bucket, a.Name, a.Generation, a.Size, time.Now())
		if err := fnutiltest.Send(ctx, url, e); err != nil {
			t.Fatalf("delivering %s: %v", id, err)
		}
	}
	manifest := func(name string) (records.Manifest, int64) {
		t.Helper()
		r, err := client.Bucket(bucket).Object(name + records.ManifestSuffix).NewReader(ctx)
		if err != nil {
			t.Fatalf("reading manifest of %s: %v", name, err)
		}
		defer r.Close()
		var m records.Manifest
		if err := json.NewDecoder(r).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m, r.Attrs.Generation
	}

	t.Run("accepted, then duplicate delivery is a no-op", func(t *testing.T) {
		a := upload("good.tar.gz", goodArchive())
		deliver("e1", a)
		m, gen := manifest("good.tar.gz")
		if m.Status != records.ManifestAccepted || m.Generation != a.Generation || len(m.SHA256) != 64 {
			t.Fatalf("manifest = %+v", m)
		}
		deliver("e1", a)
		if _, gen2 := manifest("good.tar.gz"); gen2 != gen {
			t.Errorf("duplicate delivery rewrote the manifest (generation %d -> %d)", gen, gen2)
		}
	})

	bomb := append(bytes.Clone(testModel), make([]byte, 3<<20)...)
	for _, tc := range []struct {
		name, object string
		data         []byte
		reason       archive.Reason
	}{
		{"corrupt archive", "corrupt.tar.gz", []byte("\x1f\x8b\x08\x00garbage"), archive.ReasonCorrupt},
		{"tar with ../", "dotdot.tar.gz", archive.Build([]archive.File{{Name: records.ModelFile, Data: testModel}, {Name: "../../labels.txt", Data: []byte("a")}}), archive.ReasonBadPath},
		{"decompression bomb", "bomb.tar.gz", archive.Build([]archive.File{{Name: records.ModelFile, Data: bomb}, {Name: records.LabelsFile, Data: []byte("a")}}), archive.ReasonBomb},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := upload(tc.object, tc.data)
			deliver("e-"+tc.object, a)
			m, _ := manifest(tc.object)
			if m.Status != records.ManifestRejected || !strings.Contains(m.Reason, string(tc.reason)) {
				t.Errorf("manifest = %+v, want rejected for %s", m, tc.reason)
			}
			if _, err := client.Bucket(bucket).Object(tc.object).Attrs(ctx); err != nil {
				t.Errorf("the archive was not kept: %v", err)
			}
		})
	}

	t.Run("new generation replaces the manifest", func(t *testing.T) {
		a1 := upload("v.tar.gz", []byte("not yet"))
		deliver("v1", a1)
		a2 := upload("v.tar.gz", goodArchive())
		deliver("v2", a2)
		deliver("v1", a1) // late redelivery of the old generation
		m, _ := manifest("v.tar.gz")
		if m.Generation != a2.Generation || m.Status != records.ManifestAccepted {
			t.Errorf("manifest = %+v, want accepted generation %d", m, a2.Generation)
		}
	})

	t.Run("malformed event is acked", func(t *testing.T) {
		e := cloudevents.NewEvent()
		e.SetID("bad")
		e.SetType("google.cloud.storage.object.v1.finalized")
		e.SetSource("//storage.googleapis.com/projects/_/buckets/" + bucket)
		_ = e.SetData(cloudevents.ApplicationJSON, []byte(`{"bucket":"`+bucket+`"}`))
		if err := fnutiltest.Send(ctx, url, e); err != nil {
			t.Errorf("malformed event: %v, want ack", err)
		}
	})

	t.Run("storage outage is redelivered", func(t *testing.T) {
		down := New(testConfig(), Deps{Store: brokenStore{}, Log: fnutil.DiscardLogger()})
		u := fnutiltest.Serve(t, down.Handle)
		e := fnutiltest.StorageEvent("x", bucket, "good.tar.gz", 5, 10, time.Now())
		if err := fnutiltest.Send(ctx, u, e); err == nil {
			t.Error("an unavailable store must make the function ask for redelivery")
		}
	})
}

type brokenStore struct{ blob.Store }

var errDown = errors.New("storage unavailable")

func (brokenStore) NewReader(context.Context, string, string) (io.ReadCloser, blob.Attrs, error) {
	return nil, blob.Attrs{}, errDown
}

func (brokenStore) Attrs(context.Context, string, string) (blob.Attrs, error) {
	return blob.Attrs{}, fmt.Errorf("attrs: %w", errDown)
}
