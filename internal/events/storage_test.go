package events

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/internal/errclass"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseStorageObject(t *testing.T) {
	created := time.Date(2026, 11, 28, 20, 40, 0, 123000000, time.UTC)
	tests := []struct {
		name string
		file string
		want StorageObject
	}{
		{
			name: "cloud storage sends int64 as strings",
			file: "storage_gcs.json",
			want: StorageObject{Bucket: "models-in", Name: "model.tar.gz", Generation: 1764362400123456,
				Metageneration: 1, Size: 4096, ContentType: "application/gzip", TimeCreated: created,
				Updated: created, Metadata: map[string]string{"owner": "primus"}},
		},
		{
			name: "fake-gcs-server sends int64 as numbers",
			file: "storage_fakegcs.json",
			want: StorageObject{Bucket: "models-in", Name: "model.tar.gz", Generation: 1764362400123456,
				Metageneration: 1, Size: 4096, ContentType: "application/gzip",
				TimeCreated: created.Add(456 * time.Microsecond), Updated: created.Add(456 * time.Microsecond),
				Metadata: map[string]string{"owner": "primus"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStorageObject(readTestdata(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseStorageObject() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseStorageObjectRefuses(t *testing.T) {
	tests := []struct {
		name, data, wantInErr string
	}{
		{"empty", ``, "empty data"},
		{"not json", `not json`, "decoding StorageObjectData"},
		{"array", `[1,2]`, "decoding StorageObjectData"},
		{"missing bucket", `{"name":"a","generation":"1"}`, "field bucket is missing"},
		{"bad bucket", `{"bucket":"A B","name":"a","generation":"1"}`, `field bucket "A B"`},
		{"missing name", `{"bucket":"bkt","generation":"1"}`, "field name is missing"},
		{"newline in name", `{"bucket":"bkt","name":"a\nb","generation":"1"}`, "field name"},
		{"missing generation", `{"bucket":"bkt","name":"a"}`, "field generation 0"},
		{"negative generation", `{"bucket":"bkt","name":"a","generation":"-4"}`, "field generation -4"},
		{"generation not a number", `{"bucket":"bkt","name":"a","generation":"x1"}`, "generation"},
		{"fractional size", `{"bucket":"bkt","name":"a","generation":1,"size":1.5}`, "size"},
		{"negative size", `{"bucket":"bkt","name":"a","generation":1,"size":"-1"}`, "field size -1"},
		{"bad time", `{"bucket":"bkt","name":"a","generation":1,"updated":"yesterday"}`, `"yesterday"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseStorageObject([]byte(tc.data))
			if err == nil {
				t.Fatal("ParseStorageObject() succeeded, want error")
			}
			if !errclass.IsPermanent(err) {
				t.Errorf("error %v is not permanent", err)
			}
			if !strings.Contains(err.Error(), tc.wantInErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantInErr)
			}
		})
	}
}

func TestObjectFinalizedChecksType(t *testing.T) {
	e := event.New()
	e.SetID("1")
	e.SetSource("//storage.googleapis.com/projects/_/buckets/models-in")
	e.SetType("google.cloud.storage.object.v1.deleted")
	if err := e.SetData("application/json", readTestdata(t, "storage_gcs.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := ObjectFinalized(e); err == nil || !errclass.IsPermanent(err) {
		t.Fatalf("ObjectFinalized(deleted) = %v, want permanent error", err)
	}
	e.SetType(TypeObjectFinalized)
	o, err := ObjectFinalized(e)
	if err != nil {
		t.Fatal(err)
	}
	if o.Name != "model.tar.gz" || o.Generation != 1764362400123456 {
		t.Errorf("ObjectFinalized() = %+v", o)
	}
}

func FuzzParseStorageObject(f *testing.F) {
	f.Add(readTestdata(f, "storage_gcs.json"))
	f.Add(readTestdata(f, "storage_fakegcs.json"))
	f.Add([]byte(`{"bucket":"bkt","name":"a","generation":"1"}`))
	f.Add([]byte(`{"bucket":"bkt","name":"a","generation":1e3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ParseStorageObject(data)
		if err != nil {
			if !errclass.IsPermanent(err) {
				t.Fatalf("error %v is not permanent", err)
			}
			return
		}
		if err := o.validate(); err != nil {
			t.Fatalf("accepted an invalid object: %v", err)
		}
	})
}
