package gcsauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/cspipe/cspipe/internal/blob"
	"google.golang.org/api/iterator"
)

// A metadata update keeps the generation and increments the metageneration
// (https://cloud.google.com/storage/docs/metadata, generation and metageneration); a new upload
// starts a new generation at metageneration 1. fake-gcs-server's filesystem backend gave the
// object a new generation on every metadata update and reported metageneration 1 forever.
func TestMetadataUpdateKeepsGeneration(t *testing.T) {
	s, ids := setup(t)
	ctx := t.Context()
	c := client(t, s, ids, owner)
	o := c.Bucket("models").Object("batches/head.json")
	a, err := write(ctx, o, []byte(`{"state":"open"}`), 0)
	if err != nil {
		t.Fatal(err)
	}
	if a.Metageneration != 1 {
		t.Fatalf("fresh object: metageneration %d, want 1", a.Metageneration)
	}
	for i, want := range []int64{2, 3} {
		u, err := o.If(storage.Conditions{MetagenerationMatch: want - 1}).Update(ctx, storage.ObjectAttrsToUpdate{Metadata: map[string]string{"label": strconv.Itoa(i)}})
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
		if u.Generation != a.Generation || u.Metageneration != want {
			t.Fatalf("update %d answered generation %d metageneration %d; want %d and %d", i, u.Generation, u.Metageneration, a.Generation, want)
		}
	}
	got, err := o.Attrs(ctx)
	if err != nil || got.Generation != a.Generation || got.Metageneration != 3 || got.Metadata["label"] != "1" {
		t.Fatalf("attrs after updates = %+v, %v; want generation %d, metageneration 3, label 1", got, err, a.Generation)
	}
	it := c.Bucket("models").Objects(ctx, &storage.Query{Prefix: "batches/"})
	li, err := it.Next()
	if err != nil || li.Generation != a.Generation || li.Metageneration != 3 {
		t.Fatalf("listed = %+v, %v; want generation %d, metageneration 3", li, err, a.Generation)
	}
	r, err := o.NewReader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if r.Attrs.Generation != a.Generation || r.Attrs.Metageneration != 3 {
		t.Errorf("download headers: generation %d metageneration %d; want %d and 3", r.Attrs.Generation, r.Attrs.Metageneration, a.Generation)
	}

	// Metageneration preconditions compare with the counted value.
	_, err = o.If(storage.Conditions{MetagenerationMatch: 1}).Attrs(ctx)
	wantCode(t, "attrs, stale metageneration", err, http.StatusPreconditionFailed, "conditionNotMet")
	if _, err := o.If(storage.Conditions{GenerationMatch: a.Generation, MetagenerationMatch: 3}).Attrs(ctx); err != nil {
		t.Errorf("attrs, current generation and metageneration: %v", err)
	}

	// A compare-and-swap on the generation read before the metadata updates holds, as on GCS.
	w, err := write(ctx, o.If(storage.Conditions{GenerationMatch: a.Generation}), []byte(`{"state":"closed"}`), 0)
	if err != nil {
		t.Fatalf("write if generation %d (unchanged by metadata updates): %v", a.Generation, err)
	}
	if w.Generation == a.Generation || w.Metageneration != 1 {
		t.Errorf("rewrite: generation %d metageneration %d; want a new generation at metageneration 1", w.Generation, w.Metageneration)
	}
	if got, err := o.Attrs(ctx); err != nil || got.Metageneration != 1 || got.Metadata["label"] != "" {
		t.Errorf("attrs after rewrite = %+v, %v; want metageneration 1 and no label", got, err)
	}
}

// The product's state changes are generation compare-and-swaps through internal/blob (the batch
// head, claims, records, receipts, the pin's audit log). An operator's metadata update between
// its read and its write (say `gcloud storage objects update --custom-metadata`) must not turn
// the write into a 412 locally when Cloud Storage would take it.
func TestProductCompareAndSwapAfterMetadataUpdate(t *testing.T) {
	s, ids := setup(t)
	ctx := t.Context()
	st := blob.NewGCS(client(t, s, ids, owner))
	first, err := st.Write(ctx, "models", "batches/head.json", blob.Object{Data: []byte("v1"), ContentType: "application/json"}, blob.Cond{DoesNotExist: true})
	if err != nil {
		t.Fatal(err)
	}
	patch(t, s, ids, "models", "batches/head.json", `{"metadata":{"operator-note":"looked at it"}}`)
	got, err := st.Attrs(ctx, "models", "batches/head.json")
	if err != nil || got.Generation != first.Generation {
		t.Fatalf("attrs after a metadata update = %+v, %v; want generation %d", got, err, first.Generation)
	}
	if _, err := st.Write(ctx, "models", "batches/head.json", blob.Object{Data: []byte("v2")}, blob.Cond{GenerationMatch: first.Generation}); err != nil {
		t.Fatalf("compare-and-swap on the generation read before the metadata update: %v", err)
	}
	if _, err := st.Write(ctx, "models", "batches/head.json", blob.Object{Data: []byte("v3")}, blob.Cond{GenerationMatch: first.Generation}); !errors.Is(err, blob.ErrPrecondition) {
		t.Fatalf("a second swap from the same generation: %v, want ErrPrecondition", err)
	}
	if _, err := st.Write(ctx, "models", "batches/head.json", blob.Object{Data: []byte("v3")}, blob.Cond{DoesNotExist: true}); !errors.Is(err, blob.ErrPrecondition) {
		t.Fatalf("create-only write of a patched object: %v, want ErrPrecondition", err)
	}
}

// patch sends objects.patch as a raw request and checks its answer keeps the generation.
func patch(t *testing.T, s *Server, ids *iam.Server, bucket, object, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPatch, s.URL()+"/storage/v1/b/"+bucket+"/o/"+strings.ReplaceAll(object, "/", "%2F"), strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+ids.MintAccessToken(owner))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("patch: %d %s", resp.StatusCode, b)
	}
	var m map[string]any
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// A composed object has a CRC32C and a component count, and no MD5 hash
// (https://cloud.google.com/storage/docs/composite-objects, "Composite object metadata");
// fake-gcs-server reported the MD5 of the concatenated bytes and no componentCount.
func TestComposedObjectHasNoMD5(t *testing.T) {
	s, ids := setup(t)
	ctx := t.Context()
	c := client(t, s, ids, owner)
	b := c.Bucket("models")
	for _, n := range []string{"part-1", "part-2", "part-3"} {
		if _, err := write(ctx, b.Object(n), []byte(n+";"), 0); err != nil {
			t.Fatal(err)
		}
	}
	two, err := b.Object("two").ComposerFrom(b.Object("part-1"), b.Object("part-2")).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(two.MD5) != 0 || two.ComponentCount != 2 || two.CRC32C == 0 {
		t.Fatalf("compose answered md5 %x, componentCount %d, crc32c %d; want no md5, 2, a crc32c", two.MD5, two.ComponentCount, two.CRC32C)
	}
	// A composite of a composite counts the components of its sources.
	all, err := b.Object("all").ComposerFrom(b.Object("two"), b.Object("part-3")).Run(ctx)
	if err != nil || all.ComponentCount != 3 || len(all.MD5) != 0 {
		t.Fatalf("compose of a composite = %+v, %v; want componentCount 3 and no md5", all, err)
	}
	got, err := b.Object("all").Attrs(ctx)
	if err != nil || len(got.MD5) != 0 || got.ComponentCount != 3 {
		t.Fatalf("attrs of the composite = md5 %x, componentCount %d, %v; want none and 3", got.MD5, got.ComponentCount, err)
	}
	it := b.Objects(ctx, &storage.Query{Prefix: "all"})
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil || len(a.MD5) != 0 || a.ComponentCount != 3 {
			t.Fatalf("listed composite = md5 %x, componentCount %d, %v", a.MD5, a.ComponentCount, err)
		}
	}
	if data, err := read(ctx, b.Object("all")); err != nil || string(data) != "part-1;part-2;part-3;" {
		t.Fatalf("read of the composite = %q, %v", data, err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/download/storage/v1/b/models/o/all?alt=media", nil)
	req.Header.Set("Authorization", "Bearer "+ids.MintAccessToken(owner))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := resp.Header.Get("X-Goog-Hash"); strings.Contains(h, "md5") || !strings.Contains(h, "crc32c=") || resp.Header.Get("X-Goog-Component-Count") != "3" {
		t.Errorf("download headers: x-goog-hash %q, x-goog-component-count %q; want crc32c only and 3", h, resp.Header.Get("X-Goog-Component-Count"))
	}
	// The JSON resource itself has no md5Hash key (not an empty one) and a numeric componentCount.
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/storage/v1/b/models/o/all", nil)
	req.Header.Set("Authorization", "Bearer "+ids.MintAccessToken(owner))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	err = json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if _, has := res["md5Hash"]; err != nil || has || res["componentCount"] != float64(3) || res["crc32c"] == nil {
		t.Errorf("JSON resource of the composite = %v, %v; want no md5Hash, componentCount 3, a crc32c", res, err)
	}
	// A metadata update keeps it composite; a new upload under the name is not.
	if _, err := b.Object("all").Update(ctx, storage.ObjectAttrsToUpdate{Metadata: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Object("all").Attrs(ctx); err != nil || len(got.MD5) != 0 || got.ComponentCount != 3 || got.Metageneration != 2 {
		t.Fatalf("composite after a metadata update = md5 %x, componentCount %d, metageneration %d, %v", got.MD5, got.ComponentCount, got.Metageneration, err)
	}
	if _, err := write(ctx, b.Object("all"), []byte("plain"), 0); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Object("all").Attrs(ctx); err != nil || len(got.MD5) == 0 || got.ComponentCount != 0 {
		t.Fatalf("rewritten object = md5 %x, componentCount %d, %v; want an md5 and no components", got.MD5, got.ComponentCount, err)
	}
}
