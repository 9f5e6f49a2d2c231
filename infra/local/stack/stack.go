// Package stack wires cspipe's local stand-ins into one embedded stack on free loopback ports:
// Pub/Sub (pstest), Cloud Storage (fake-gcs-server behind bucket IAM), IAM (STS, IAM Credentials,
// WIP providers), the attestation verifier, Artifact Registry, Compute Engine with the Confidential
// Space launcher, Workflows (engine + executions gRPC), Eventarc, and the four Cloud Functions
// served in-process as CloudEvent HTTP handlers.
//
// It creates the two "projects" of the codelab: Primus (model and audit buckets, the workload
// image repository, the WIP pool and provider whose initial condition admits nothing until an
// image is pinned, primus-sa with objectViewer on the model bucket and workloadIdentityUser for the
// pool's principalSet) and Secundus (input and results buckets, workload-sa, the results topic
// with a subscription). `cspipe demo` and `cspipe local up` use it, and so do the end-to-end tests.
//
// It is for development, demos and tests, and must never be linked into a binary built for GCP.
package stack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"cloud.google.com/go/storage"
	"github.com/cspipe/cspipe/functions/schedulerun"
	"github.com/cspipe/cspipe/infra/local/attest"
	"github.com/cspipe/cspipe/infra/local/compute"
	"github.com/cspipe/cspipe/infra/local/eventarc"
	"github.com/cspipe/cspipe/infra/local/gcsauth"
	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/cspipe/cspipe/infra/local/launcher"
	"github.com/cspipe/cspipe/infra/local/metadata"
	"github.com/cspipe/cspipe/infra/local/pubsubrest"
	"github.com/cspipe/cspipe/infra/local/registry"
	"github.com/cspipe/cspipe/workflows"
	"github.com/cspipe/cspipe/workflows/engine"
	"github.com/cspipe/cspipe/workflows/executions"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/google/go-containerregistry/pkg/authn"
	"golang.org/x/oauth2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Options configure a Stack.
type Options struct {
	// DataDir keeps Cloud Storage objects (DataDir/gcs) and the registry's images
	// (DataDir/registry) on disk so they survive a restart, and remembers the ports
	// (DataDir/ports.json); empty keeps the registry in memory and the objects in a scratch
	// directory removed on Close (gcsauth: on /dev/shm unless TMPDIR is set). Pub/Sub and IAM
	// state is in memory (the latest pin is re-applied from the audit bucket).
	DataDir string
	// Ports of the services; zero fields pick free ports. With a DataDir and all-zero Ports, the
	// ports of the previous start on that DataDir are reused.
	Ports Ports
	// Logger gets the stack's own lines (JSON); default: discard.
	Logger *slog.Logger
	// WorkloadLogs receives the workloads' stdout/stderr when their log redirection is on;
	// default: discard.
	WorkloadLogs io.Writer
	// BatchQuiet closes a batch when no upload arrived for this long (whole seconds); default 5s.
	BatchQuiet time.Duration
	// BatchMaxWait closes a batch this long after its run started; default 5m.
	BatchMaxWait time.Duration
	// BatchMaxItems closes a batch at this many uploads; default 0 (no limit).
	BatchMaxItems int
	// ImagesPerShard and MaxShards size a run's shards (workload processes); defaults 250 and 4.
	ImagesPerShard, MaxShards int
	// SweepEvery is how often the sweeper looks for dead runs; default 5s.
	SweepEvery time.Duration
	// EventCopies makes Eventarc deliver every event this many extra times, EventCopyDelay
	// apart (tests of idempotency); default 0.
	EventCopies    int
	EventCopyDelay time.Duration
	// PubSubAuthorize, when set, decides every call on the Pub/Sub REST surface (the same check
	// the gRPC side applies; see pubsubrest.Authorizer).
	PubSubAuthorize pubsubrest.Authorizer
}

// Stack is a running local stack.
type Stack struct {
	opts Options
	log  *slog.Logger

	PubSubServer *pstest.Server
	PubSub       *pubsub.Client
	PubSubREST   *pubsubrest.Server
	IAM          *iam.Server
	GCS          *gcsauth.Server
	Issuer       *attest.Issuer
	Registry     *registry.Server
	Compute      *compute.Server
	Executions   *executions.Server
	Engine       *engine.Engine
	Eventarc     *eventarc.Dispatcher

	executionsAddr string
	scheduleRun    *schedulerun.Function // its sweeper runs on a timer
	functionsURL   string
	// Functions lists the functions that are wired; Missing says which are not (and why).
	Functions []string
	Missing   []string
	// PinRestore says what happened to the audit log's latest pin at start: "" (nothing
	// pinned yet), "restored the pin of …", or "gate closed: <why>".
	PinRestore string

	gcrPublishers map[string]*pubsub.Client // project id -> client acting as its AR service agent

	closeMu sync.Mutex
	closers []func()
}

// Start brings the whole stack up. On error everything started so far is stopped.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if opts.WorkloadLogs == nil {
		opts.WorkloadLogs = io.Discard
	}
	opts.BatchQuiet = cmp.Or(opts.BatchQuiet, 5*time.Second)
	opts.BatchMaxWait = cmp.Or(opts.BatchMaxWait, 5*time.Minute)
	opts.ImagesPerShard = cmp.Or(opts.ImagesPerShard, 250)
	opts.MaxShards = cmp.Or(opts.MaxShards, 4)
	opts.SweepEvery = cmp.Or(opts.SweepEvery, 5*time.Second)
	if opts.DataDir != "" && opts.Ports == (Ports{}) {
		opts.Ports, _ = loadPorts(opts.DataDir)
	}
	s := &Stack{opts: opts, log: opts.Logger}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	ports := opts.Ports

	iamLis, err := listen("IAM", ports.IAM)
	if err != nil {
		return nil, err
	}
	s.IAM, err = iam.New(iam.WithLogger(s.log.With("component", "iam")), iam.WithListener(iamLis))
	if err != nil {
		return nil, fmt.Errorf("stack: iam: %w", err)
	}
	s.defer_(s.IAM.Close)
	if err := s.grantServices(); err != nil {
		return nil, err
	}

	// Pub/Sub before storage: fake-gcs-server's notifier reads PUBSUB_EMULATOR_HOST.
	if err := s.startPubSub(ctx, ports.PubSub); err != nil {
		return nil, err
	}
	if err := s.createTopics(ctx); err != nil {
		return nil, err
	}
	// The REST surface forwards each call, with its caller's credentials, to the authorizing
	// gRPC front: both surfaces share one state and one IAM check.
	restConn, err := grpc.NewClient(s.PubSubServer.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(pubsubMaxRecv)))
	if err != nil {
		return nil, fmt.Errorf("stack: dialing pubsub: %w", err)
	}
	s.defer_(func() { restConn.Close() })
	if s.PubSubREST, err = pubsubrest.New(pubsubrest.Options{Conn: restConn, Authorize: opts.PubSubAuthorize}); err != nil {
		return nil, err
	}
	restLis, err := listen("Pub/Sub (REST)", ports.PubSubREST)
	if err != nil {
		return nil, err
	}
	s.PubSubREST.Serve(restLis)
	s.defer_(s.PubSubREST.Close)

	gopts := gcsauth.Options{
		AdminPrincipals:    []string{iam.User(adminPrincipal)},
		AnonymousPrincipal: iam.User(LocalOperator),
		Events: fakestorage.EventManagerOptions{
			ProjectID: Secundus.ID, TopicName: notificationsTopic,
			NotifyOn: fakestorage.EventNotificationOptions{Finalize: true},
		},
	}
	if gopts.Listener, err = listen("Cloud Storage", ports.Storage); err != nil {
		return nil, err
	}
	if opts.DataDir != "" {
		gopts.StorageRoot = filepath.Join(opts.DataDir, "gcs")
		if err := os.MkdirAll(gopts.StorageRoot, 0o755); err != nil {
			return nil, fmt.Errorf("stack: data dir: %w", err)
		}
	}
	s.GCS, err = gcsauth.New(s.IAM, gopts)
	if err != nil {
		return nil, fmt.Errorf("stack: gcs: %w", err)
	}
	s.defer_(s.GCS.Close)

	verLis, err := listen("the attestation verifier", ports.Verifier)
	if err != nil {
		return nil, err
	}
	s.Issuer, err = attest.New(attest.WithListener(verLis))
	if err != nil {
		return nil, fmt.Errorf("stack: attestation issuer: %w", err)
	}
	s.defer_(s.Issuer.Close)

	if err := s.createProjects(); err != nil {
		return nil, err
	}
	regOpts := registry.Options{Logger: s.log.With("component", "registry"), Publish: s.publishGCR,
		IAM: s.IAM, Location: Location, Addr: fmt.Sprintf("127.0.0.1:%d", ports.Registry)}
	if opts.DataDir != "" {
		regOpts.Dir = filepath.Join(opts.DataDir, "registry")
	}
	if l, err := listen("Artifact Registry", ports.Registry); err != nil {
		return nil, err
	} else {
		l.Close()
	}
	s.Registry, err = registry.Start(regOpts)
	if err != nil {
		return nil, err
	}
	s.defer_(func() { s.Registry.Close() })
	if err := s.restorePin(ctx); err != nil {
		return nil, err
	}

	if err := s.startCompute(); err != nil {
		return nil, err
	}
	if err := s.startWorkflows(); err != nil {
		return nil, err
	}
	if err := s.startFunctions(ctx); err != nil {
		return nil, err
	}
	if opts.DataDir != "" {
		if err := savePorts(opts.DataDir, s.Ports()); err != nil {
			return nil, fmt.Errorf("stack: remembering the ports: %w", err)
		}
	}
	return s, nil
}

// adminPrincipal is the stack's own identity for setup (bypasses bucket IAM).
const adminPrincipal = "stack@cspipe.local"

func (s *Stack) defer_(f func()) {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	s.closers = append(s.closers, f)
}

// Close stops everything in reverse order of start: functions and triggers, workflows, every VM
// (killing and reaping workload processes), then the services. It is safe to call twice.
func (s *Stack) Close() {
	s.closeMu.Lock()
	cl := s.closers
	s.closers = nil
	s.closeMu.Unlock()
	for _, f := range slices.Backward(cl) {
		f()
	}
}

func (s *Stack) createTopics(ctx context.Context) error {
	topics := []string{
		"projects/" + Secundus.ID + "/topics/" + notificationsTopic,
		"projects/" + Secundus.ID + "/topics/" + ResultsTopic,
		"projects/" + Primus.ID + "/topics/" + GCRTopic,
		"projects/" + Secundus.ID + "/topics/" + GCRTopic,
	}
	for _, t := range topics {
		if _, err := s.PubSub.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: t}); err != nil {
			return fmt.Errorf("stack: creating topic %s: %w", t, err)
		}
	}
	_, err := s.PubSub.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name:  "projects/" + Secundus.ID + "/subscriptions/" + ResultsSub,
		Topic: "projects/" + Secundus.ID + "/topics/" + ResultsTopic, AckDeadlineSeconds: 60,
		EnableMessageOrdering: true,
	})
	if err != nil {
		return fmt.Errorf("stack: creating results subscription: %w", err)
	}
	return nil
}

// publishGCR publishes a registry notification on the project's gcr topic, as the project's
// Artifact Registry service agent.
func (s *Stack) publishGCR(ctx context.Context, project string, data []byte) error {
	c := s.gcrPublishers[project]
	if c == nil {
		return nil // a repository outside the two projects: no topic, as AR without the gcr topic
	}
	p := c.Publisher("projects/" + project + "/topics/" + GCRTopic)
	defer p.Stop()
	_, err := p.Publish(ctx, &pubsub.Message{Data: data}).Get(ctx)
	return err
}

func (s *Stack) startCompute() error {
	l, err := launcher.New(launcher.Options{
		Minter: s.Issuer,
		Metadata: func(_ context.Context, vm compute.VM) (string, func(), error) {
			m, err := metadata.New(metadata.Instance{
				Project: vm.Project, ProjectNumber: projectNumber(vm.Project), Zone: vm.Zone, Name: vm.Name,
				ID: fmt.Sprint(vm.ID), ServiceAccount: vm.ServiceAccount,
				Scopes: []string{"https://www.googleapis.com/auth/cloud-platform"}, Attributes: vm.Metadata,
			}, s.IAM)
			if err != nil {
				return "", nil, err
			}
			return m.Host(), m.Close, nil
		},
		ProjectNumber: projectNumber,
		PullAuth: func(serviceAccount string) authn.Authenticator {
			return &authn.Basic{Username: "oauth2accesstoken", Password: s.IAM.MintAccessToken(iam.ServiceAccount(serviceAccount))}
		},
		Logs:   s.opts.WorkloadLogs,
		Logger: s.log.With("component", "launcher"),
	})
	if err != nil {
		return err
	}
	if c, err := listen("Compute Engine", s.opts.Ports.Compute); err != nil {
		return err
	} else {
		c.Close()
	}
	s.Compute, err = compute.Start(compute.Options{Launcher: l, IAM: s.IAM, Logger: s.log.With("component", "compute"),
		Addr: fmt.Sprintf("127.0.0.1:%d", s.opts.Ports.Compute)})
	if err != nil {
		return err
	}
	s.defer_(func() { s.Compute.Close() })
	return nil
}

func projectNumber(id string) string {
	switch id {
	case Primus.ID:
		return Primus.Number
	case Secundus.ID:
		return Secundus.Number
	}
	return "0"
}

func (s *Stack) startWorkflows() error {
	wf, err := workflows.Launch()
	if err != nil {
		return fmt.Errorf("stack: loading launch workflow: %w", err)
	}
	s.Engine = engine.New(
		engine.WithComputeEndpoint(s.Compute.URL()+"/compute/v1"),
		engine.WithStorageEndpoint(s.GCS.URL()),
		engine.WithTokenSource(s.TokenSource(iam.ServiceAccount(WorkflowSA))),
		engine.WithLogger(s.log.With("component", "workflows")),
		engine.WithEnv(map[string]string{"GOOGLE_CLOUD_PROJECT_ID": Secundus.ID, "GOOGLE_CLOUD_LOCATION": Location}),
	)
	s.Executions = executions.NewServer(map[string]*engine.Workflow{workflows.LaunchName: wf},
		executions.WithEngine(s.Engine), executions.WithLogger(s.log.With("component", "executions")))
	s.defer_(s.Executions.Close)
	lis, err := listen("Workflows executions", s.opts.Ports.Executions)
	if err != nil {
		return err
	}
	g := grpc.NewServer(grpc.UnaryInterceptor(iam.GRPCAuth{IAM: s.IAM, Rule: executionsRule}.Unary()))
	s.Executions.Register(g)
	go func() { _ = g.Serve(lis) }()
	s.defer_(g.Stop)
	s.executionsAddr = lis.Addr().String()
	return nil
}

// StorageClient returns a Cloud Storage client acting as principal. Its HTTP client carries the
// principal's token itself, so the client keeps its identity even when STORAGE_EMULATOR_HOST is
// set in the process (the storage library then drops token sources: anonymous, the operator).
func (s *Stack) StorageClient(ctx context.Context, principal string) (*storage.Client, error) {
	hc := &http.Client{Transport: &oauth2.Transport{Source: s.TokenSource(principal), Base: http.DefaultTransport}}
	return storage.NewClient(ctx, option.WithEndpoint(s.GCS.JSONEndpoint()), option.WithHTTPClient(hc), storage.WithJSONReads())
}

// Ports are the ports the services listen on.
func (s *Stack) Ports() Ports {
	return Ports{
		Storage: portOf(s.GCS.Host()), PubSub: portOf(s.PubSubServer.Addr), PubSubREST: portOf(s.PubSubREST.URL()),
		IAM: portOf(s.IAM.URL()), Verifier: portOf(s.Issuer.URL()), Registry: portOf(s.Registry.Host()),
		Compute: portOf(s.Compute.URL()), Executions: portOf(s.executionsAddr), Functions: portOf(s.functionsURL),
	}
}

// ExecutionsAddr is the executions gRPC endpoint (plaintext).
func (s *Stack) ExecutionsAddr() string { return s.executionsAddr }

// FunctionsURL is the base URL the functions are served under (/<EntryPoint>).
func (s *Stack) FunctionsURL() string { return s.functionsURL }

// ProviderName is the WIP provider's full resource name.
func ProviderName() string {
	return fmt.Sprintf("projects/%s/locations/global/workloadIdentityPools/%s/providers/%s", Primus.Number, Pool, ProviderID)
}

// errMissing marks a part of the pipeline that is not in this build.
var errMissing = errors.New("not available in this build")

// Options returns the options the stack runs with, defaults filled in.
func (s *Stack) Options() Options { return s.opts }
