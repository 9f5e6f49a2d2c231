package stack

import (
	"context"
	"time"

	"github.com/cspipe/cspipe/functions/pinimage"
	"github.com/cspipe/cspipe/functions/publishresults"
	"github.com/cspipe/cspipe/functions/schedulerun"
	"github.com/cspipe/cspipe/infra/local/eventarc"
	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/cspipe/cspipe/internal/batch/computevms"
	"github.com/cspipe/cspipe/internal/batch/workflowexec"
	"github.com/cspipe/cspipe/internal/pin"
	"github.com/cspipe/cspipe/internal/publish/pubsubtopic"
	"golang.org/x/oauth2"
	iamv1 "google.golang.org/api/iam/v1"
	"google.golang.org/api/option"
)

// PinPointer is where PinWorkloadImage keeps the latest pin; ScheduleRun reads it (Primus shares
// it with Secundus's functions).
var PinPointer = "gs://" + AuditBucket + "/pins/latest.json"

func (s *Stack) pinFunction(ctx context.Context) (function, error) {
	fn := function{name: pinimage.EntryPoint, trigger: eventarc.Trigger{
		Name: "pin-workload-image", Project: Primus.ID, Topic: "projects/" + Primus.ID + "/topics/" + GCRTopic}, timeout: pinimage.Timeout}
	svc, err := iamv1.NewService(ctx, option.WithEndpoint(s.IAM.URL()),
		option.WithTokenSource(s.TokenSource(iam.ServiceAccount(PrimusFunctionsSA))))
	if err != nil {
		return fn, err
	}
	store, err := s.storeFor(ctx, PrimusFunctionsSA)
	if err != nil {
		return fn, err
	}
	f, err := pinimage.New(s.pinConfig(), pinimage.Deps{Provider: pin.NewIAMProvider(svc, ProviderName()), Store: store,
		Registry: s.pinRegistry(), Log: s.log.With("function", pinimage.EntryPoint)})
	if err != nil {
		return fn, err
	}
	fn.handle = f.Handle
	return fn, nil
}

func (s *Stack) scheduleRunFunction(ctx context.Context) (function, error) {
	fn := function{name: schedulerun.EntryPoint, trigger: storageTrigger("schedule-run", InputBucket), timeout: schedulerun.Timeout}
	store, err := s.storeFor(ctx, SecundusFunctionsSA)
	if err != nil {
		return fn, err
	}
	ec, err := s.executionsClientAs(ctx, iam.ServiceAccount(SecundusFunctionsSA))
	if err != nil {
		return fn, err
	}
	s.defer_(func() { ec.Close() })
	// The sweeper deletes VMs that ended runs left, as ScheduleRun's account (the grant is
	// Terraform's cspipeVmReaper: get and delete on cspipe-… instances).
	vms, err := computevms.New(oauth2.NewClient(context.Background(), s.TokenSource(iam.ServiceAccount(SecundusFunctionsSA))),
		s.Compute.URL()+"/compute/v1", Secundus.ID, Zone)
	if err != nil {
		return fn, err
	}
	f, err := schedulerun.New(schedulerun.Config{
		InputBucket: InputBucket, StateBucket: StateBucket, BatchQuiet: s.opts.BatchQuiet, BatchMaxWait: s.opts.BatchMaxWait,
		BatchMaxItems: s.opts.BatchMaxItems, ImagesPerShard: s.opts.ImagesPerShard, MaxShards: s.opts.MaxShards,
		StartLease: 2 * time.Minute,
		Workflow:   WorkflowParent(), Project: Secundus.ID, Zone: Zone, MachineType: "n2d-standard-2",
		WorkloadServiceAccount: WorkloadSA, ResultsBucket: ResultsBucket,
		Model: "gs://" + ModelBucket + "/" + ModelObject, WIPProvider: ProviderName(), PrimusServiceAccount: PrimusSA,
		RunTimeout: 10 * time.Minute, PinPointer: PinPointer,
		ExecutionsEndpoint: s.executionsAddr, ComputeEndpoint: s.Compute.URL() + "/compute/v1",
		StorageEndpoint: s.GCS.URL(), WorkloadStorageEndpoint: s.GCS.JSONEndpoint(),
		STSEndpoint: s.IAM.URL(), IAMCredentialsEndpoint: s.IAM.URL(), Network: "default", ExternalIP: true,
		MaxEventAge: 24 * time.Hour,
	}, schedulerun.Deps{Store: store, Executions: workflowexec.New(ec), VMs: vms, Log: s.log.With("function", schedulerun.EntryPoint)})
	if err != nil {
		return fn, err
	}
	fn.handle = f.Handle
	s.scheduleRun = f
	return fn, nil
}

// startSweeper runs ScheduleRun's sweeper once the triggers are wired (a restart finds the runs
// that died with the last stack, and their failed summaries reach the topic) and every
// SweepEvery until the stack closes, as SweepRuns' Cloud Scheduler tick does on Google Cloud.
func (s *Stack) startSweeper(f *schedulerun.Function) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.opts.SweepEvery)
		defer t.Stop()
		for {
			// Each sweep gets SweepRuns' deployed deadline, as one Cloud Scheduler tick's invocation.
			sctx, scancel := context.WithTimeout(ctx, schedulerun.SweepTimeout)
			_, _ = f.Sweep(sctx) // logged by the function
			scancel()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	s.defer_(func() { cancel(); <-done })
}

func (s *Stack) publishResultsFunction(ctx context.Context) (function, error) {
	fn := function{name: publishresults.EntryPoint, trigger: storageTrigger("publish-results", ResultsBucket), timeout: publishresults.Timeout}
	store, err := s.storeFor(ctx, SecundusFunctionsSA)
	if err != nil {
		return fn, err
	}
	pc, err := s.pubsubAs(ctx, iam.ServiceAccount(SecundusFunctionsSA))
	if err != nil {
		return fn, err
	}
	p := pc.Publisher("projects/" + Secundus.ID + "/topics/" + ResultsTopic)
	s.defer_(p.Stop)
	f, err := publishresults.New(publishresults.Config{
		ResultsBucket: ResultsBucket, Project: Secundus.ID, ResultsTopic: ResultsTopic,
		PublishChunk: 100, PublishLease: 2 * time.Minute, MaxEventAge: 24 * time.Hour,
	}, publishresults.Deps{Store: store, Topic: pubsubtopic.New(p), Log: s.log.With("function", publishresults.EntryPoint)})
	if err != nil {
		return fn, err
	}
	fn.handle = f.Handle
	return fn, nil
}
