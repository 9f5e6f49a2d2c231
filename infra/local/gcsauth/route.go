package gcsauth

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/cspipe/cspipe/infra/local/iam"
)

// check is one permission a request needs on one bucket. An empty bucket means a project-level
// or internal operation, which only admin principals may perform.
type check struct {
	bucket string
	perm   string
}

// route is what a request asks of IAM.
type route struct {
	checks []check
	// create marks an object write: a caller without storage.objects.delete may only create
	// new objects (GCS semantics for roles/storage.objectCreator).
	create bool
	// uploadID is the resumable upload a request continues, if any.
	uploadID string
	// resumableInit marks a request that may start a resumable upload.
	resumableInit bool
}

const adminOnly = ""

// classify maps a JSON-API, upload, download or XML-API request to bucket permissions. It
// mirrors the routes of fake-gcs-server; anything it does not know is admin-only.
func classify(r *http.Request) route {
	seg := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	m := r.Method
	if m == http.MethodPost && r.Header.Get("X-HTTP-Method-Override") != "" {
		m = r.Header.Get("X-HTTP-Method-Override")
	}
	read := m == http.MethodGet || m == http.MethodHead
	one := func(bucket, perm string) route { return route{checks: []check{{unescape(bucket), perm}}} }
	switch {
	case len(seg) >= 2 && seg[0] == "storage" && seg[1] == "v1":
		return classifyJSON(seg[2:], m, read)
	case len(seg) >= 6 && seg[0] == "upload" && seg[1] == "storage" && seg[2] == "v1" && seg[3] == "b" && seg[5] == "o":
		rt := one(seg[4], iam.PermObjectsCreate)
		rt.create = m == http.MethodPost
		rt.uploadID = r.URL.Query().Get("upload_id")
		rt.resumableInit = m == http.MethodPost && r.URL.Query().Get("uploadType") == "resumable"
		return rt
	case len(seg) == 3 && seg[0] == "upload" && seg[1] == "resumable":
		return route{uploadID: unescape(seg[2]), checks: []check{{adminOnly, iam.PermObjectsCreate}}}
	case len(seg) >= 7 && seg[0] == "download" && seg[1] == "storage" && seg[2] == "v1" && seg[3] == "b" && seg[5] == "o":
		return one(seg[4], iam.PermObjectsGet)
	case seg[0] == "batch" || seg[0] == "_internal" || seg[0] == "":
		return route{checks: []check{{adminOnly, "storage.admin"}}}
	}
	// XML API, path style: /BUCKET[/OBJECT].
	if len(seg) == 1 || (len(seg) == 2 && seg[1] == "") {
		if read {
			return one(seg[0], iam.PermObjectsList)
		}
		rt := one(seg[0], iam.PermObjectsCreate) // form upload
		rt.create = true
		return rt
	}
	switch {
	case read:
		return one(seg[0], iam.PermObjectsGet)
	case m == http.MethodDelete:
		return one(seg[0], iam.PermObjectsDelete)
	default:
		rt := one(seg[0], iam.PermObjectsCreate)
		rt.create = true
		return rt
	}
}

func classifyJSON(seg []string, m string, read bool) route {
	one := func(bucket, perm string) route { return route{checks: []check{{unescape(bucket), perm}}} }
	if len(seg) < 2 || seg[0] != "b" || seg[1] == "" {
		return route{checks: []check{{adminOnly, "storage.buckets.list"}}} // list or create buckets
	}
	b := seg[1]
	rest := seg[2:]
	if len(rest) == 0 {
		switch {
		case read:
			return one(b, iam.PermBucketsGet)
		case m == http.MethodDelete:
			return one(b, iam.PermBucketsDelete)
		default:
			return one(b, iam.PermBucketsUpdate)
		}
	}
	if rest[0] != "o" {
		// acl, iam, notificationConfigs, storageLayout, …
		if read {
			return one(b, iam.PermBucketsGet)
		}
		return one(b, iam.PermBucketsUpdate)
	}
	if len(rest) == 1 || (len(rest) == 2 && rest[1] == "") {
		if read {
			return one(b, iam.PermObjectsList)
		}
		rt := one(b, iam.PermObjectsCreate)
		rt.create = true
		return rt
	}
	obj := rest[1:]
	for i, s := range obj {
		if (s == "rewriteTo" || s == "copyTo") && i+3 < len(obj) && obj[i+1] == "b" && obj[i+3] == "o" {
			return route{create: true, checks: []check{{unescape(b), iam.PermObjectsGet}, {unescape(obj[i+2]), iam.PermObjectsCreate}}}
		}
	}
	last := obj[len(obj)-1]
	switch {
	case last == "compose" && m == http.MethodPost:
		return route{create: true, checks: []check{{unescape(b), iam.PermObjectsGet}, {unescape(b), iam.PermObjectsCreate}}}
	case len(obj) >= 2 && (obj[len(obj)-1] == "acl" || obj[len(obj)-2] == "acl"):
		if read {
			return one(b, iam.PermObjectsGet)
		}
		return one(b, iam.PermObjectsUpdate)
	case read:
		return one(b, iam.PermObjectsGet)
	case m == http.MethodDelete:
		return one(b, iam.PermObjectsDelete)
	default:
		return one(b, iam.PermObjectsUpdate)
	}
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
