package gcsauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/cspipe/cspipe/infra/local/httpbuf"
)

// Partial responses. Google's JSON APIs return only the parts of a response that the `fields`
// parameter selects ("nextPageToken,items(name)", "items/name", "*"); fake-gcs-server ignores
// the parameter and sends every object's full resource. The front applies the selection to JSON
// answers, so a caller that counts a listing by name (the workflow's wait_batch, every poll)
// receives and decodes what it would from Cloud Storage, not ten times more.

// fieldMask is a parsed `fields` value: the selected keys, each with its own sub-selection
// (nil: the whole value).
type fieldMask map[string]fieldMask

// parseFields parses a `fields` value.
func parseFields(s string) (fieldMask, error) {
	p := &fieldParser{s: s}
	m, err := p.list()
	if err != nil {
		return nil, err
	}
	if p.i != len(p.s) {
		return nil, fmt.Errorf("unexpected %q at offset %d", p.s[p.i], p.i)
	}
	return m, nil
}

type fieldParser struct {
	s string
	i int
}

// list parses selector (',' selector)* into a mask.
func (p *fieldParser) list() (fieldMask, error) {
	m := fieldMask{}
	for {
		if err := p.selector(m); err != nil {
			return nil, err
		}
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		return m, nil
	}
}

// selector parses name ('/' name)* ['(' list ')'] and merges it into m.
func (p *fieldParser) selector(m fieldMask) error {
	name := p.name()
	if name == "" {
		return fmt.Errorf("expected a field name at offset %d", p.i)
	}
	var sub fieldMask
	switch {
	case p.i < len(p.s) && p.s[p.i] == '/':
		p.i++
		sub = fieldMask{}
		if err := p.selector(sub); err != nil {
			return err
		}
	case p.i < len(p.s) && p.s[p.i] == '(':
		p.i++
		var err error
		if sub, err = p.list(); err != nil {
			return err
		}
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return fmt.Errorf("expected ')' at offset %d", p.i)
		}
		p.i++
	}
	if old, ok := m[name]; ok && (old == nil || sub == nil) {
		m[name] = nil // one selection of the whole value wins
		return nil
	} else if ok {
		for k, v := range sub {
			old[k] = v
		}
		return nil
	}
	m[name] = sub
	return nil
}

func (p *fieldParser) name() string {
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(",/()", rune(p.s[p.i])) {
		p.i++
	}
	return strings.TrimSpace(p.s[start:p.i])
}

// apply keeps the selected parts of v: an object keeps its selected keys, an array applies the
// mask to each element, anything else is kept whole.
func (m fieldMask) apply(v any) any {
	if m == nil {
		return v
	}
	if _, all := m["*"]; all && len(m) == 1 && m["*"] == nil {
		return v
	}
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(m))
		for k, sub := range m {
			if k == "*" {
				for kk, vv := range t {
					if _, ok := out[kk]; !ok {
						out[kk] = sub.apply(vv)
					}
				}
				continue
			}
			if vv, ok := t[k]; ok {
				out[k] = sub.apply(vv)
			}
		}
		return out
	case []any:
		for i := range t {
			t[i] = m.apply(t[i])
		}
		return t
	}
	return v
}

// partialResponse wants the JSON API answer to r cut down to its `fields`: a GET of
// /storage/v1/… that is not a media download.
func partialResponse(r *http.Request) (string, bool) {
	q := r.URL.Query()
	f := q.Get("fields")
	return f, f != "" && r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/storage/v1/") && q.Get("alt") != "media"
}

// serveFields serves r through next and sends the JSON answer cut down to fields; an answer
// that is not a 200 with a JSON body goes out unchanged.
func serveFields(w http.ResponseWriter, r *http.Request, next http.Handler, fields string) {
	mask, err := parseFields(fields)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Invalid field selection "+fields+": "+err.Error(), "invalidParameter")
		return
	}
	rec := httpbuf.New()
	r = r.Clone(r.Context())
	r.Header.Del("Accept-Encoding") // an answer to cut must not come compressed
	next.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	if rec.Status() == http.StatusOK && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err == nil {
			if cut, err := json.Marshal(mask.apply(v)); err == nil {
				body = cut
			}
		}
	}
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Del("Content-Encoding")
	w.WriteHeader(rec.Status())
	_, _ = w.Write(body)
}

// partial serves through next with the answer cut down to fields.
type partial struct {
	next   http.Handler
	fields string
}

func (p partial) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	serveFields(w, r, p.next, p.fields)
}
