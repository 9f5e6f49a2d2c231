package compute

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/cspipe/cspipe/infra/local/iam"
	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"
)

// TestInsertNeedsPermissionAndActAs: instances.insert needs compute.instances.create on the
// instance AND iam.serviceAccounts.actAs on the VM's service account, as on Compute Engine.
func TestInsertNeedsPermissionAndActAs(t *testing.T) {
	ids, err := iam.New(iam.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ids.Close)
	l := &procLauncher{}
	s, err := Start(Options{Launcher: l, IAM: ids, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	const workloadSA, primusSA = "workload-sa@p.iam.gserviceaccount.com", "primus-sa@primus.iam.gserviceaccount.com"
	wf := iam.ServiceAccount("workflow@p.iam.gserviceaccount.com")
	if err := ids.GrantIf(iam.Project("p"), wf, "roles/compute.instanceAdmin.v1", iam.Condition{Title: "cspipe-vms-only",
		Expression: `resource.type != "compute.googleapis.com/Instance" || resource.name.extract("/instances/{name}").startsWith("cspipe-")`}); err != nil {
		t.Fatal(err)
	}
	if err := ids.Grant(iam.ServiceAccountResource("p", workloadSA).Name, wf, "roles/iam.serviceAccountUser"); err != nil {
		t.Fatal(err)
	}
	client := func(token string) *compute.InstancesClient {
		opts := []option.ClientOption{option.WithEndpoint(s.URL())}
		if token == "" {
			opts = append(opts, option.WithoutAuthentication())
		} else {
			opts = append(opts, option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token})))
		}
		c, err := compute.NewInstancesRESTClient(t.Context(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	withSA := func(name, email string) *computepb.Instance {
		in := csInstance(name, FamilyProduction, map[string]string{"cmd": "true"})
		in.ServiceAccounts = []*computepb.ServiceAccount{{Email: proto.String(email)}}
		return in
	}
	insert := func(c *compute.InstancesClient, in *computepb.Instance) error {
		_, err := c.Insert(t.Context(), &computepb.InsertInstanceRequest{Project: "p", Zone: "z", InstanceResource: in})
		return err
	}
	wfc := client(ids.MintAccessToken(wf))
	tests := []struct {
		name string
		c    *compute.InstancesClient
		in   *computepb.Instance
		code int
		msg  string
	}{
		{"anonymous", client(""), withSA("cspipe-a", workloadSA), 401, "Request is missing required authentication credential"},
		{"forged token", client("ya29.forged"), withSA("cspipe-b", workloadSA), 401, "Request had invalid authentication credentials"},
		{"no compute role", client(ids.MintAccessToken(iam.User("eve@p.example"))), withSA("cspipe-c", workloadSA), 403,
			"Required 'compute.instances.create' permission for 'projects/p/zones/z/instances/cspipe-c'"},
		{"outside the condition", wfc, withSA("evil-d", workloadSA), 403, "Required 'compute.instances.create' permission for 'projects/p/zones/z/instances/evil-d'"},
		{"Primus's account", wfc, withSA("cspipe-e", primusSA), 400,
			"The user does not have access to service account '" + primusSA + "'.  User: 'workflow@p.iam.gserviceaccount.com'.  Ask a project owner to grant you the iam.serviceAccountUser role on the service account"},
		{"allowed", wfc, withSA("cspipe-f", workloadSA), 0, ""},
	}
	for _, tt := range tests {
		err := insert(tt.c, tt.in)
		if tt.code == 0 {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var gerr *googleapi.Error
		if !errors.As(err, &gerr) || gerr.Code != tt.code || !strings.Contains(gerr.Message, tt.msg) {
			t.Errorf("%s: error %v, want %d %q", tt.name, err, tt.code, tt.msg)
		}
	}
	if got := s.Instances(); len(got) != 1 || got[0].Name != "cspipe-f" {
		t.Errorf("instances %+v, want only the allowed one", got)
	}
	if _, err := wfc.Get(t.Context(), &computepb.GetInstanceRequest{Project: "p", Zone: "z", Instance: "cspipe-f"}); err != nil {
		t.Errorf("get: %v", err)
	}
	_, err = client("").Get(t.Context(), &computepb.GetInstanceRequest{Project: "p", Zone: "z", Instance: "cspipe-f"})
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != http.StatusUnauthorized {
		t.Errorf("anonymous get: %v, want 401", err)
	}
}
