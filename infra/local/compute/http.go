package compute

import (
	"encoding/json"
	"io"
	"net/http"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// apiError is a Compute error response.
type apiError struct {
	Code    int
	Reason  string
	Message string
}

func badRequest(msg string) *apiError { return &apiError{http.StatusBadRequest, "invalid", msg} }
func notFound(msg string) *apiError   { return &apiError{http.StatusNotFound, "notFound", msg} }
func conflict(msg string) *apiError   { return &apiError{http.StatusConflict, "alreadyExists", msg} }

func (e *apiError) write(w http.ResponseWriter) {
	type item struct {
		Message string `json:"message"`
		Domain  string `json:"domain"`
		Reason  string `json:"reason"`
	}
	body := map[string]any{"error": map[string]any{
		"code": e.Code, "message": e.Message,
		"errors": []item{{Message: e.Message, Domain: "global", Reason: e.Reason}},
	}}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(e.Code)
	_ = json.NewEncoder(w).Encode(body)
}

const maxBody = 1 << 20

// Handler serves the API under /compute/v1/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	const zone = "/compute/v1/projects/{project}/zones/{zone}"
	mux.HandleFunc("POST "+zone+"/instances", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			badRequest("reading request body: " + err.Error()).write(w)
			return
		}
		var in computepb.Instance
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &in); err != nil {
			badRequest("Invalid JSON payload received. " + err.Error()).write(w)
			return
		}
		op, aerr := s.insert(r.PathValue("project"), r.PathValue("zone"), &in)
		reply(w, op, aerr)
	})
	mux.HandleFunc("GET "+zone+"/instances", func(w http.ResponseWriter, r *http.Request) {
		reply(w, s.list(r.PathValue("project"), r.PathValue("zone")), nil)
	})
	mux.HandleFunc("GET "+zone+"/instances/{name}", func(w http.ResponseWriter, r *http.Request) {
		in, aerr := s.get(r.PathValue("project"), r.PathValue("zone"), r.PathValue("name"))
		reply(w, in, aerr)
	})
	mux.HandleFunc("DELETE "+zone+"/instances/{name}", func(w http.ResponseWriter, r *http.Request) {
		op, aerr := s.delete(r.PathValue("project"), r.PathValue("zone"), r.PathValue("name"))
		reply(w, op, aerr)
	})
	opHandler := func(w http.ResponseWriter, r *http.Request) {
		op, aerr := s.operation(r.PathValue("project"), r.PathValue("zone"), r.PathValue("op"))
		reply(w, op, aerr)
	}
	mux.HandleFunc("GET "+zone+"/operations/{op}", opHandler)
	mux.HandleFunc("POST "+zone+"/operations/{op}/wait", opHandler)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		notFound("The requested URL " + r.URL.Path + " was not found on this local Compute Engine (only instances and zoneOperations are served).").write(w)
	})
	return mux
}

// reply writes m as protojson (camelCase, 64-bit integers as strings, as Compute does) or aerr.
func reply(w http.ResponseWriter, m proto.Message, aerr *apiError) {
	if aerr != nil {
		aerr.write(w)
		return
	}
	b, err := protojson.Marshal(m)
	if err != nil {
		(&apiError{http.StatusInternalServerError, "backendError", err.Error()}).write(w)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(b)
}
