package stack

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"golang.org/x/oauth2"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"

	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/cspipe/cspipe/internal/batch"
	"github.com/cspipe/cspipe/internal/batch/computevms"
)

// operatorVM creates a Confidential Space VM as the local operator, with the run metadata
// launch.yaml gives a shard's VM (its image cannot be pulled, so it ends TERMINATED, and stays
// until someone deletes it, as on Compute Engine).
func operatorVM(t *testing.T, s *Stack, name, runID string) {
	t.Helper()
	c, err := compute.NewInstancesRESTClient(t.Context(), option.WithEndpoint(s.Compute.URL()),
		option.WithTokenSource(s.TokenSource(iam.User(LocalOperator))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	md := map[string]string{"tee-image-reference": s.SecundusRepository() + "@sha256:" + strings.Repeat("0", 64),
		"tee-restart-policy": "Never", "tee-env-CSPIPE_RUN_ID": runID, "tee-env-CSPIPE_SHARD_INDEX": "0"}
	in := &computepb.Instance{
		Name:                       proto.String(name),
		MachineType:                proto.String("zones/" + Zone + "/machineTypes/n2d-standard-2"),
		ConfidentialInstanceConfig: &computepb.ConfidentialInstanceConfig{ConfidentialInstanceType: proto.String("SEV")},
		ShieldedInstanceConfig:     &computepb.ShieldedInstanceConfig{EnableSecureBoot: proto.Bool(true)},
		Scheduling:                 &computepb.Scheduling{OnHostMaintenance: proto.String("TERMINATE")},
		Disks: []*computepb.AttachedDisk{{Boot: proto.Bool(true), AutoDelete: proto.Bool(true),
			InitializeParams: &computepb.AttachedDiskInitializeParams{SourceImage: proto.String("projects/confidential-space-images/global/images/family/confidential-space")}}},
		ServiceAccounts: []*computepb.ServiceAccount{{Email: proto.String(WorkloadSA)}},
		Metadata:        &computepb.Metadata{},
		NetworkInterfaces: []*computepb.NetworkInterface{{Network: proto.String("global/networks/default"),
			AccessConfigs: []*computepb.AccessConfig{{Type: proto.String("ONE_TO_ONE_NAT"), Name: proto.String("External NAT")}}}},
	}
	for k, v := range md {
		in.Metadata.Items = append(in.Metadata.Items, &computepb.Items{Key: proto.String(k), Value: proto.String(v)})
	}
	if _, err := c.Insert(t.Context(), &computepb.InsertInstanceRequest{Project: Secundus.ID, Zone: Zone, InstanceResource: in}); err != nil {
		t.Fatalf("inserting %s: %v", name, err)
	}
}

func vmExists(s *Stack, name string) bool {
	for _, in := range s.Compute.Instances() {
		if in.Name == name {
			return true
		}
	}
	return false
}

// TestSweeperDeletesVMOfDeadRun: a run's execution is gone while its VM is still there (the
// stack, or Workflows, lost the execution before its cleanup). The sweeper fails the run and
// deletes the VM as ScheduleRun's account, whose grant (Terraform's cspipeVmReaper) covers
// cspipe-… instances only: Compute refuses it any other VM.
func TestSweeperDeletesVMOfDeadRun(t *testing.T) {
	s, err := Start(t.Context(), Options{SweepEvery: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const id = "20261129-100000-1"
	runID := batch.RunID(id)
	vm := batch.VMName(runID, 0)
	operatorVM(t, s, vm, runID)
	operatorVM(t, s, "operator-own-vm", runID)

	put := func(name string, v any) {
		b, _ := json.Marshal(v)
		s.GCS.Fake().CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: StateBucket, Name: name, ContentType: "application/json"}, Content: b})
	}
	put(batch.RunObject(id), batch.RunRecord{BatchID: id, RunID: runID, State: batch.RunStarted, Attempt: 1,
		Execution: WorkflowParent() + "/executions/lost", StartedAt: time.Now().UTC()})
	put(batch.HeadObject(), batch.Head{BatchID: id, Seq: 1, State: batch.HeadSealed, OpenedAt: time.Now().Add(-time.Minute).UTC(), Unfinished: []string{id}})

	for deadline := time.Now().Add(30 * time.Second); vmExists(s, vm); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the sweeper left %s of the dead run %s", vm, runID)
		}
	}
	if !vmExists(s, "operator-own-vm") {
		t.Error("the sweeper deleted a VM that is not named as a run's")
	}

	// The sweeper's identity may read and delete cspipe-… VMs only.
	hc := oauth2.NewClient(t.Context(), s.TokenSource(iam.ServiceAccount(SecundusFunctionsSA)))
	c, err := computevms.New(hc, s.Compute.URL()+"/compute/v1", Secundus.ID, Zone)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Delete(t.Context(), "operator-own-vm")
	if want := "HTTP 403: Required 'compute.instances.delete' permission for 'projects/" + Secundus.ID + "/zones/" + Zone + "/instances/operator-own-vm'"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("sweeper deleting another VM: %v, want %s", err, want)
	}
}
