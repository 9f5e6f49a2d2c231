package gcsauth

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
)

// objects.list pages as Cloud Storage pages it. maxResults is the "maximum number of items plus
// prefixes to return in a single page", and the service uses it "or 1,000 items, whichever is
// smaller" (https://cloud.google.com/storage/docs/json_api/v1/objects/list). fake-gcs-server
// counted items only, returned every prefix on every page, and without maxResults returned the
// whole bucket in one page. The front asks the backend for the whole listing (prefix, delimiter,
// offsets, versions applied) and cuts the page itself: items and prefixes merged in name order,
// maxResults entries at most, and a page token of its own that resumes after the last entry.
//
// matchGlob ("filter results to objects and prefixes that match this glob pattern", same page)
// is refused with a 400 that names it: fake-gcs-server ignored it and listed every object, and
// the front does not implement Google's glob grammar, so a silent wrong answer is what it would
// otherwise give.

// maxListPage is the most entries Cloud Storage returns in one objects.list page.
const maxListPage = 1000

// listToken is the front's page token: the name of the last entry of the page before, and how
// many entries of that name it held (a name repeats with versions, and as an item and a prefix).
type listToken struct {
	Name string `json:"n"`
	Same int    `json:"i"`
}

// listEntry is one item or prefix of a listing.
type listEntry struct {
	name   string
	item   any // nil for a prefix
	prefix bool
}

// list serves objects.list through next, paging as Cloud Storage does.
func (s *Server) list(w http.ResponseWriter, r *http.Request, next http.Handler) {
	q := r.URL.Query()
	if q.Get("matchGlob") != "" {
		writeError(w, http.StatusBadRequest, "The local Cloud Storage does not implement the matchGlob parameter of objects.list (Google's glob grammar); list with prefix and filter the names.", "invalid")
		return
	}
	size := maxListPage
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "Invalid value for maxResults: "+strconv.Quote(v), "invalid")
			return
		}
		if n > 0 && n < size {
			size = n
		}
	}
	var after listToken
	if v := q.Get("pageToken"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || json.Unmarshal(b, &after) != nil {
			writeError(w, http.StatusBadRequest, "Invalid page token.", "invalid")
			return
		}
	}
	q.Del("maxResults")
	q.Del("pageToken")
	r = r.Clone(r.Context())
	r.URL.RawQuery = q.Encode()
	rec, body, ok := jsonAnswer(next, r)
	if !ok {
		rec.Send(w)
		return
	}
	entries := listEntries(body)
	start := sort.Search(len(entries), func(i int) bool { return entries[i].name >= after.Name })
	for skip := after.Same; skip > 0 && start < len(entries) && entries[start].name == after.Name; skip-- {
		start++
	}
	end := min(start+size, len(entries))
	page := entries[start:end]
	items, prefixes := []any{}, []any{}
	for _, e := range page {
		if e.prefix {
			prefixes = append(prefixes, e.name)
		} else {
			items = append(items, e.item)
		}
	}
	delete(body, "items")
	delete(body, "prefixes")
	delete(body, "nextPageToken")
	if len(items) > 0 {
		body["items"] = items
	}
	if len(prefixes) > 0 {
		body["prefixes"] = prefixes
	}
	if end < len(entries) {
		last := page[len(page)-1].name
		same := 0
		for i := end - 1; i >= 0 && entries[i].name == last; i-- {
			same++
		}
		b, _ := json.Marshal(listToken{Name: last, Same: same})
		body["nextPageToken"] = base64.RawURLEncoding.EncodeToString(b)
	}
	if s.recorded.Load() {
		s.fixAnswer(body)
	}
	setJSONBody(rec, body)
	rec.Send(w)
}

// listEntries merges a full listing's items and prefixes in name order (an item before a prefix
// of the same name, items of one name in the backend's order).
func listEntries(body map[string]any) []listEntry {
	var entries []listEntry
	items, _ := body["items"].([]any)
	for _, it := range items {
		o, _ := it.(map[string]any)
		name, _ := o["name"].(string)
		entries = append(entries, listEntry{name: name, item: it})
	}
	prefixes, _ := body["prefixes"].([]any)
	for _, p := range prefixes {
		if name, ok := p.(string); ok {
			entries = append(entries, listEntry{name: name, prefix: true})
		}
	}
	sort.SliceStable(entries, func(i, j int) bool {
		if entries[i].name != entries[j].name {
			return entries[i].name < entries[j].name
		}
		return !entries[i].prefix && entries[j].prefix
	})
	return entries
}
