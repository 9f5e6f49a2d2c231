package batch

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// VMs reads and deletes Compute Engine instances in the zone runs are launched in. The sweeper
// uses it to delete the VMs a run left behind (a delete that failed in the workflow, an execution
// that was cancelled or died). The production implementation is package computevms.
type VMs interface {
	// Get returns the instance called name, or an error wrapping ErrVMNotFound.
	Get(ctx context.Context, name string) (VM, error)
	// Delete deletes the instance called name; an error wrapping ErrVMNotFound means it is gone
	// already (deleted by an earlier attempt whose answer was lost, or by Compute itself).
	Delete(ctx context.Context, name string) error
}

// VM is what the sweeper needs to know about an instance.
type VM struct {
	Name   string
	Status string
	// Metadata holds the instance's metadata items (tee-env-CSPIPE_RUN_ID, …).
	Metadata map[string]string
}

// ErrVMNotFound is returned by VMs for an instance that does not exist (Compute's 404).
var ErrVMNotFound = errors.New("instance not found")

// Metadata keys launch.yaml gives every VM; the sweeper deletes a VM only if both are its run's.
const (
	vmRunIDKey = "tee-env-CSPIPE_RUN_ID"
	vmShardKey = "tee-env-CSPIPE_SHARD_INDEX"
)

var vmNameUnsafe = regexp.MustCompile(`[^a-z0-9-]`)

// VMName is the name launch.yaml gives shard's VM of run runID (read_config's name_prefix):
// "cspipe-" + the run id lower-cased with every other character than [a-z0-9-] replaced by "-",
// cut to 48 characters, + "-" + the shard index.
func VMName(runID string, shard int) string {
	rid := vmNameUnsafe.ReplaceAllString(strings.ToLower(runID), "-")
	if len(rid) > 48 {
		rid = rid[:48]
	}
	return "cspipe-" + rid + "-" + strconv.Itoa(shard)
}

// reap deletes the VMs of a batch's run that still exist: one per shard of plan.json (else 1),
// by the name launch.yaml gave it, and only if its metadata names this run and shard (a VM of
// another run is left alone). A VM that is gone already is skipped. Call it only when the run's
// execution will do nothing more.
func (s *Scheduler) reap(ctx context.Context, batchID string, rep *SweepReport) error {
	if s.opt.VMs == nil {
		return nil
	}
	count := 1
	if p, err := s.readPlan(ctx, batchID); err != nil {
		return err
	} else if p != nil && p.ShardCount > 1 {
		count = p.ShardCount
	}
	runID := RunID(batchID)
	var errs []error
	for shard := range count {
		name := VMName(runID, shard)
		vm, err := s.opt.VMs.Get(ctx, name)
		if errors.Is(err, ErrVMNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("reading VM %s: %w", name, err))
			continue
		}
		if vm.Metadata[vmRunIDKey] != runID || vm.Metadata[vmShardKey] != strconv.Itoa(shard) {
			rep.ForeignVMs = append(rep.ForeignVMs, name)
			continue
		}
		err = s.opt.VMs.Delete(ctx, name)
		switch {
		case err == nil:
			rep.DeletedVMs = append(rep.DeletedVMs, name)
		case errors.Is(err, ErrVMNotFound):
			// Deleted meanwhile (by Compute's maxRunDuration, or a delete whose answer was lost).
		default:
			errs = append(errs, fmt.Errorf("deleting VM %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
