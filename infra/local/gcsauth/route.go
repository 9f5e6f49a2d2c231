package gcsauth

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/cspipe/cspipe/infra/local/iam"
)

// check is one permission a request needs on one resource: an object
// (projects/_/buckets/B/objects/O) when obj is set, else the bucket (projects/_/buckets/B). Cloud
// Storage evaluates IAM Conditions against that resource: an object-name condition can grant
// get/create/delete on the objects it names, never storage.objects.list (checked on the bucket).
// An empty bucket means a project-level or internal operation, which only admin principals may
// perform.
type check struct {
	bucket string
	object string
	obj    bool
	perm   string
}

func bucketCheck(bucket, perm string) check { return check{bucket: bucket, perm: perm} }

func objectCheck(bucket, object, perm string) check {
	return check{bucket: bucket, object: object, obj: true, perm: perm}
}

// resource is what IAM checks c on.
func (c check) resource() iam.Resource {
	if c.obj {
		return iam.ObjectResource(c.bucket, c.object)
	}
	return iam.BucketResource(c.bucket)
}

// route is what a request asks of IAM.
type route struct {
	checks []check
	// create marks an object write whose destination is the last check: a caller without
	// storage.objects.delete on that object may only create it (GCS semantics for
	// roles/storage.objectCreator).
	create bool
	// uploadID is the resumable upload a request continues, if any; its object is the one the
	// session was started for.
	uploadID string
	// resumableInit marks a request that may start a resumable upload.
	resumableInit bool
	// problem, when set, refuses the request with a 400 (e.g. two different object names).
	problem string
	// preconditions marks a read, delete or metadata update of the one object checked, whose
	// request preconditions the front evaluates (preconditions.go).
	preconditions bool
	// kind marks the requests whose answer the front corrects (objectfront.go).
	kind routeKind
	// legacyACL, when set, refuses an authorized request with this 400: an XML API ACL request
	// (?acl), which a bucket with uniform bucket-level access refuses.
	legacyACL string
}

// Cloud Storage's refusals of ACL requests on a bucket with uniform bucket-level access (every
// bucket of the deployment, and so of the stack: infra/terraform sets
// uniform_bucket_level_access on each). The JSON API reference of bucketAccessControls and
// objectAccessControls says these methods fail with 400 Bad Request on such buckets; the wording
// is the one Cloud Storage answers with.
const (
	uniformBucketACL = "Cannot get legacy ACL for a bucket that has uniform bucket-level access. Read more at https://cloud.google.com/storage/docs/uniform-bucket-level-access."
	uniformObjectACL = "Cannot get legacy ACL for an object when uniform bucket-level access is enabled. Read more at https://cloud.google.com/storage/docs/uniform-bucket-level-access."
)

// routeKind names the object requests the front serves beyond passing them on.
type routeKind int

const (
	kindOther          routeKind = iota
	kindObjectRead               // an object's resource or data (JSON, download or XML)
	kindObjectList               // objects.list
	kindMetadataUpdate           // objects.patch or objects.update
	kindCompose                  // objects.compose
)

const adminOnly = ""

// The object routes of fake-gcs-server's JSON API (under /storage/v1), as the regular
// expressions gorilla/mux builds from its templates ({v} is [^/]+, {v:.+} is .+) and matches
// against the escaped path, in the order the server registers them. Matching the same
// expressions in the same order names the same object the backend acts on, even for paths
// with literal slashes where suffixes such as /acl or /compose are ambiguous.
var (
	jsonObjectRe  = regexp.MustCompile(`^/b/([^/]+)/o/(.+)$`)
	jsonACLRe     = regexp.MustCompile(`^/b/([^/]+)/o/(.+)/acl$`)
	jsonACLEntRe  = regexp.MustCompile(`^/b/([^/]+)/o/(.+)/acl/([^/]+)$`)
	jsonCopyRe    = regexp.MustCompile(`^/b/([^/]+)/o/(.+)/(rewriteTo|copyTo)/b/([^/]+)/o/(.+)$`)
	jsonComposeRe = regexp.MustCompile(`^/b/([^/]+)/o/(.+)/compose$`)
	downloadRe    = regexp.MustCompile(`^/download/storage/v1/b/([^/]+)/o/(.+)$`)
	uploadRe      = regexp.MustCompile(`^/upload/storage/v1/b/([^/]+)/o/?$`)
	resumableRe   = regexp.MustCompile(`^/upload/resumable/([^/]+)$`)
	xmlObjectRe   = regexp.MustCompile(`^/([^/]+)/(.+)$`)
)

// classify maps a JSON-API, upload, download or XML-API request to the permissions it needs on
// buckets and objects. It mirrors the routes of fake-gcs-server; anything it does not know is
// admin-only. It may read (and put back) a JSON or multipart body to find the object names an
// upload or a compose names.
func classify(r *http.Request) route {
	p := r.URL.EscapedPath()
	m := r.Method
	read := m == http.MethodGet || m == http.MethodHead
	if rest, ok := strings.CutPrefix(p, "/storage/v1"); ok && (rest == "" || rest[0] == '/') {
		return classifyJSON(r, rest, m)
	}
	if g := downloadRe.FindStringSubmatch(p); g != nil {
		return route{preconditions: true, kind: kindObjectRead, checks: []check{objectCheck(unescape(g[1]), unescape(g[2]), iam.PermObjectsGet)}}
	}
	if g := resumableRe.FindStringSubmatch(p); g != nil {
		return route{uploadID: unescape(g[1]), checks: []check{bucketCheck(adminOnly, iam.PermObjectsCreate)}}
	}
	if g := uploadRe.FindStringSubmatch(p); g != nil {
		return insertRoute(r, unescape(g[1]), "", m == http.MethodPost)
	}
	seg := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 2)
	switch seg[0] {
	case "upload", "download", "batch", "_internal", "", "storage":
		return route{checks: []check{bucketCheck(adminOnly, "storage.admin")}}
	}
	// XML API, path style: /BUCKET[/OBJECT].
	g := xmlObjectRe.FindStringSubmatch(p)
	acl := r.URL.Query().Has("acl")
	if acl {
		// fake-gcs-server knows no ?acl: it answered a bucket's with the object listing and an
		// object's with the object's data (a PUT got an unrelated 400 from insertRoute).
		if g == nil {
			perm := iam.PermBucketsGet
			if !read {
				perm = iam.PermBucketsUpdate
			}
			return route{legacyACL: uniformBucketACL, checks: []check{bucketCheck(unescape(seg[0]), perm)}}
		}
		perm := iam.PermObjectsGet
		if !read {
			perm = iam.PermObjectsUpdate
		}
		return route{legacyACL: uniformObjectACL, checks: []check{objectCheck(unescape(g[1]), unescape(g[2]), perm)}}
	}
	if g == nil {
		b := unescape(seg[0])
		if read {
			return route{checks: []check{bucketCheck(b, iam.PermObjectsList)}}
		}
		return insertRoute(r, b, "", true) // form upload (refused by checkNames)
	}
	b, o := unescape(g[1]), unescape(g[2])
	switch {
	case read:
		return route{preconditions: true, kind: kindObjectRead, checks: []check{objectCheck(b, o, iam.PermObjectsGet)}}
	case m == http.MethodDelete:
		return route{preconditions: true, checks: []check{objectCheck(b, o, iam.PermObjectsDelete)}}
	}
	return insertRoute(r, b, o, true)
}

// classifyJSON classifies a JSON API request; rest is its escaped path after /storage/v1.
func classifyJSON(r *http.Request, rest, m string) route {
	one := func(c check) route { return route{checks: []check{c}} }
	// onObject is a method on the object resource itself (not its ACL): preconditions apply.
	onObject := func(c check, k routeKind) route { return route{checks: []check{c}, preconditions: true, kind: k} }
	read := m == http.MethodGet || m == http.MethodHead
	seg := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	if len(seg) < 2 || seg[0] != "b" || seg[1] == "" {
		return one(bucketCheck(adminOnly, "storage.buckets.list")) // list or create buckets
	}
	b := unescape(seg[1])
	if len(seg) == 2 {
		switch {
		case read:
			return one(bucketCheck(b, iam.PermBucketsGet))
		case m == http.MethodDelete:
			return one(bucketCheck(b, iam.PermBucketsDelete))
		default:
			return one(bucketCheck(b, iam.PermBucketsUpdate))
		}
	}
	if seg[2] != "o" {
		// acl, iam, notificationConfigs, storageLayout, …
		if read {
			return one(bucketCheck(b, iam.PermBucketsGet))
		}
		return one(bucketCheck(b, iam.PermBucketsUpdate))
	}
	if len(seg) == 3 || (len(seg) == 4 && seg[3] == "") {
		if read {
			return route{kind: kindObjectList, checks: []check{bucketCheck(b, iam.PermObjectsList)}}
		}
		return insertRoute(r, b, "", true)
	}
	// Object routes, in fake-gcs-server's registration order.
	obj := func(re *regexp.Regexp) (string, string, bool) {
		g := re.FindStringSubmatch(rest)
		if g == nil {
			return "", "", false
		}
		return unescape(g[1]), unescape(g[2]), true
	}
	switch m {
	case http.MethodPatch:
		if b, o, ok := obj(jsonObjectRe); ok {
			return onObject(objectCheck(b, o, iam.PermObjectsUpdate), kindMetadataUpdate)
		}
	case http.MethodGet:
		for _, re := range []*regexp.Regexp{jsonACLRe, jsonACLEntRe} {
			if b, o, ok := obj(re); ok {
				return one(objectCheck(b, o, iam.PermObjectsGet))
			}
		}
		if b, o, ok := obj(jsonObjectRe); ok {
			return onObject(objectCheck(b, o, iam.PermObjectsGet), kindObjectRead)
		}
	case http.MethodHead:
		if b, o, ok := obj(jsonObjectRe); ok {
			return onObject(objectCheck(b, o, iam.PermObjectsGet), kindObjectRead)
		}
	case http.MethodPost:
		if b, o, ok := obj(jsonACLRe); ok {
			return one(objectCheck(b, o, iam.PermObjectsUpdate))
		}
		if g := jsonCopyRe.FindStringSubmatch(rest); g != nil {
			return route{create: true, checks: []check{
				objectCheck(unescape(g[1]), unescape(g[2]), iam.PermObjectsGet),
				objectCheck(unescape(g[4]), unescape(g[5]), iam.PermObjectsCreate),
			}}
		}
		if b, o, ok := obj(jsonComposeRe); ok {
			return composeRoute(r, b, o)
		}
		if b, o, ok := obj(jsonObjectRe); ok {
			return onObject(objectCheck(b, o, iam.PermObjectsUpdate), kindMetadataUpdate)
		}
	case http.MethodDelete:
		if b, o, ok := obj(jsonACLEntRe); ok {
			return one(objectCheck(b, o, iam.PermObjectsUpdate))
		}
		if b, o, ok := obj(jsonObjectRe); ok {
			return onObject(objectCheck(b, o, iam.PermObjectsDelete), kindOther)
		}
	case http.MethodPut:
		if b, o, ok := obj(jsonACLEntRe); ok {
			return one(objectCheck(b, o, iam.PermObjectsUpdate))
		}
		if b, o, ok := obj(jsonObjectRe); ok {
			return onObject(objectCheck(b, o, iam.PermObjectsUpdate), kindMetadataUpdate)
		}
	}
	// A method fake-gcs-server does not route for objects: the whole rest is the object.
	if b, o, ok := obj(jsonObjectRe); ok {
		return one(objectCheck(b, o, iam.PermObjectsUpdate))
	}
	return one(bucketCheck(adminOnly, "storage.admin"))
}

// insertRoute is an object write through fake-gcs-server's insertObject (media, multipart or
// resumable upload, or a signed upload). The object checked is the one the backend will write,
// taken with its precedence: a JSON resumable start whose body names a bucket uses the body's
// name; a media upload the name parameter; multipart and resumable uploads the name parameter,
// else their JSON metadata (the first multipart part, or the whole body, whatever its content
// type); a signed PUT the path. Any other name the request carries must be the same one, or the
// request is refused. named is the object named in an XML path ("" for none). A request
// continuing a resumable session (upload_id) is checked against the session's object.
func insertRoute(r *http.Request, bucket, named string, create bool) route {
	q := r.URL.Query()
	if id := q.Get("upload_id"); id != "" {
		return route{uploadID: id, checks: []check{objectCheck(bucket, named, iam.PermObjectsCreate)}}
	}
	ut := q.Get("uploadType")
	post := r.Method == http.MethodPost
	rt := route{create: create, resumableInit: post && ut == "resumable"}
	if ut == "" && r.Header.Get("X-Goog-Upload-Protocol") == "resumable" {
		ut = "resumable"
	}
	signed := ut == "" && q.Get("X-Goog-Algorithm") != ""
	var meta string
	var bodyBucket bool
	switch {
	case ut == "multipart":
		meta, rt.problem = multipartName(r)
	case ut == "resumable" || (signed && post):
		meta, bodyBucket, rt.problem = jsonName(r)
		bodyBucket = bodyBucket && post && q.Get("uploadType") == "resumable" &&
			strings.Contains(r.Header.Get("Content-Type"), "application/json")
	}
	var name string
	switch {
	case bodyBucket:
		name = meta
	case ut == "media":
		name = q.Get("name")
	case signed && r.Method == http.MethodPut:
		name = named
	default:
		if name = q.Get("name"); name == "" {
			name = meta
		}
	}
	for _, other := range []string{named, q.Get("name"), meta} {
		if other != "" && other != name && rt.problem == "" {
			rt.problem = "The request names more than one object (path, name parameter and metadata must agree)."
		}
	}
	rt.checks = []check{objectCheck(bucket, name, iam.PermObjectsCreate)}
	return rt
}

// composeRoute is a compose into bucket/dest: storage.objects.get on every source object (named
// in the JSON body) and storage.objects.create on the destination.
func composeRoute(r *http.Request, bucket, dest string) route {
	rt := route{create: true, kind: kindCompose}
	var body struct {
		SourceObjects []struct {
			Name string `json:"name"`
		} `json:"sourceObjects"`
	}
	if r.Body != nil {
		b, err := peekBody(r, maxMetadataBody)
		if err != nil {
			rt.problem = "The request's JSON metadata is larger than 1 MiB."
		} else if len(bytes.TrimSpace(b)) > 0 && json.Unmarshal(b, &body) != nil {
			rt.problem = "The compose request's JSON body is malformed."
		}
	}
	for _, s := range body.SourceObjects {
		rt.checks = append(rt.checks, objectCheck(bucket, s.Name, iam.PermObjectsGet))
	}
	rt.checks = append(rt.checks, objectCheck(bucket, dest, iam.PermObjectsCreate))
	return rt
}

// jsonName returns the name in a request body read as the backend reads resumable metadata (the
// first JSON value, whatever the content type), and whether the body as a whole is a JSON object
// naming a bucket (the backend then takes bucket and name from it). The body stays readable.
func jsonName(r *http.Request) (name string, hasBucket bool, problem string) {
	if r.Body == nil || r.Body == http.NoBody {
		return "", false, ""
	}
	b, err := peekBody(r, maxMetadataBody)
	if err != nil {
		return "", false, "The request's JSON metadata is larger than 1 MiB."
	}
	var first, whole struct {
		Name   string `json:"name"`
		Bucket string `json:"bucket"`
	}
	_ = json.NewDecoder(bytes.NewReader(b)).Decode(&first)
	if json.Unmarshal(b, &whole) == nil && whole.Bucket != "" {
		return whole.Name, true, ""
	}
	return first.Name, false, ""
}

// multipartName returns the name in a multipart upload's first part (its JSON metadata), read as
// the backend reads it: the boundary from the Content-Type's parameters, whatever its type.
func multipartName(r *http.Request) (name string, problem string) {
	if r.Body == nil || r.Body == http.NoBody {
		return "", ""
	}
	b, err := peekBody(r, maxMetadataBody)
	if err != nil && len(b) == 0 {
		return "", "Reading the multipart upload: " + err.Error()
	}
	_, params, _ := mime.ParseMediaType(gsutilBoundary.ReplaceAllString(r.Header.Get("Content-Type"), `boundary="$1"`))
	part, perr := multipart.NewReader(bytes.NewReader(b), params["boundary"]).NextPart()
	if perr != nil {
		if err != nil {
			return "", "The multipart upload's metadata part is larger than 1 MiB."
		}
		return "", "" // the backend refuses a malformed body itself
	}
	meta, rerr := io.ReadAll(part)
	if rerr != nil {
		return "", "The multipart upload's metadata part is larger than 1 MiB or malformed."
	}
	var v struct {
		Name string `json:"name"`
	}
	_ = json.NewDecoder(bytes.NewReader(meta)).Decode(&v)
	return v.Name, ""
}

// gsutilBoundary is fake-gcs-server's rewrite of gsutil's single-quoted multipart boundary.
var gsutilBoundary = regexp.MustCompile(`boundary='([^']*[()<>@,;:"/\[\]?= ]+[^']*)'`)

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
