package compute

import (
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

// A VM created with scheduling.maxRunDuration and instanceTerminationAction DELETE is deleted by
// Compute when the duration ends, workload and all: launch.yaml relies on it so a VM whose
// delete failed, or whose execution was cancelled or died, is never left running. STOP (the
// default action) stops it instead, leaving a TERMINATED instance.
func TestMaxRunDurationEndsTheVM(t *testing.T) {
	for _, tc := range []struct {
		name, action string
		gone         bool
	}{
		{"delete", "DELETE", true},
		{"stop", "STOP", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &procLauncher{}
			s, c := newClient(t, l)
			res := csInstance("vm-"+tc.name, FamilyDebug, map[string]string{"cmd": "sleep 60"})
			res.Scheduling.MaxRunDuration = &computepb.Duration{Seconds: proto.Int64(1)}
			res.Scheduling.InstanceTerminationAction = proto.String(tc.action)
			if _, err := c.Insert(t.Context(), &computepb.InsertInstanceRequest{Project: "p", Zone: "z", InstanceResource: res}); err != nil {
				t.Fatalf("insert: %v", err)
			}
			waitStatus(t, c, "vm-"+tc.name, StatusRunning)
			deadline := time.Now().Add(10 * time.Second)
			for {
				st := s.Instances()
				switch {
				case tc.gone && len(st) == 0:
					return
				case !tc.gone && len(st) == 1 && st[0].Status == StatusTerminated:
					return
				case time.Now().After(deadline):
					t.Fatalf("instances after maxRunDuration: %+v, want %s", st, tc.action)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
