package gcsauth

import (
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
)

// Cloud Storage keeps at most 8 KiB of custom metadata per object, keys and values together
// (https://cloud.google.com/storage/quotas); fake-gcs-server took any size, so an upload that
// Cloud Storage refuses succeeded locally.
func TestCustomMetadataLimit(t *testing.T) {
	s, ids := setup(t)
	ctx := t.Context()
	c := client(t, s, ids, owner)
	bkt := c.Bucket("models")
	full := map[string]string{"k": strings.Repeat("v", MaxCustomMetadata-1)} // exactly the limit
	over := map[string]string{"k": strings.Repeat("v", MaxCustomMetadata)}

	for _, chunk := range []int{0, 256 << 10} { // multipart, resumable
		w := bkt.Object("full").NewWriter(ctx)
		w.ChunkSize, w.Metadata = chunk, full
		if _, err := w.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Errorf("upload (chunk %d) with 8 KiB of metadata: %v", chunk, err)
		}
		w = bkt.Object("over").NewWriter(ctx)
		w.ChunkSize, w.Metadata = chunk, over
		_, _ = w.Write([]byte("x"))
		wantCode(t, "upload over the limit", w.Close(), http.StatusBadRequest, "custom metadata")
	}
	if _, err := bkt.Object("over").Attrs(ctx); err == nil {
		t.Error("an upload over the limit was stored")
	}

	// A patch counts what the object keeps afterwards: its metadata merged with the patch's.
	if _, err := write(ctx, bkt.Object("half"), []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	half := map[string]string{"a": strings.Repeat("v", 5000)}
	if _, err := bkt.Object("half").Update(ctx, storage.ObjectAttrsToUpdate{Metadata: half}); err != nil {
		t.Fatalf("patch to 5 KB: %v", err)
	}
	_, err := bkt.Object("half").Update(ctx, storage.ObjectAttrsToUpdate{Metadata: map[string]string{"b": strings.Repeat("v", 5000)}})
	wantCode(t, "patch adding 5 KB to 5 KB", err, http.StatusBadRequest, "custom metadata")
	// Replacing a key (and removing one, "" in the Go client) stays within it.
	if _, err := bkt.Object("half").Update(ctx, storage.ObjectAttrsToUpdate{Metadata: map[string]string{"a": "", "b": strings.Repeat("v", 5000)}}); err != nil {
		t.Errorf("patch replacing the 5 KB key: %v", err)
	}

	_, err = bkt.Object("composed").ComposerFrom(bkt.Object("full")).Run(ctx)
	if err != nil {
		t.Fatalf("compose: %v", err)
	}
	comp := bkt.Object("composed2").ComposerFrom(bkt.Object("full"))
	comp.Metadata = over
	_, err = comp.Run(ctx)
	wantCode(t, "compose with metadata over the limit", err, http.StatusBadRequest, "custom metadata")
}

// The XML API's x-goog-meta-* headers count as the object's custom metadata (gsutil -h).
func TestCustomMetadataLimitXML(t *testing.T) {
	s, ids := setup(t)
	tok := ids.MintAccessToken(owner)
	for _, tc := range []struct {
		name   string
		header map[string]string
	}{
		{"XML PUT", nil},
		{"XML resumable start", map[string]string{"X-Goog-Resumable": "start"}},
	} {
		method := http.MethodPut
		if tc.header != nil {
			method = http.MethodPost
		}
		req, err := http.NewRequestWithContext(t.Context(), method, s.URL()+"/models/x.bin", strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("X-Goog-Meta-K", strings.Repeat("v", MaxCustomMetadata))
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s with 8 KiB + 1 of x-goog-meta: %d, want 400", tc.name, resp.StatusCode)
		}
	}
}
