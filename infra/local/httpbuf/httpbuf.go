// Package httpbuf holds an HTTP handler's answer in memory, so that a wrapper around the handler
// can look at it, change it or drop it before anything reaches the client.
package httpbuf

import (
	"bytes"
	"net/http"
)

// Response is an http.ResponseWriter that keeps the answer. The first status written wins; a
// body written without one is a 200, as net/http does.
type Response struct {
	header http.Header
	code   int
	// Body is what the handler wrote.
	Body bytes.Buffer
}

// New returns an empty Response.
func New() *Response { return &Response{header: http.Header{}} }

// Header implements http.ResponseWriter.
func (r *Response) Header() http.Header { return r.header }

// WriteHeader implements http.ResponseWriter.
func (r *Response) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

// Write implements http.ResponseWriter.
func (r *Response) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.Body.Write(p)
}

// Status is the status written, 200 if the handler wrote none.
func (r *Response) Status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

// Send copies the answer to w: headers, status, then body.
func (r *Response) Send(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.WriteHeader(r.Status())
	_, _ = w.Write(r.Body.Bytes())
}
