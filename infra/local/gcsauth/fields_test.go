package gcsauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/iterator"
)

func TestFieldMask(t *testing.T) {
	list := `{"kind":"storage#objects","nextPageToken":"t","items":[{"name":"a","size":"1","metadata":{"k":"v","x":"y"}},{"name":"b","size":"2"}]}`
	for _, c := range []struct {
		name, fields, want string
	}{
		{"names and token", "nextPageToken,items(name)", `{"items":[{"name":"a"},{"name":"b"}],"nextPageToken":"t"}`},
		{"slash path", "items/name", `{"items":[{"name":"a"},{"name":"b"}]}`},
		{"nested selection", "items(name,metadata/k)", `{"items":[{"metadata":{"k":"v"},"name":"a"},{"name":"b"}]}`},
		{"whole value", "kind,items", `{"items":[{"metadata":{"k":"v","x":"y"},"name":"a","size":"1"},{"name":"b","size":"2"}],"kind":"storage#objects"}`},
		{"wildcard", "*", list},
		{"absent field", "prefixes", `{}`},
		{"merged selections", "items(name),items(size)", `{"items":[{"name":"a","size":"1"},{"name":"b","size":"2"}]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := parseFields(c.fields)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := json.Unmarshal([]byte(list), &v); err != nil {
				t.Fatal(err)
			}
			var want any
			if err := json.Unmarshal([]byte(c.want), &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, m.apply(v)); diff != "" {
				t.Errorf("fields=%s (-want +got):\n%s", c.fields, diff)
			}
		})
	}
	for _, bad := range []string{"", "items(name", "items)", "a,,b", "items/"} {
		if _, err := parseFields(bad); err == nil {
			t.Errorf("parseFields(%q) accepted a malformed selection", bad)
		}
	}
}

// A listing with `fields` carries only the selected parts, as Cloud Storage's does; a bad
// selection is a 400; Go's client, which asks for a selection itself, still lists.
func TestListHonoursFields(t *testing.T) {
	s, ids := setup(t)
	for _, n := range []string{"batch/items/a", "batch/items/b", "batch/items/c"} {
		s.Fake().CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "models", Name: n, ContentType: "application/json"}, Content: []byte("{}")})
	}
	get := func(query string) (int, string) {
		req := httptest.NewRequest(http.MethodGet, "http://"+s.Host()+"/storage/v1/b/models/o?"+query, nil)
		req.Header.Set("Authorization", "Bearer "+ids.MintAccessToken(reader))
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	code, body := get("prefix=batch/items/&maxResults=2&fields=nextPageToken,items(name)")
	if code != http.StatusOK {
		t.Fatalf("list: %d %s", code, body)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("list answer %q: %v", body, err)
	}
	// Page tokens are opaque (the front makes its own, list.go): one must be there.
	if tok, _ := got["nextPageToken"].(string); tok == "" {
		t.Errorf("list of 3 by pages of 2: no nextPageToken in %s", body)
	}
	delete(got, "nextPageToken")
	want := map[string]any{"items": []any{map[string]any{"name": "batch/items/a"}, map[string]any{"name": "batch/items/b"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("list with fields (-want +got):\n%s", diff)
	}
	if code, body := get("fields=items(name"); code != http.StatusBadRequest {
		t.Errorf("malformed fields: %d %s, want 400", code, body)
	}

	q := &storage.Query{Prefix: "batch/items/"}
	if err := q.SetAttrSelection([]string{"Name"}); err != nil {
		t.Fatal(err)
	}
	it := client(t, s, ids, reader).Bucket("models").Objects(t.Context(), q)
	var names []string
	for {
		a, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, a.Name)
	}
	if diff := cmp.Diff([]string{"batch/items/a", "batch/items/b", "batch/items/c"}, names); diff != "" {
		t.Errorf("Go client listing (-want +got):\n%s", diff)
	}
}
