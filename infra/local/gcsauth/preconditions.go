package gcsauth

import (
	"net/http"
	"strconv"
)

// Request preconditions on object reads, deletes and metadata updates. fake-gcs-server honours
// ifGenerationMatch and ifGenerationNotMatch only on uploads; everywhere else it ignored them, so
// a delete "if generation is G" removed whatever generation was live, and a conditional read or
// metadata update always went through. Cloud Storage refuses such a request when its precondition
// does not hold (https://cloud.google.com/storage/docs/request-preconditions): 412
// conditionNotMet, or 304 Not Modified for a GET or HEAD whose "not match" condition fails.
//
// The check runs in the front before the backend acts, so it is not atomic with the action: a
// write landing between the two is not seen. That is enough for what a client observes of its own
// requests; the atomic compare-and-swap of uploads stays the backend's.
//
// The metageneration conditions are evaluated against the metageneration the front serves
// (objectrecord.go): 1 for a fresh generation, plus one per metadata update.

// precondition is one condition a request carries: the JSON API's query parameter or, on the
// XML API, its x-goog-if-… header.
type precondition struct {
	param, header string
	meta          bool // compares the metageneration, not the generation
	not           bool // holds when the values differ
}

var objectPreconditions = []precondition{
	{param: "ifGenerationMatch", header: "X-Goog-If-Generation-Match"},
	{param: "ifGenerationNotMatch", not: true},
	{param: "ifMetagenerationMatch", header: "X-Goog-If-Metageneration-Match", meta: true},
	{param: "ifMetagenerationNotMatch", meta: true, not: true},
}

// checkPreconditions evaluates the preconditions of a request on bucket/object (a read, delete or
// metadata update). It returns 0 when the request may proceed (also when the object does not
// exist: the backend then answers 404 as Cloud Storage does), else the status to answer with
// and its message.
func (s *Server) checkPreconditions(r *http.Request, bucket, object string) (int, string, string) {
	q := r.URL.Query()
	type cond struct {
		p    precondition
		want int64
	}
	var conds []cond
	for _, p := range objectPreconditions {
		v := q.Get(p.param)
		if v == "" && p.header != "" {
			v = r.Header.Get(p.header)
		}
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return http.StatusBadRequest, "Invalid argument: " + p.param + " must be an integer.", "invalid"
		}
		conds = append(conds, cond{p, n})
	}
	if len(conds) == 0 {
		return 0, "", ""
	}
	gen, ok := s.liveGeneration(bucket, object, q.Get("generation"))
	if !ok {
		return 0, "", ""
	}
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	meta := int64(1)
	if sv, ok := s.servedFor(bucket, object); ok && sv.generation == gen {
		meta = sv.metageneration
	}
	for _, c := range conds {
		have := gen
		if c.p.meta {
			have = meta
		}
		if (have == c.want) != c.p.not {
			continue
		}
		if read && c.p.not {
			return http.StatusNotModified, "", ""
		}
		return http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold.", "conditionNotMet"
	}
	return 0, "", ""
}

// liveGeneration is the generation of bucket/object the request addresses (the live one, or the
// one its generation parameter names); ok is false when there is none.
func (s *Server) liveGeneration(bucket, object, generation string) (int64, bool) {
	be := s.fake.Backend()
	if generation != "" {
		g, err := strconv.ParseInt(generation, 10, 64)
		if err != nil {
			return 0, false
		}
		o, err := be.GetObjectWithGeneration(bucket, object, g)
		if err != nil {
			return 0, false
		}
		_ = o.Close()
		return o.Generation, true
	}
	o, err := be.GetObject(bucket, object)
	if err != nil {
		return 0, false
	}
	_ = o.Close()
	return o.Generation, true
}
