package computevms

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cspipe/cspipe/internal/batch"
)

func TestGetDelete(t *testing.T) {
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls = append(calls, r.Method+" "+r.URL.EscapedPath())
		switch {
		case strings.HasSuffix(r.URL.Path, "/instances/gone"):
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":404,"message":"The resource 'gone' was not found"}}`))
		case strings.HasSuffix(r.URL.Path, "/instances/denied"):
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error":{"code":403,"message":"Required 'compute.instances.delete' permission for 'projects/p/zones/z/instances/denied'"}}`))
		case r.Method == http.MethodGet:
			_, _ = w.Write([]byte(`{"name":"cspipe-r-0","status":"RUNNING","metadata":{"items":[{"key":"tee-env-CSPIPE_RUN_ID","value":"r"},{"key":"empty"}]}}`))
		default:
			_, _ = w.Write([]byte(`{"kind":"compute#operation","name":"op-1","status":"RUNNING"}`))
		}
	}))
	defer srv.Close()
	c, err := New(srv.Client(), srv.URL+"/compute/v1/", "p", "z")
	if err != nil {
		t.Fatal(err)
	}
	vm, err := c.Get(t.Context(), "cspipe-r-0")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(batch.VM{Name: "cspipe-r-0", Status: "RUNNING", Metadata: map[string]string{"tee-env-CSPIPE_RUN_ID": "r"}}, vm); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
	if err := c.Delete(t.Context(), "cspipe-r-0"); err != nil {
		t.Errorf("Delete: %v", err)
	}
	if _, err := c.Get(t.Context(), "gone"); !errors.Is(err, batch.ErrVMNotFound) {
		t.Errorf("Get of a missing VM: %v, want ErrVMNotFound", err)
	}
	if err := c.Delete(t.Context(), "gone"); !errors.Is(err, batch.ErrVMNotFound) {
		t.Errorf("Delete of a missing VM: %v, want ErrVMNotFound", err)
	}
	if err := c.Delete(t.Context(), "denied"); err == nil || errors.Is(err, batch.ErrVMNotFound) ||
		!strings.Contains(err.Error(), "HTTP 403: Required 'compute.instances.delete' permission") {
		t.Errorf("Delete refused: %v, want the 403 with Google's message", err)
	}
	want := []string{"GET /compute/v1/projects/p/zones/z/instances/cspipe-r-0", "DELETE /compute/v1/projects/p/zones/z/instances/cspipe-r-0",
		"GET /compute/v1/projects/p/zones/z/instances/gone", "DELETE /compute/v1/projects/p/zones/z/instances/gone",
		"DELETE /compute/v1/projects/p/zones/z/instances/denied"}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}
