package gcsauth

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"

	"cloud.google.com/go/storage"
)

// Cloud Storage refuses a read, delete or metadata update whose precondition does not hold
// (https://cloud.google.com/storage/docs/request-preconditions); fake-gcs-server honoured them on
// uploads only, so a delete "if generation is G" removed a newer generation.
func TestPreconditionsOnReadDeleteUpdate(t *testing.T) {
	s, ids := setup(t)
	ctx := t.Context()
	c := client(t, s, ids, owner)
	o := c.Bucket("models").Object("pins/latest.json")
	a, err := write(ctx, o, []byte("v1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	stale := a.Generation - 1

	_, err = o.If(storage.Conditions{GenerationMatch: stale}).Attrs(ctx)
	wantCode(t, "attrs, stale generation", err, http.StatusPreconditionFailed, "conditionNotMet")
	_, err = read(ctx, o.If(storage.Conditions{GenerationMatch: stale}))
	wantCode(t, "read, stale generation", err, http.StatusPreconditionFailed, "")
	_, err = o.If(storage.Conditions{MetagenerationMatch: 7}).Update(ctx, storage.ObjectAttrsToUpdate{Metadata: map[string]string{"k": "v"}})
	wantCode(t, "update, stale metageneration", err, http.StatusPreconditionFailed, "conditionNotMet")
	err = o.If(storage.Conditions{GenerationMatch: stale}).Delete(ctx)
	wantCode(t, "delete, stale generation", err, http.StatusPreconditionFailed, "conditionNotMet")
	err = o.If(storage.Conditions{GenerationNotMatch: a.Generation}).Delete(ctx)
	wantCode(t, "delete, generation not match", err, http.StatusPreconditionFailed, "")
	if got, err := read(ctx, o); err != nil || string(got) != "v1" {
		t.Fatalf("after refused deletes: read = %q, %v; want v1", got, err)
	}

	// Conditions that hold go through.
	if _, err := o.If(storage.Conditions{GenerationMatch: a.Generation, MetagenerationMatch: 1}).Attrs(ctx); err != nil {
		t.Errorf("attrs, current generation: %v", err)
	}
	if _, err := read(ctx, o.If(storage.Conditions{GenerationNotMatch: stale})); err != nil {
		t.Errorf("read, generation not match: %v", err)
	}
	if err := o.If(storage.Conditions{GenerationMatch: a.Generation}).Delete(ctx); err != nil {
		t.Errorf("delete, current generation: %v", err)
	}
	if _, err := o.Attrs(ctx); !errors.Is(err, storage.ErrObjectNotExist) {
		t.Errorf("after delete: %v, want not found", err)
	}
}

// The same conditions by raw request: the XML API's x-goog-if-generation-match header, and a
// GET whose "not match" condition fails (304 Not Modified, no body).
func TestPreconditionsRaw(t *testing.T) {
	s, ids := setup(t)
	c := client(t, s, ids, owner)
	a, err := write(t.Context(), c.Bucket("models").Object("m.bin"), []byte("v1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	gen := strconv.FormatInt(a.Generation, 10)
	tok := ids.MintAccessToken(owner)
	for _, tc := range []struct {
		name, method, path string
		header             map[string]string
		want               int
	}{
		{"xml get, header mismatch", http.MethodGet, "/models/m.bin", map[string]string{"X-Goog-If-Generation-Match": "1"}, http.StatusPreconditionFailed},
		{"xml delete, header mismatch", http.MethodDelete, "/models/m.bin", map[string]string{"X-Goog-If-Generation-Match": "1"}, http.StatusPreconditionFailed},
		{"json get, not match fails", http.MethodGet, "/storage/v1/b/models/o/m.bin?ifGenerationNotMatch=" + gen, nil, http.StatusNotModified},
		{"json media, metageneration not match fails", http.MethodGet, "/storage/v1/b/models/o/m.bin?alt=media&ifMetagenerationNotMatch=1", nil, http.StatusNotModified},
		{"download, mismatch", http.MethodGet, "/download/storage/v1/b/models/o/m.bin?alt=media&ifGenerationMatch=1", nil, http.StatusPreconditionFailed},
		{"not an integer", http.MethodGet, "/storage/v1/b/models/o/m.bin?ifGenerationMatch=x", nil, http.StatusBadRequest},
		{"named generation", http.MethodGet, "/storage/v1/b/models/o/m.bin?generation=" + gen + "&ifGenerationMatch=" + gen, nil, http.StatusOK},
		{"xml get, header match", http.MethodGet, "/models/m.bin", map[string]string{"X-Goog-If-Generation-Match": gen}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, s.URL()+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
			}
		})
	}
}

// Cloud Storage answers a successful object delete with 204 No Content and an empty body, on the
// JSON API (objects.delete: "an empty response body") and the XML API alike; fake-gcs-server's
// 200 "null" broke gcloud storage rm and gsutil rm (TestGcloudStorageRm, TestGsutilRm).
func TestDeleteAnswersNoContent(t *testing.T) {
	s, ids := setup(t)
	c := client(t, s, ids, owner)
	tok := ids.MintAccessToken(owner)
	for _, path := range []string{"/storage/v1/b/models/o/a.txt", "/models/a.txt"} {
		if _, err := write(t.Context(), c.Bucket("models").Object("a.txt"), []byte("v1"), 0); err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodDelete, s.URL()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
			t.Errorf("DELETE %s: %d %q, want 204 and no body", path, resp.StatusCode, body)
		}
	}
}
