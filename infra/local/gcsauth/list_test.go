package gcsauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/iterator"
)

// rawList sends objects.list with query q and decodes the answer.
func rawList(t *testing.T, s *Server, tok string, q url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL()+"/storage/v1/b/models/o?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("list answer %d %q: %v", resp.StatusCode, b, err)
	}
	return resp.StatusCode, m
}

// pageNames is a page's item names and prefixes, in answer order.
func pageNames(m map[string]any) (items, prefixes []string) {
	is, _ := m["items"].([]any)
	for _, it := range is {
		items = append(items, it.(map[string]any)["name"].(string))
	}
	ps, _ := m["prefixes"].([]any)
	for _, p := range ps {
		prefixes = append(prefixes, p.(string))
	}
	return items, prefixes
}

// maxResults counts items and prefixes together, per page, and a page holds at most 1,000
// entries (https://cloud.google.com/storage/docs/json_api/v1/objects/list, maxResults).
// fake-gcs-server counted items only, sent every prefix on every page, and sent a whole bucket
// in one page when maxResults was absent.
func TestListPagesCountItemsAndPrefixes(t *testing.T) {
	s, ids := setup(t)
	ctx := t.Context()
	c := client(t, s, ids, owner)
	for _, n := range []string{"a", "b/1", "b/2", "c", "d/1", "e"} {
		if _, err := write(ctx, c.Bucket("models").Object(n), []byte(n), 0); err != nil {
			t.Fatal(err)
		}
	}
	tok := ids.MintAccessToken(owner)
	var pages [][2][]string
	q := url.Values{"delimiter": {"/"}, "maxResults": {"2"}}
	for range 10 {
		code, m := rawList(t, s, tok, q)
		if code != http.StatusOK {
			t.Fatalf("list: %d %v", code, m)
		}
		items, prefixes := pageNames(m)
		pages = append(pages, [2][]string{items, prefixes})
		next, _ := m["nextPageToken"].(string)
		if next == "" {
			break
		}
		q.Set("pageToken", next)
	}
	want := [][2][]string{
		{{"a"}, {"b/"}},
		{{"c"}, {"d/"}},
		{{"e"}, nil},
	}
	if diff := cmp.Diff(want, pages); diff != "" {
		t.Errorf("pages of 2 (items, prefixes) (-want +got):\n%s", diff)
	}

	// The Go client's iterator with a page size sees each entry once.
	it := c.Bucket("models").Objects(ctx, &storage.Query{Delimiter: "/"})
	it.PageInfo().MaxSize = 1
	var got []string
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a.Name+a.Prefix)
	}
	if diff := cmp.Diff([]string{"a", "b/", "c", "d/", "e"}, got); diff != "" {
		t.Errorf("iterator, page size 1 (-want +got):\n%s", diff)
	}
}

// Without maxResults a page stops at 1,000 entries and the rest follows by page token.
func TestListDefaultPageIsAThousand(t *testing.T) {
	s, ids := setup(t)
	for i := range 1005 {
		s.Fake().CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "models", Name: fmt.Sprintf("img/%04d.jpg", i)}, Content: []byte("x")})
	}
	tok := ids.MintAccessToken(owner)
	code, m := rawList(t, s, tok, url.Values{"prefix": {"img/"}, "fields": {"items(name),nextPageToken"}})
	items, _ := pageNames(m)
	if code != http.StatusOK || len(items) != 1000 || m["nextPageToken"] == nil {
		t.Fatalf("first page: %d, %d items, token %v; want 1000 items and a token", code, len(items), m["nextPageToken"])
	}
	_, m = rawList(t, s, tok, url.Values{"prefix": {"img/"}, "pageToken": {m["nextPageToken"].(string)}})
	rest, _ := pageNames(m)
	if len(rest) != 5 || rest[0] != "img/1000.jpg" || m["nextPageToken"] != nil {
		t.Fatalf("second page: %v, token %v; want img/1000.jpg … img/1004.jpg and no token", rest, m["nextPageToken"])
	}
	if slices.Contains(items, rest[0]) {
		t.Error("an entry came on two pages")
	}
}

// matchGlob is refused with a 400 that names it: the front does not implement the glob grammar,
// and fake-gcs-server listed every object as if it matched.
func TestListMatchGlobRefused(t *testing.T) {
	s, ids := setup(t)
	ctx := t.Context()
	c := client(t, s, ids, owner)
	for _, n := range []string{"a.jpg", "b.txt"} {
		if _, err := write(ctx, c.Bucket("models").Object(n), []byte(n), 0); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.Bucket("models").Objects(ctx, &storage.Query{MatchGlob: "**.jpg"}).Next()
	wantCode(t, "list with matchGlob", err, http.StatusBadRequest, "matchGlob")
}
