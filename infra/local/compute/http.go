package compute

import (
	"encoding/json"
	"io"
	"net/http"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/cspipe/cspipe/infra/local/iam"
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
		who, ok := s.caller(w, r)
		if !ok || !s.permitted(w, who, iam.InstanceResource(r.PathValue("project"), r.PathValue("zone"), in.GetName()), iam.PermInstancesCreate) {
			return
		}
		var accounts []string
		for _, sa := range in.GetServiceAccounts() {
			accounts = append(accounts, sa.GetEmail())
		}
		if !s.mayActAs(w, who, accounts) {
			return
		}
		op, aerr := s.insert(r.PathValue("project"), r.PathValue("zone"), &in)
		reply(w, op, aerr)
	})
	mux.HandleFunc("GET "+zone+"/instances", func(w http.ResponseWriter, r *http.Request) {
		project := r.PathValue("project")
		res := iam.Resource{Name: iam.Project(project), Type: "compute.googleapis.com/Project", Service: "compute.googleapis.com"}
		if !s.allow(w, r, res, iam.PermInstancesList) {
			return
		}
		reply(w, s.list(r.PathValue("project"), r.PathValue("zone")), nil)
	})
	mux.HandleFunc("GET "+zone+"/instances/{name}", func(w http.ResponseWriter, r *http.Request) {
		if !s.allow(w, r, iam.InstanceResource(r.PathValue("project"), r.PathValue("zone"), r.PathValue("name")), iam.PermInstancesGet) {
			return
		}
		in, aerr := s.get(r.PathValue("project"), r.PathValue("zone"), r.PathValue("name"))
		reply(w, in, aerr)
	})
	mux.HandleFunc("DELETE "+zone+"/instances/{name}", func(w http.ResponseWriter, r *http.Request) {
		if !s.allow(w, r, iam.InstanceResource(r.PathValue("project"), r.PathValue("zone"), r.PathValue("name")), iam.PermInstancesDelete) {
			return
		}
		op, aerr := s.delete(r.PathValue("project"), r.PathValue("zone"), r.PathValue("name"))
		reply(w, op, aerr)
	})
	opHandler := func(w http.ResponseWriter, r *http.Request) {
		res := iam.Resource{Name: "projects/" + r.PathValue("project") + "/zones/" + r.PathValue("zone") + "/operations/" + r.PathValue("op"),
			Type: "compute.googleapis.com/Operation", Service: "compute.googleapis.com", Parents: []string{iam.Project(r.PathValue("project"))}}
		if !s.allow(w, r, res, iam.PermZoneOperationsGet) {
			return
		}
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

// allow authenticates r and checks permission on res.
func (s *Server) allow(w http.ResponseWriter, r *http.Request, res iam.Resource, permission string) bool {
	who, ok := s.caller(w, r)
	return ok && s.permitted(w, who, res, permission)
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
