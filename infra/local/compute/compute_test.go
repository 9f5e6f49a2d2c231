package compute

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"
)

// procLauncher runs a real child process per VM (the command named by metadata "cmd").
type procLauncher struct {
	mu      sync.Mutex
	started map[string]*exec.Cmd
	vms     []VM
	fail    error
}

type procWorkload struct{ cmd *exec.Cmd }

func (p procWorkload) Wait() error { return p.cmd.Wait() }

func (l *procLauncher) Launch(ctx context.Context, vm VM) (Workload, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.vms = append(l.vms, vm)
	if l.fail != nil {
		return nil, l.fail
	}
	args := strings.Fields(vm.Metadata["cmd"])
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	if l.started == nil {
		l.started = map[string]*exec.Cmd{}
	}
	l.started[vm.Name] = cmd
	return procWorkload{cmd}, nil
}

func (l *procLauncher) pid(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.started[name].Process.Pid
}

func newClient(t *testing.T, l Launcher) (*Server, *compute.InstancesClient) {
	t.Helper()
	s, err := Start(Options{Launcher: l, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c, err := compute.NewInstancesRESTClient(t.Context(), option.WithEndpoint(s.URL()), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return s, c
}

func csInstance(name, family string, md map[string]string) *computepb.Instance {
	in := &computepb.Instance{
		Name:                       proto.String(name),
		MachineType:                proto.String("zones/us-central1-a/machineTypes/n2d-standard-2"),
		ConfidentialInstanceConfig: &computepb.ConfidentialInstanceConfig{ConfidentialInstanceType: proto.String("SEV")},
		ShieldedInstanceConfig:     &computepb.ShieldedInstanceConfig{EnableSecureBoot: proto.Bool(true)},
		Scheduling:                 &computepb.Scheduling{OnHostMaintenance: proto.String("TERMINATE")},
		Disks: []*computepb.AttachedDisk{{Boot: proto.Bool(true), AutoDelete: proto.Bool(true),
			InitializeParams: &computepb.AttachedDiskInitializeParams{SourceImage: proto.String("projects/confidential-space-images/global/images/family/" + family)}}},
		ServiceAccounts: []*computepb.ServiceAccount{{Email: proto.String("workload-sa@sec.iam.gserviceaccount.com")}},
		Metadata:        &computepb.Metadata{},
		NetworkInterfaces: []*computepb.NetworkInterface{{Network: proto.String("global/networks/default"),
			AccessConfigs: []*computepb.AccessConfig{{Type: proto.String("ONE_TO_ONE_NAT"), Name: proto.String("External NAT")}}}},
	}
	for k, v := range md {
		in.Metadata.Items = append(in.Metadata.Items, &computepb.Items{Key: proto.String(k), Value: proto.String(v)})
	}
	return in
}

func waitStatus(t *testing.T, c *compute.InstancesClient, name, want string) *computepb.Instance {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		in, err := c.Get(t.Context(), &computepb.GetInstanceRequest{Project: "p", Zone: "z", Instance: name})
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		if in.GetStatus() == want {
			return in
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s status %s, want %s", name, in.GetStatus(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestInsertRunsAndTerminates(t *testing.T) {
	l := &procLauncher{}
	s, c := newClient(t, l)
	op, err := c.Insert(t.Context(), &computepb.InsertInstanceRequest{Project: "p", Zone: "z",
		InstanceResource: csInstance("vm-1", FamilyProduction, map[string]string{"cmd": "sleep 0.3", "tee-restart-policy": "Never"})})
	if err != nil {
		t.Fatalf("insert: %v", err)
	}
	if err := op.Wait(t.Context()); err != nil {
		t.Fatalf("wait: %v", err)
	}
	if !op.Done() {
		t.Fatal("insert operation not done")
	}
	// The insert operation is readable through zoneOperations get and wait, DONE.
	oc, err := compute.NewZoneOperationsRESTClient(t.Context(), option.WithEndpoint(s.URL()), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close()
	got1, err := oc.Get(t.Context(), &computepb.GetZoneOperationRequest{Project: "p", Zone: "z", Operation: op.Name()})
	if err != nil || got1.GetStatus() != computepb.Operation_DONE || got1.GetOperationType() != "insert" {
		t.Fatalf("zoneOperations.get = %v, %v", got1, err)
	}
	got2, err := oc.Wait(t.Context(), &computepb.WaitZoneOperationRequest{Project: "p", Zone: "z", Operation: op.Name()})
	if err != nil || got2.GetStatus() != computepb.Operation_DONE || !strings.HasSuffix(got2.GetTargetLink(), "/instances/vm-1") {
		t.Fatalf("zoneOperations.wait = %v, %v", got2, err)
	}
	if _, err := oc.Get(t.Context(), &computepb.GetZoneOperationRequest{Project: "p", Zone: "z", Operation: "operation-missing"}); err == nil {
		t.Error("an unknown operation was found")
	}
	in := waitStatus(t, c, "vm-1", StatusRunning)
	if in.GetId() == 0 || !strings.HasSuffix(in.GetSelfLink(), "/projects/p/zones/z/instances/vm-1") {
		t.Errorf("instance id %d selfLink %q", in.GetId(), in.GetSelfLink())
	}
	waitStatus(t, c, "vm-1", StatusTerminated)

	want := VM{Project: "p", Zone: "z", Name: "vm-1", ID: in.GetId(), ServiceAccount: "workload-sa@sec.iam.gserviceaccount.com",
		Metadata:    map[string]string{"cmd": "sleep 0.3", "tee-restart-policy": "Never"},
		ImageFamily: FamilyProduction, ConfidentialType: "SEV",
		Network: "projects/p/global/networks/default", Subnetwork: "projects/p/regions/z/subnetworks/default", ExternalIP: true}
	if diff := cmp.Diff([]VM{want}, l.vms); diff != "" {
		t.Errorf("launched VMs (-want +got):\n%s", diff)
	}

	it := c.List(t.Context(), &computepb.ListInstancesRequest{Project: "p", Zone: "z"})
	listed, err := it.Next()
	if err != nil || listed.GetName() != "vm-1" {
		t.Fatalf("list: %v %v", listed.GetName(), err)
	}

	del, err := c.Delete(t.Context(), &computepb.DeleteInstanceRequest{Project: "p", Zone: "z", Instance: "vm-1"})
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := del.Wait(t.Context()); err != nil {
		t.Fatalf("delete wait: %v", err)
	}
	_, err = c.Get(t.Context(), &computepb.GetInstanceRequest{Project: "p", Zone: "z", Instance: "vm-1"})
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != 404 {
		t.Fatalf("get after delete: %v, want 404", err)
	}
	if n := len(s.Instances()); n != 0 {
		t.Errorf("%d instances left", n)
	}
}

func TestDeleteKillsRunningWorkload(t *testing.T) {
	l := &procLauncher{}
	_, c := newClient(t, l)
	op, err := c.Insert(t.Context(), &computepb.InsertInstanceRequest{Project: "p", Zone: "z",
		InstanceResource: csInstance("vm-long", FamilyProduction, map[string]string{"cmd": "sleep 60"})})
	if err != nil {
		t.Fatal(err)
	}
	_ = op.Wait(t.Context())
	waitStatus(t, c, "vm-long", StatusRunning)
	pid := l.pid("vm-long")
	if _, err := c.Delete(t.Context(), &computepb.DeleteInstanceRequest{Project: "p", Zone: "z", Instance: "vm-long"}); err != nil {
		t.Fatal(err)
	}
	// The process was reaped before delete returned: signalling its pid fails.
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("workload process %d still exists after delete", pid)
	}
}

func TestCloseKillsRunningWorkloads(t *testing.T) {
	l := &procLauncher{}
	s, c := newClient(t, l)
	for _, n := range []string{"a", "b"} {
		if _, err := c.Insert(t.Context(), &computepb.InsertInstanceRequest{Project: "p", Zone: "z",
			InstanceResource: csInstance(n, FamilyProduction, map[string]string{"cmd": "sleep 60"})}); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, c, n, StatusRunning)
	}
	pids := []int{l.pid("a"), l.pid("b")}
	s.Close()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("workload process %d still exists after Close", pid)
		}
	}
}

func TestLaunchFailureTerminates(t *testing.T) {
	l := &procLauncher{fail: errors.New("tee-image-reference is not specified in the custom metadata")}
	s, c := newClient(t, l)
	if _, err := c.Insert(t.Context(), &computepb.InsertInstanceRequest{Project: "p", Zone: "z",
		InstanceResource: csInstance("vm-bad", FamilyDebug, nil)}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "vm-bad", StatusTerminated)
	st := s.Instances()
	if len(st) != 1 || !strings.Contains(st[0].LaunchError, "tee-image-reference") || !st[0].VM.Debug() {
		t.Errorf("state = %+v", st)
	}
}

func TestInsertValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*computepb.Instance)
		code   int
		want   string
	}{
		{"not confidential", func(in *computepb.Instance) { in.ConfidentialInstanceConfig = nil }, 400, "confidentialInstanceConfig"},
		{"no secure boot", func(in *computepb.Instance) { in.ShieldedInstanceConfig = nil }, 400, "enableSecureBoot"},
		{"other image", func(in *computepb.Instance) {
			in.Disks[0].InitializeParams.SourceImage = proto.String("projects/debian-cloud/global/images/family/debian-12")
		}, 400, "sourceImage"},
		{"unknown family", func(in *computepb.Instance) {
			in.Disks[0].InitializeParams.SourceImage = proto.String("projects/confidential-space-images/global/images/family/confidential-space-preview")
		}, 400, "sourceImage"},
		{"bad name", func(in *computepb.Instance) { in.Name = proto.String("Bad_Name") }, 400, "resource.name"},
		{"duplicate metadata", func(in *computepb.Instance) {
			in.Metadata.Items = append(in.Metadata.Items, &computepb.Items{Key: proto.String("k"), Value: proto.String("1")},
				&computepb.Items{Key: proto.String("k"), Value: proto.String("2")})
		}, 400, "Duplicate metadata key"},
	}
	l := &procLauncher{}
	_, c := newClient(t, l)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := csInstance("vm-x", FamilyProduction, nil)
			tt.mutate(in)
			_, err := c.Insert(t.Context(), &computepb.InsertInstanceRequest{Project: "p", Zone: "z", InstanceResource: in})
			var gerr *googleapi.Error
			if !errors.As(err, &gerr) || gerr.Code != tt.code || !strings.Contains(gerr.Message, tt.want) {
				t.Fatalf("insert error = %v, want %d mentioning %q", err, tt.code, tt.want)
			}
		})
	}
	if len(l.vms) != 0 {
		t.Errorf("launched %d VMs from invalid requests", len(l.vms))
	}

	// A second insert of the same name is a 409.
	in := csInstance("dup", FamilyProduction, map[string]string{"cmd": "sleep 0.1"})
	if _, err := c.Insert(t.Context(), &computepb.InsertInstanceRequest{Project: "p", Zone: "z", InstanceResource: in}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Insert(t.Context(), &computepb.InsertInstanceRequest{Project: "p", Zone: "z", InstanceResource: in})
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != 409 {
		t.Fatalf("duplicate insert = %v, want 409", err)
	}
}

func TestImageFamily(t *testing.T) {
	tests := []struct {
		src, want string
		ok        bool
	}{
		{"projects/confidential-space-images/global/images/family/confidential-space", FamilyProduction, true},
		{"https://www.googleapis.com/compute/v1/projects/confidential-space-images/global/images/family/confidential-space-debug", FamilyDebug, true},
		{"projects/confidential-space-images/global/images/confidential-space-debug-250800", FamilyDebug, true},
		{"projects/confidential-space-images/global/images/confidential-space-250800", FamilyProduction, true},
		{"projects/evil/global/images/family/confidential-space", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := imageFamily(tt.src)
		if got != tt.want || ok != tt.ok {
			t.Errorf("imageFamily(%q) = %q, %v; want %q, %v", tt.src, got, ok, tt.want, tt.ok)
		}
	}
}
