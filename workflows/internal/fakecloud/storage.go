package fakecloud

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/cspipe/cspipe/internal/blob"
)

// Storage serves the Cloud Storage JSON API calls the workflows make (objects.insert with
// uploadType=media, objects.get with or without alt=media, objects.list) over a blob.Store.
type Storage struct {
	Store blob.Store
	// MaxPage, if positive, caps the objects of one list page below maxResults (Cloud Storage may
	// return fewer than asked for; callers must follow nextPageToken).
	MaxPage int
}

func objectJSON(a blob.Attrs) map[string]any {
	return map[string]any{
		"kind": "storage#object", "bucket": a.Bucket, "name": a.Name,
		"generation": strconv.FormatInt(a.Generation, 10), "size": strconv.FormatInt(a.Size, 10),
		"contentType": a.ContentType,
	}
}

func storageErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, blob.ErrNotFound):
		apiError(w, http.StatusNotFound, "No such object")
	case errors.Is(err, blob.ErrPrecondition):
		apiError(w, http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold.")
	default:
		apiError(w, http.StatusInternalServerError, err.Error())
	}
}

// ServeHTTP implements the API.
func (s *Storage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	path := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(path, "/upload/storage/v1/b/") && r.Method == http.MethodPost:
		bucket, rest, _ := strings.Cut(strings.TrimPrefix(path, "/upload/storage/v1/b/"), "/")
		q := r.URL.Query()
		if rest != "o" || q.Get("uploadType") != "media" || q.Get("name") == "" {
			apiError(w, http.StatusBadRequest, "only uploadType=media with a name is supported")
			return
		}
		data, err := io.ReadAll(r.Body)
		if err != nil {
			apiError(w, http.StatusBadRequest, err.Error())
			return
		}
		var cond blob.Cond
		if g := q.Get("ifGenerationMatch"); g == "0" {
			cond.DoesNotExist = true
		} else if g != "" {
			cond.GenerationMatch, _ = strconv.ParseInt(g, 10, 64)
		}
		a, err := s.Store.Write(ctx, bucket, q.Get("name"), blob.Object{Data: data, ContentType: r.Header.Get("Content-Type")}, cond)
		if err != nil {
			storageErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, objectJSON(a))
	case strings.HasPrefix(path, "/storage/v1/b/") && r.Method == http.MethodGet:
		bucket, rest, _ := strings.Cut(strings.TrimPrefix(path, "/storage/v1/b/"), "/")
		if rest == "o" {
			s.list(w, r, bucket)
			return
		}
		obj, ok := strings.CutPrefix(rest, "o/")
		if !ok {
			apiError(w, http.StatusNotFound, "unknown path")
			return
		}
		name, err := url.PathUnescape(obj)
		if err != nil {
			apiError(w, http.StatusBadRequest, err.Error())
			return
		}
		if r.URL.Query().Get("alt") == "media" {
			rc, a, err := s.Store.NewReader(ctx, bucket, name)
			if err != nil {
				storageErr(w, err)
				return
			}
			defer rc.Close()
			if g := r.URL.Query().Get("ifGenerationMatch"); g != "" && g != strconv.FormatInt(a.Generation, 10) {
				storageErr(w, blob.ErrPrecondition)
				return
			}
			w.Header().Set("Content-Type", a.ContentType)
			_, _ = io.Copy(w, rc)
			return
		}
		a, err := s.Store.Attrs(ctx, bucket, name)
		if err != nil {
			storageErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, objectJSON(a))
	default:
		apiError(w, http.StatusNotFound, "unsupported "+r.Method+" "+path)
	}
}

// list serves objects.list in name order, maxResults (default and at most 1000, as Google) at a
// time; the page token is the last name of the page before.
func (s *Storage) list(w http.ResponseWriter, r *http.Request, bucket string) {
	q := r.URL.Query()
	size := 1000
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			apiError(w, http.StatusBadRequest, "Invalid value for maxResults")
			return
		}
		size = min(n, size)
	}
	if s.MaxPage > 0 {
		size = min(size, s.MaxPage)
	}
	after := q.Get("pageToken")
	var names []string
	attrs := map[string]blob.Attrs{}
	err := s.Store.List(r.Context(), bucket, q.Get("prefix"), func(a blob.Attrs) error {
		if a.Name > after {
			names = append(names, a.Name)
			attrs[a.Name] = a
		}
		return nil
	})
	if err != nil {
		storageErr(w, err)
		return
	}
	slices.Sort(names)
	resp := map[string]any{"kind": "storage#objects"}
	if len(names) > size {
		names = names[:size]
		resp["nextPageToken"] = names[size-1]
	}
	var items []any
	for _, n := range names {
		items = append(items, objectJSON(attrs[n]))
	}
	if items != nil {
		resp["items"] = items
	}
	writeJSON(w, http.StatusOK, resp)
}
