package compute

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"
)

// Networks are validated like Compute does: one that does not exist is Google's 404, a
// custom-mode network needs a subnetwork, and the VM learns whether it can reach Google's APIs
// (an external IP, or Private Google Access on its subnetwork).
func TestInsertNetworks(t *testing.T) {
	nets := []Network{
		{Name: "default", Auto: true},
		{Name: "vpc-a", Subnetworks: []Subnetwork{{Region: "europe-west4", Name: "pga", PrivateGoogleAccess: true}, {Region: "europe-west4", Name: "closed"}}},
		{Project: "host", Name: "shared", Subnetworks: []Subnetwork{{Region: "europe-west4", Name: "ws", PrivateGoogleAccess: true}}},
	}
	l := &procLauncher{}
	s, err := Start(Options{Launcher: l, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Networks: nets})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c, err := compute.NewInstancesRESTClient(t.Context(), option.WithEndpoint(s.URL()), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	nat := []*computepb.AccessConfig{{Type: proto.String("ONE_TO_ONE_NAT"), Name: proto.String("External NAT")}}
	tests := []struct {
		name     string
		nic      *computepb.NetworkInterface
		code     int
		wantErr  string
		want     VM // Network, Subnetwork, ExternalIP, Isolated
		noLaunch bool
	}{
		{"default network with external IP", &computepb.NetworkInterface{Network: proto.String("global/networks/default"), AccessConfigs: nat}, 0, "",
			VM{Network: "projects/sec/global/networks/default", Subnetwork: "projects/sec/regions/europe-west4/subnetworks/default", ExternalIP: true}, false},
		{"default network, no external IP: no Private Google Access", &computepb.NetworkInterface{Network: proto.String("global/networks/default")}, 0, "",
			VM{Network: "projects/sec/global/networks/default", Subnetwork: "projects/sec/regions/europe-west4/subnetworks/default", Isolated: true}, false},
		{"custom subnetwork with Private Google Access", &computepb.NetworkInterface{Network: proto.String("global/networks/vpc-a"),
			Subnetwork: proto.String("regions/europe-west4/subnetworks/pga")}, 0, "",
			VM{Network: "projects/sec/global/networks/vpc-a", Subnetwork: "projects/sec/regions/europe-west4/subnetworks/pga"}, false},
		{"custom subnetwork without it", &computepb.NetworkInterface{Network: proto.String("global/networks/vpc-a"),
			Subnetwork: proto.String("regions/europe-west4/subnetworks/closed")}, 0, "",
			VM{Network: "projects/sec/global/networks/vpc-a", Subnetwork: "projects/sec/regions/europe-west4/subnetworks/closed", Isolated: true}, false},
		{"shared VPC by full URL", &computepb.NetworkInterface{Network: proto.String("https://www.googleapis.com/compute/v1/projects/host/global/networks/shared"),
			Subnetwork: proto.String("projects/host/regions/europe-west4/subnetworks/ws")}, 0, "",
			VM{Network: "projects/host/global/networks/shared", Subnetwork: "projects/host/regions/europe-west4/subnetworks/ws"}, false},
		{"network that does not exist", &computepb.NetworkInterface{Network: proto.String("global/networks/nope")}, 404,
			"The resource 'projects/sec/global/networks/nope' was not found", VM{}, true},
		{"subnetwork that does not exist", &computepb.NetworkInterface{Network: proto.String("global/networks/vpc-a"),
			Subnetwork: proto.String("regions/europe-west4/subnetworks/nope")}, 404,
			"The resource 'projects/sec/regions/europe-west4/subnetworks/nope' was not found", VM{}, true},
		{"custom-mode network without a subnetwork", &computepb.NetworkInterface{Network: proto.String("global/networks/vpc-a")}, 400,
			"Subnetwork should be specified for custom subnetmode network", VM{}, true},
		{"subnetwork in another region", &computepb.NetworkInterface{Network: proto.String("global/networks/vpc-a"),
			Subnetwork: proto.String("regions/us-central1/subnetworks/pga")}, 400, "same region", VM{}, true},
		{"malformed network", &computepb.NetworkInterface{Network: proto.String("networks/default")}, 400, "The URL is malformed", VM{}, true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := csInstance("vm-"+string(rune('a'+i)), FamilyProduction, map[string]string{"cmd": "true"})
			in.NetworkInterfaces = []*computepb.NetworkInterface{tc.nic}
			before := len(l.launched())
			_, err := c.Insert(t.Context(), &computepb.InsertInstanceRequest{Project: "sec", Zone: "europe-west4-a", InstanceResource: in})
			if tc.code != 0 {
				time.Sleep(50 * time.Millisecond)
				var gerr *googleapi.Error
				if !errors.As(err, &gerr) || gerr.Code != tc.code || !strings.Contains(gerr.Message, tc.wantErr) {
					t.Fatalf("insert error = %v, want %d mentioning %q", err, tc.code, tc.wantErr)
				}
				if len(l.launched()) != before {
					t.Error("a refused instance was launched")
				}
				return
			}
			if err != nil {
				t.Fatalf("insert: %v", err)
			}
			vms := l.waitLaunched(t, before+1)
			got := vms[len(vms)-1]
			got = VM{Network: got.Network, Subnetwork: got.Subnetwork, ExternalIP: got.ExternalIP, Isolated: got.Isolated}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("network of the launched VM (-want +got)\n%s", diff)
			}
		})
	}
	// A project under compute.skipDefaultNetworkCreation has no default network.
	none, err := Start(Options{Launcher: l, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Networks: []Network{}})
	if err != nil {
		t.Fatal(err)
	}
	defer none.Close()
	nc, err := compute.NewInstancesRESTClient(t.Context(), option.WithEndpoint(none.URL()), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_, err = nc.Insert(t.Context(), &computepb.InsertInstanceRequest{Project: "sec", Zone: "europe-west4-a", InstanceResource: csInstance("vm-z", FamilyProduction, nil)})
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != 404 || !strings.Contains(gerr.Message, "networks/default' was not found") {
		t.Errorf("insert without a default network = %v, want Google's 404", err)
	}
}

func (l *procLauncher) launched() []VM {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]VM(nil), l.vms...)
}

func (l *procLauncher) waitLaunched(t *testing.T, n int) []VM {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if vms := l.launched(); len(vms) >= n {
			return vms
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d VMs launched", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
