package registermodel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/internal/archive"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/errclass"
	"github.com/cspipe/cspipe/internal/events"
	"github.com/cspipe/cspipe/internal/fnutil"
	"github.com/cspipe/cspipe/internal/records"
)

const bucket = "primus-models"

var (
	testModel = append([]byte("\x1c\x00\x00\x00TFL3"), bytes.Repeat([]byte{1, 2, 3}, 300)...)
	fixedNow  = time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)
)

func goodArchive() []byte {
	return archive.Build([]archive.File{
		{Name: records.ModelFile, Data: testModel},
		{Name: records.LabelsFile, Data: []byte("background\ncat\n")},
	})
}

func testConfig() Config {
	return Config{ModelBucket: bucket, ArchiveSuffixes: []string{".tar.gz", ".tgz"}, MaxArchiveBytes: 1 << 20, MaxEventAge: time.Hour}
}

func newTest(t *testing.T, store blob.Store) *Function {
	t.Helper()
	return New(testConfig(), Deps{Store: store, Log: fnutil.DiscardLogger(), Now: func() time.Time { return fixedNow }})
}

// put writes an object and returns the finalize event's view of it.
func put(t *testing.T, s blob.Store, name string, data []byte) events.StorageObject {
	t.Helper()
	a, err := s.Write(t.Context(), bucket, name, blob.Object{Data: data}, blob.Cond{})
	if err != nil {
		t.Fatal(err)
	}
	return events.StorageObject{Bucket: bucket, Name: name, Generation: a.Generation, Size: a.Size}
}

func readManifest(t *testing.T, s blob.Store, name string) (records.Manifest, int64) {
	t.Helper()
	b, a, err := blob.ReadAll(t.Context(), s, bucket, name+records.ManifestSuffix, 0)
	if err != nil {
		t.Fatal(err)
	}
	var m records.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m, a.Generation
}

func TestRegisterAccepts(t *testing.T) {
	s := blob.NewMemory()
	f := newTest(t, s)
	data := goodArchive()
	obj := put(t, s, "models/v1.tar.gz", data)
	res, err := f.Register(t.Context(), obj)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	want := records.Manifest{Object: "models/v1.tar.gz", Generation: obj.Generation, SHA256: hex.EncodeToString(sum[:]),
		Size: int64(len(data)), Status: records.ManifestAccepted, Entries: 2, Uncompressed: int64(len(testModel)) + 15,
		RegisteredAt: fixedNow}
	if res.Outcome != Registered {
		t.Errorf("outcome = %q, want %q", res.Outcome, Registered)
	}
	got, _ := readManifest(t, s, "models/v1.tar.gz")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("manifest mismatch (-want +got):\n%s", diff)
	}
}

func TestRegisterDuplicateIsNoOp(t *testing.T) {
	s := blob.NewMemory()
	f := newTest(t, s)
	obj := put(t, s, "m.tgz", goodArchive())
	if _, err := f.Register(t.Context(), obj); err != nil {
		t.Fatal(err)
	}
	_, gen1 := readManifest(t, s, "m.tgz")
	res, err := f.Register(t.Context(), obj)
	if err != nil {
		t.Fatal(err)
	}
	_, gen2 := readManifest(t, s, "m.tgz")
	if res.Outcome != Duplicate || gen1 != gen2 {
		t.Errorf("second delivery: outcome %q, manifest generation %d -> %d; want duplicate and unchanged", res.Outcome, gen1, gen2)
	}
}

// TestRegisterRejectsTensorFlowFormats: a SavedModel or Keras upload is rejected with the one-line
// conversion to a format the engine runs, and an ONNX archive is accepted.
func TestRegisterRejectsTensorFlowFormats(t *testing.T) {
	labels := archive.File{Name: records.LabelsFile, Data: []byte("cat\n")}
	tests := []struct {
		name, object string
		data         []byte
		want         []string
	}{
		{"savedmodel", "codelab/model.tar.gz", archive.Build([]archive.File{
			{Name: "saved_model.pb", Data: []byte("\x08\x01")}, {Name: "variables/variables.index", Data: []byte("x")}, labels}),
			[]string{string(archive.ReasonUnsupportedModel), "SavedModel", "tf.lite.TFLiteConverter.from_saved_model", "tf2onnx.convert --saved-model"}},
		{"bare saved_model.pb", "export/saved_model.pb", []byte("\x08\x01"),
			[]string{string(archive.ReasonUnsupportedModel), "SavedModel", "from_saved_model"}},
		{"keras h5", "model.h5", []byte("\x89HDF\r\n\x1a\n...."),
			[]string{string(archive.ReasonUnsupportedModel), "Keras", "from_keras_model", "tf2onnx.convert --keras"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := blob.NewMemory()
			f := newTest(t, s)
			obj := put(t, s, tc.object, tc.data)
			if _, err := f.Register(t.Context(), obj); err != nil {
				t.Fatal(err)
			}
			m, _ := readManifest(t, s, tc.object)
			if m.Status != records.ManifestRejected {
				t.Fatalf("manifest %+v, want rejected", m)
			}
			for _, w := range tc.want {
				if !strings.Contains(m.Reason, w) {
					t.Errorf("reason %q does not contain %q", m.Reason, w)
				}
			}
		})
	}
	t.Run("onnx accepted", func(t *testing.T) {
		s := blob.NewMemory()
		f := newTest(t, s)
		obj := put(t, s, "m.tar.gz", archive.Build([]archive.File{{Name: records.ONNXModelFile, Data: []byte("\x08\x07rest")}, labels}))
		if _, err := f.Register(t.Context(), obj); err != nil {
			t.Fatal(err)
		}
		if m, _ := readManifest(t, s, "m.tar.gz"); m.Status != records.ManifestAccepted {
			t.Fatalf("manifest %+v, want accepted", m)
		}
	})
}

func TestRegisterRejects(t *testing.T) {
	bomb := append(bytes.Clone(testModel), make([]byte, 3<<20)...)
	tests := []struct {
		name       string
		data       []byte
		wantReason archive.Reason
	}{
		{"corrupt", []byte("this is not a gzip stream"), archive.ReasonCorrupt},
		{"parent path", archive.Build([]archive.File{{Name: records.ModelFile, Data: testModel}, {Name: "../labels.txt", Data: []byte("x")}}), archive.ReasonBadPath},
		{"bomb", archive.Build([]archive.File{{Name: records.ModelFile, Data: bomb}, {Name: records.LabelsFile, Data: []byte("a")}}), archive.ReasonBomb},
		{"missing labels", archive.Build([]archive.File{{Name: records.ModelFile, Data: testModel}}), archive.ReasonMissingEntry},
		{"too large", bytes.Repeat([]byte{0}, 1<<20+1), archive.ReasonTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := blob.NewMemory()
			f := newTest(t, s)
			obj := put(t, s, "bad.tar.gz", tc.data)
			res, err := f.Register(t.Context(), obj)
			if err != nil {
				t.Fatal(err)
			}
			m, _ := readManifest(t, s, "bad.tar.gz")
			if res.Outcome != Registered || m.Status != records.ManifestRejected || !strings.Contains(m.Reason, string(tc.wantReason)) {
				t.Errorf("got outcome %q manifest %+v, want rejected with reason %q", res.Outcome, m, tc.wantReason)
			}
			if m.Generation != obj.Generation || m.SHA256 != "" {
				t.Errorf("rejected manifest = %+v: want generation %d and no sha256", m, obj.Generation)
			}
			if _, err := s.Attrs(t.Context(), bucket, "bad.tar.gz"); err != nil {
				t.Errorf("the rejected archive must stay: %v", err)
			}
		})
	}
}

func TestRegisterNewGenerationReplacesManifest(t *testing.T) {
	s := blob.NewMemory()
	f := newTest(t, s)
	old := put(t, s, "m.tar.gz", []byte("garbage"))
	if _, err := f.Register(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	newer := put(t, s, "m.tar.gz", goodArchive())
	if _, err := f.Register(t.Context(), newer); err != nil {
		t.Fatal(err)
	}
	m, gen := readManifest(t, s, "m.tar.gz")
	if m.Status != records.ManifestAccepted || m.Generation != newer.Generation {
		t.Fatalf("manifest after new generation = %+v", m)
	}
	// The old generation's event arrives late (redelivery): nothing changes.
	res, err := f.Register(t.Context(), old)
	if err != nil {
		t.Fatal(err)
	}
	m2, gen2 := readManifest(t, s, "m.tar.gz")
	if res.Outcome != Stale || gen2 != gen || m2.Generation != newer.Generation {
		t.Errorf("late old event: outcome %q, manifest %+v (object gen %d->%d); want stale and unchanged", res.Outcome, m2, gen, gen2)
	}
}

func TestRegisterEventForReplacedGenerationIsStale(t *testing.T) {
	s := blob.NewMemory()
	f := newTest(t, s)
	old := put(t, s, "m.tar.gz", goodArchive())
	put(t, s, "m.tar.gz", goodArchive()) // replaced before the first event is handled
	res, err := f.Register(t.Context(), old)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != Stale {
		t.Errorf("outcome = %q, want stale", res.Outcome)
	}
	if _, err := s.Attrs(t.Context(), bucket, "m.tar.gz"+records.ManifestSuffix); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("a stale event wrote a manifest (err=%v)", err)
	}
}

func TestRegisterIgnores(t *testing.T) {
	s := blob.NewMemory()
	f := newTest(t, s)
	for _, obj := range []events.StorageObject{
		{Bucket: bucket, Name: "m.tar.gz.manifest.json", Generation: 1},
		{Bucket: bucket, Name: "notes.txt", Generation: 1},
		{Bucket: "other-bucket", Name: "m.tar.gz", Generation: 1},
	} {
		res, err := f.Register(t.Context(), obj)
		if err != nil || res.Outcome != Ignored {
			t.Errorf("Register(%s/%s) = %q, %v; want ignored", obj.Bucket, obj.Name, res.Outcome, err)
		}
	}
}

// failingStore fails reads mid-stream or writes with a precondition failure.
type failingStore struct {
	blob.Store
	readErr  error
	writeErr error
}

func (s failingStore) NewReader(ctx context.Context, b, n string) (io.ReadCloser, blob.Attrs, error) {
	r, a, err := s.Store.NewReader(ctx, b, n)
	if err != nil || s.readErr == nil {
		return r, a, err
	}
	return io.NopCloser(io.MultiReader(io.LimitReader(r, 20), errReader{s.readErr})), a, nil
}

func (s failingStore) Write(ctx context.Context, b, n string, o blob.Object, c blob.Cond) (blob.Attrs, error) {
	if s.writeErr != nil {
		return blob.Attrs{}, s.writeErr
	}
	return s.Store.Write(ctx, b, n, o, c)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestRegisterTransientFailuresAreRetryable(t *testing.T) {
	tests := []struct {
		name  string
		store func(blob.Store) blob.Store
	}{
		{"read fails mid-stream", func(s blob.Store) blob.Store { return failingStore{Store: s, readErr: errors.New("connection reset")} }},
		{"lost the manifest race", func(s blob.Store) blob.Store { return failingStore{Store: s, writeErr: blob.ErrPrecondition} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := blob.NewMemory()
			obj := put(t, mem, "m.tar.gz", goodArchive())
			f := newTest(t, tc.store(mem))
			_, err := f.Register(t.Context(), obj)
			if err == nil || errclass.IsPermanent(err) {
				t.Fatalf("Register() = %v, want a retryable error", err)
			}
			if _, err := mem.Attrs(t.Context(), bucket, "m.tar.gz"+records.ManifestSuffix); !errors.Is(err, blob.ErrNotFound) {
				t.Errorf("a failed registration wrote a manifest (err=%v)", err)
			}
		})
	}
}
