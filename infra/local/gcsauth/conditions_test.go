package gcsauth

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/cspipe/cspipe/infra/local/iam"
	"google.golang.org/api/iterator"
)

// TestObjectConditionsSeeTheObject: an IAM Condition on a bucket grant is evaluated against the
// object's resource name for object methods (get, create, overwrite, delete, copy, compose,
// resumable uploads) and against the bucket's for objects.list, as Cloud Storage does, so an
// object-name condition grants exactly the objects it names and never listing.
func TestObjectConditionsSeeTheObject(t *testing.T) {
	s, ids := setup(t)
	ctx := t.Context()
	writer := iam.ServiceAccount("marker-writer@secundus.iam.gserviceaccount.com")
	cond := iam.Condition{Title: "runs-markers", Expression: `resource.name.startsWith("projects/_/buckets/models/objects/runs/") && resource.name.endsWith("/published.json")`}
	if err := ids.GrantIf(iam.BucketResource("models").Name, writer, "roles/storage.objectUser", cond); err != nil {
		t.Fatal(err)
	}
	own := client(t, s, ids, owner).Bucket("models")
	if _, err := write(ctx, own.Object("runs/a/results.jsonl"), []byte("results"), 0); err != nil {
		t.Fatal(err)
	}
	w := client(t, s, ids, writer).Bucket("models")

	marker := w.Object("runs/a/published.json")
	if _, err := write(ctx, marker, []byte("1"), 0); err != nil {
		t.Fatalf("create a named object: %v", err)
	}
	if _, err := write(ctx, marker, []byte("2"), 256*1024); err != nil { // resumable, overwrite
		t.Fatalf("overwrite a named object (resumable): %v", err)
	}
	if got, err := read(ctx, marker); err != nil || string(got) != "2" {
		t.Fatalf("read a named object = %q, %v", got, err)
	}
	if _, err := marker.Attrs(ctx); err != nil {
		t.Fatalf("metadata of a named object: %v", err)
	}

	_, err := read(ctx, w.Object("runs/a/results.jsonl"))
	wantCode(t, "read an object the condition does not name", err, http.StatusForbidden, "storage.objects.get")
	_, err = write(ctx, w.Object("runs/a/results.jsonl"), []byte("evil"), 0)
	wantCode(t, "overwrite an object the condition does not name", err, http.StatusForbidden, "storage.objects.create")
	_, err = write(ctx, w.Object("runs/a/published.json.bak"), bytes.Repeat([]byte("x"), 300*1024), 256*1024)
	wantCode(t, "resumable upload to an object the condition does not name", err, http.StatusForbidden, "storage.objects.create")
	err = w.Object("runs/a/results.jsonl").Delete(ctx)
	wantCode(t, "delete an object the condition does not name", err, http.StatusForbidden, "storage.objects.delete")
	_, err = w.Object("runs/b/published.json").CopierFrom(w.Object("runs/a/results.jsonl")).Run(ctx)
	wantCode(t, "copy from an object the condition does not name", err, http.StatusForbidden, "storage.objects.get")
	_, err = w.Object("runs/a/results.jsonl").CopierFrom(marker).Run(ctx)
	wantCode(t, "copy onto an object the condition does not name", err, http.StatusForbidden, "storage.objects.create")
	_, err = w.Object("runs/c/published.json").ComposerFrom(marker, w.Object("runs/a/results.jsonl")).Run(ctx)
	wantCode(t, "compose from an object the condition does not name", err, http.StatusForbidden, "storage.objects.get")
	if _, err := w.Object("runs/b/published.json").CopierFrom(marker).Run(ctx); err != nil {
		t.Errorf("copy between named objects: %v", err)
	}

	// objects.list is checked on the bucket: an object-name condition never grants it.
	_, err = w.Objects(ctx, &storage.Query{Prefix: "runs/"}).Next()
	wantCode(t, "list under an object-name condition", err, http.StatusForbidden, "storage.objects.list")

	if err := marker.Delete(ctx); err != nil {
		t.Errorf("delete a named object: %v", err)
	}
	if got, err := read(ctx, own.Object("runs/a/results.jsonl")); err != nil || string(got) != "results" {
		t.Errorf("the unnamed object changed: %q, %v", got, err)
	}
}

// TestConditionOnResourceType: resource.type is storage.googleapis.com/Object for object methods
// and storage.googleapis.com/Bucket for bucket methods (objects.list among them).
func TestConditionOnResourceType(t *testing.T) {
	s, ids := setup(t)
	ctx := t.Context()
	own := client(t, s, ids, owner).Bucket("models")
	if _, err := write(ctx, own.Object("a.txt"), []byte("a"), 0); err != nil {
		t.Fatal(err)
	}
	objectsOnly := iam.ServiceAccount("objects-only@secundus.iam.gserviceaccount.com")
	bucketOnly := iam.ServiceAccount("bucket-only@secundus.iam.gserviceaccount.com")
	for who, typ := range map[string]string{objectsOnly: "storage.googleapis.com/Object", bucketOnly: "storage.googleapis.com/Bucket"} {
		c := iam.Condition{Title: "type", Expression: `resource.type == "` + typ + `" && resource.service == "storage.googleapis.com"`}
		if err := ids.GrantIf(iam.BucketResource("models").Name, who, "roles/storage.objectViewer", c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := read(ctx, client(t, s, ids, objectsOnly).Bucket("models").Object("a.txt")); err != nil {
		t.Errorf("object-typed grant, get: %v", err)
	}
	_, err := client(t, s, ids, objectsOnly).Bucket("models").Objects(ctx, nil).Next()
	wantCode(t, "object-typed grant, list", err, http.StatusForbidden, "storage.objects.list")
	if _, err := client(t, s, ids, bucketOnly).Bucket("models").Objects(ctx, nil).Next(); err != nil && !errors.Is(err, iterator.Done) {
		t.Errorf("bucket-typed grant, list: %v", err)
	}
	_, err = read(ctx, client(t, s, ids, bucketOnly).Bucket("models").Object("a.txt"))
	wantCode(t, "bucket-typed grant, get", err, http.StatusForbidden, "storage.objects.get")
}

// TestUnsupportedAttributesNeverGrant: a condition on an attribute Cloud Storage does not give
// IAM Conditions (resource tags, request paths, API attributes) never grants: it either fails
// to compile (the grant is refused) or evaluates to an error, which IAM treats as false.
func TestUnsupportedAttributesNeverGrant(t *testing.T) {
	s, ids := setup(t)
	ctx := t.Context()
	own := client(t, s, ids, owner).Bucket("models")
	if _, err := write(ctx, own.Object("a.txt"), []byte("a"), 0); err != nil {
		t.Fatal(err)
	}
	for i, expr := range []string{
		`resource.name.startsWith("projects/_/buckets/models/objects/")`, // supported: grants
		`resource.labels["env"] == "dev"`,
		`request.path.startsWith("/storage")`,
		`resource.name.startsWith("projects/_/buckets/models/objects/") && request.host == "localhost"`,
		`api.getAttribute("iam.googleapis.com/modifiedGrantsByRole", []).hasOnly(["roles/storage.objectViewer"])`,
	} {
		who := iam.ServiceAccount("cond-" + string(rune('a'+i)) + "@secundus.iam.gserviceaccount.com")
		err := ids.GrantIf(iam.BucketResource("models").Name, who, "roles/storage.objectViewer", iam.Condition{Title: "t", Expression: expr})
		if err != nil {
			continue // refused at grant time
		}
		_, rerr := read(ctx, client(t, s, ids, who).Bucket("models").Object("a.txt"))
		if i == 0 {
			if rerr != nil {
				t.Errorf("supported condition %q: %v", expr, rerr)
			}
			continue
		}
		wantCode(t, "condition "+expr, rerr, http.StatusForbidden, "storage.objects.get")
	}
}

// TestXMLPut: a path-style XML API upload (gsutil's XML mode) is stored as the object it names,
// authorized on that object like any upload, and answered as the XML API does (empty body, ETag
// of the content's MD5, x-goog-hash).
func TestXMLPut(t *testing.T) {
	s, ids := setup(t)
	ctx := t.Context()
	writer := iam.ServiceAccount("xml-writer@secundus.iam.gserviceaccount.com")
	cond := iam.Condition{Title: "inbox", Expression: `resource.name.startsWith("projects/_/buckets/models/objects/inbox/")`}
	if err := ids.GrantIf(iam.BucketResource("models").Name, writer, "roles/storage.objectCreator", cond); err != nil {
		t.Fatal(err)
	}
	put := func(object, body string, hdr map[string]string) (*http.Response, string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, s.URL()+"/models/"+object, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+ids.MintAccessToken(writer))
		req.Header.Set("Content-Type", "image/jpeg")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := put("inbox/a%20b.jpg", "jpeg", nil)
	if resp.StatusCode != http.StatusOK || body != "" || resp.Header.Get("ETag") != `"`+fmt.Sprintf("%x", md5.Sum([]byte("jpeg")))+`"` || !strings.Contains(resp.Header.Get("X-Goog-Hash"), "md5=") {
		t.Fatalf("XML PUT: %d %q, headers %v", resp.StatusCode, body, resp.Header)
	}
	if got, err := read(ctx, client(t, s, ids, owner).Bucket("models").Object("inbox/a b.jpg")); err != nil || string(got) != "jpeg" {
		t.Errorf("stored object = %q, %v", got, err)
	}
	if resp, body := put("model.tar.gz", "evil", nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "storage.objects.create") {
		t.Errorf("XML PUT outside the condition: %d %s", resp.StatusCode, body)
	}
	if resp, body := put("inbox/a%20b.jpg", "again", nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "storage.objects.delete") {
		t.Errorf("XML PUT replacing without delete: %d %s", resp.StatusCode, body)
	}
	if resp, body := put("inbox/c.jpg", "x", map[string]string{"X-Goog-If-Generation-Match": "0"}); resp.StatusCode != http.StatusOK {
		t.Errorf("XML PUT with x-goog-if-generation-match: 0: %d %s", resp.StatusCode, body)
	}
	if resp, _ := put("inbox/%2e%2e/model.tar.gz", "x", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("XML PUT with a .. segment: %d, want 400", resp.StatusCode)
	}
}
