// Package compute is the local stand-in for the Compute Engine REST API, limited to what cspipe's
// launch workflow and the Go client (cloud.google.com/go/compute/apiv1, REST) send:
// instances insert/get/list/delete and zoneOperations get/wait, under /compute/v1/.
//
// It only runs Confidential Space VMs: insert checks the shape (confidential compute type SEV,
// SEV_SNP or TDX; secure boot; a boot disk from the confidential-space or confidential-space-debug
// image family; a network and subnetwork that exist, see Network) and refuses anything else with
// Compute's status and words. An accepted instance is
// PROVISIONING until the injected Launcher has started its workload, RUNNING while it runs and
// TERMINATED when it exits (or the launch failed), as a Confidential Space VM with restart policy
// Never powers off. Delete stops a workload that is still running and waits for it, so a deleted
// instance never leaves a process behind; Close does the same for every instance. An instance
// with scheduling.maxRunDuration is stopped when it has run that long, or deleted when its
// instanceTerminationAction is DELETE (launch.yaml's backstop against a VM left running).
//
// Operations complete before the response is sent (status DONE), so clients never wait on a
// polling interval. With Options.IAM, requests need a bearer token of the local IAM and the
// permissions Compute checks, including iam.serviceAccounts.actAs on the VM's service account.
package compute

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// VM is what a Launcher needs to boot one instance.
type VM struct {
	Project, Zone, Name string
	ID                  uint64
	// ServiceAccount is the email of the VM's (first) service account; empty if none.
	ServiceAccount string
	// Metadata holds the instance's metadata items (tee-image-reference, tee-env-*, …).
	Metadata map[string]string
	// ImageFamily is confidential-space or confidential-space-debug.
	ImageFamily string
	// ConfidentialType is SEV, SEV_SNP or TDX.
	ConfidentialType string
	// Network and Subnetwork are the first interface's, as projects/P/global/networks/N and
	// projects/P/regions/R/subnetworks/S.
	Network, Subnetwork string
	// ExternalIP: the interface has an access config (an ephemeral external IP).
	ExternalIP bool
	// Isolated: no external IP and no Private Google Access on the subnetwork, so the VM cannot
	// reach Google's APIs or Artifact Registry (the launcher cannot pull the image).
	Isolated bool
}

// Debug reports whether the VM boots the debug Confidential Space image.
func (v VM) Debug() bool { return v.ImageFamily == FamilyDebug }

// Image families of Confidential Space.
const (
	FamilyProduction = "confidential-space"
	FamilyDebug      = "confidential-space-debug"
)

// Workload is a started VM workload.
type Workload interface {
	// Wait blocks until the workload has exited and every process it started is reaped.
	// It returns nil for a clean exit (code 0).
	Wait() error
}

// Launcher boots a VM: it returns once the workload has started, or with the reason it could
// not start. Cancelling ctx must stop the workload; Wait then returns.
type Launcher interface {
	Launch(ctx context.Context, vm VM) (Workload, error)
}

// LauncherFunc adapts a function to Launcher.
type LauncherFunc func(ctx context.Context, vm VM) (Workload, error)

// Launch calls f.
func (f LauncherFunc) Launch(ctx context.Context, vm VM) (Workload, error) { return f(ctx, vm) }

// Options configure a Server.
type Options struct {
	// Addr to listen on; default 127.0.0.1:0.
	Addr string
	// Launcher boots accepted instances. Required.
	Launcher Launcher
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Networks that exist; nil means DefaultNetworks (the auto-mode "default" network in every
	// project). An empty, non-nil list is a project under compute.skipDefaultNetworkCreation.
	Networks []Network
	// IAM authenticates callers and checks Compute's permissions (instances.create on the
	// instance and iam.serviceAccounts.actAs on its service account for insert; get, list,
	// delete and zoneOperations.get for the rest). Nil serves every request unauthenticated.
	IAM Authorizer
}

// Server serves the Compute REST fake.
type Server struct {
	opts   Options
	log    *slog.Logger
	base   context.Context
	cancel context.CancelFunc
	url    string
	srv    *http.Server
	served chan struct{}

	mu        sync.Mutex
	instances map[string]*instance // key: project/zone/name
	ops       map[string]*operation
	nextID    uint64
	watchers  []chan struct{}
}

// New returns a Server that is not listening; use Handler, or Start.
func New(opts Options) (*Server, error) {
	if opts.Launcher == nil {
		return nil, errors.New("compute: a Launcher is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		opts: opts, log: opts.Logger, base: ctx, cancel: cancel,
		instances: map[string]*instance{}, ops: map[string]*operation{},
		nextID: uint64(opts.Now().UnixNano()) & 0x0fffffffffffffff,
	}, nil
}

// Start creates a Server listening on opts.Addr.
func Start(opts Options) (*Server, error) {
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("compute: listening on %s: %w", addr, err)
	}
	s.url = "http://" + lis.Addr().String()
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.served = make(chan struct{})
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(lis)
	}()
	return s, nil
}

// URL is the endpoint for the Go client's option.WithEndpoint (no trailing slash); the API's
// base path is URL + "/compute/v1".
func (s *Server) URL() string { return s.url }

// Close stops every running workload, waits for them, and stops serving.
func (s *Server) Close() error {
	s.cancel()
	s.mu.Lock()
	var all []*instance
	for _, in := range s.instances {
		all = append(all, in)
	}
	s.mu.Unlock()
	for _, in := range all {
		in.stop()
	}
	if s.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.served
	return err
}
