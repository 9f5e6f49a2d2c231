// Package launcher is the local stand-in for the Confidential Space launcher. Given a VM from the
// local Compute fake it does what the real launcher does before and while the container runs:
//
//   - parses the tee-* metadata (tee-image-reference required; tee-restart-policy,
//     tee-container-log-redirect, tee-env-*, tee-cmd);
//   - pulls the image by reference (go-containerregistry remote) and resolves its digest;
//   - checks the operator's metadata against the image's launch-policy labels, refusing the launch
//     with the real launcher's messages (a disallowed env override, a CMD override, a log redirect
//     the image forbids on this image family);
//   - unpacks the image's layers into a root directory (safely: no entry may land outside it, see
//     extractRoot) and adds only what Google's launcher gives a container: its
//     /run/container_launcher directory and the host's /etc/hosts and /etc/resolv.conf;
//   - serves the VM's identity through an injected metadata server (GCE_METADATA_HOST);
//   - writes the default attestation token (audience https://sts.googleapis.com, minted by the
//     local attestation verifier) atomically to /run/container_launcher/attestation_verifier_claims_token
//     in that root, refreshes it, and serves /run/container_launcher/teeserver.sock (GET/POST
//     /v1/token);
//   - runs the image's ENTRYPOINT+CMD from the image's own filesystem: chrooted into the root, as
//     the image's User, in its WorkingDir, with env = image env + overrides + HOSTNAME +
//     GCE_METADATA_HOST, in its own process group (killed with the VM), and reports its exit. A
//     file the image lacks (its entrypoint, a CA bundle, a shared library) is missing here too.
//
// Differences from the real launcher: chroot is not a container (same network, same kernel
// namespaces; that is what makes the stand-ins on 127.0.0.1 reachable). Without root there is no
// chroot: the workload then runs from the image root's host path, sees the host's files, and gets
// CSPIPE_LAUNCHER_DIR pointing at the root's launcher directory; the launcher logs a warning
// saying so. The restart policy is measured but the workload always runs once (Never
// semantics). A debug VM is held RUNNING after the workload exits, as Google's launcher does,
// until it is deleted; a production VM powers off at once (no shutdown delay). Container logs go
// to the injected writer when redirection is on and are dropped when it is off. The debug family
// yields dbgstat "enabled" and no support attributes (the attest package's Debug flag).
//
// It is part of the local stack and must never be linked into a binary built for GCP.
package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cspipe/cspipe/infra/local/attest"
	"github.com/cspipe/cspipe/infra/local/compute"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// File names in the launcher directory (the workload's CSPIPE_LAUNCHER_DIR).
const (
	TokenFile  = "attestation_verifier_claims_token"
	SocketFile = "teeserver.sock"
)

// Minter signs attestation tokens; *attest.Issuer implements it.
type Minter interface {
	Mint(w attest.Workload, audience string, nonces []string) (string, error)
}

// MetadataFunc starts a GCE metadata server serving vm's identity and returns its HOST:PORT and a
// function that stops it.
type MetadataFunc func(ctx context.Context, vm compute.VM) (host string, stop func(), err error)

// Options configure a Launcher.
type Options struct {
	// Minter signs the VM's attestation tokens. Required.
	Minter Minter
	// Metadata starts the VM's metadata server. Nil: the workload gets no GCE_METADATA_HOST.
	Metadata MetadataFunc
	// ProjectNumber maps a project id to its number (the submods.gce.project_number claim).
	ProjectNumber func(project string) string
	// WorkDir holds one directory per VM (its image root included); default os.TempDir(). Without
	// root (no chroot) keep it short: the workload dials the teeserver socket by its host path,
	// and unix socket paths are limited to about 100 bytes.
	WorkDir string
	// Logs receives the workload's stdout and stderr, each line prefixed with the instance name,
	// when the VM's log redirection is on. Default os.Stderr.
	Logs io.Writer
	// Logger gets the launcher's own lines; default slog.Default().
	Logger *slog.Logger
	// Remote are options for pulling images.
	Remote []remote.Option
	// PullAuth returns the credentials a VM pulls its image with: on Confidential Space the
	// launcher uses the VM's service account. Nil pulls with Remote alone.
	PullAuth func(serviceAccount string) authn.Authenticator
	// ExtraEnv is appended to every workload's environment (for example a proxy setting the local
	// stack needs); it is not measured as an override.
	ExtraEnv []string
}

// Launcher boots VMs for the Compute fake.
type Launcher struct{ opts Options }

var _ compute.Launcher = (*Launcher)(nil)

// New returns a Launcher.
func New(opts Options) (*Launcher, error) {
	if opts.Minter == nil {
		return nil, errors.New("launcher: a Minter is required")
	}
	if opts.Logs == nil {
		opts.Logs = os.Stderr
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ProjectNumber == nil {
		opts.ProjectNumber = func(string) string { return "0" }
	}
	return &Launcher{opts: opts}, nil
}

// LaunchError is a launch refused before the workload started (bad spec, policy violation, pull
// failure); on GCP the VM powers off with launcher exit code 1.
type LaunchError struct{ Err error }

func (e *LaunchError) Error() string { return "launch failed: " + e.Err.Error() }
func (e *LaunchError) Unwrap() error { return e.Err }

// Launch pulls, checks and starts the VM's workload. The workload is killed when ctx ends.
func (l *Launcher) Launch(ctx context.Context, vm compute.VM) (compute.Workload, error) {
	log := l.opts.Logger.With("instance", vm.Name)
	spec, err := ParseSpec(vm.Metadata)
	if err != nil {
		return nil, &LaunchError{err}
	}
	if vm.Isolated {
		// On Google the pull times out: without an external IP, Artifact Registry (like every
		// Google API) is reachable only through Private Google Access on the subnetwork.
		return nil, &LaunchError{fmt.Errorf("pulling image %s: dial tcp: i/o timeout (the VM has no external IP and its subnetwork %s has Private Google Access off, so it cannot reach Artifact Registry or Google's APIs)",
			spec.ImageReference, vm.Subnetwork)}
	}
	ropts := l.opts.Remote
	if l.opts.PullAuth != nil {
		ropts = append(slices.Clone(ropts), remote.WithAuth(l.opts.PullAuth(vm.ServiceAccount)))
	}
	img, err := pull(ctx, spec.ImageReference, ropts)
	if err != nil {
		return nil, &LaunchError{err}
	}
	log.Info("image pulled", "image_reference", spec.ImageReference, "image_digest", img.digest)
	policy, err := ParsePolicy(img.config.Config.Labels)
	if err != nil {
		return nil, &LaunchError{err}
	}
	if err := policy.Verify(spec, !vm.Debug()); err != nil {
		return nil, &LaunchError{err}
	}
	entry := img.config.Config.Entrypoint
	if len(entry) == 0 {
		return nil, &LaunchError{errors.New("the image has no ENTRYPOINT")}
	}
	cmdArgs := img.config.Config.Cmd
	if len(spec.Cmd) > 0 { // an empty tee-cmd keeps the image CMD, as containerd's WithImageConfigArgs does
		cmdArgs = spec.Cmd
	}
	args := append(slices.Clone(entry), cmdArgs...)

	dir, err := os.MkdirTemp(l.opts.WorkDir, "cs-"+shortName(vm.Name)+"-")
	if err != nil {
		return nil, fmt.Errorf("creating launcher directory: %w", err)
	}
	r := &run{dir: dir, log: log, hold: vm.Debug(), held: ctx.Done()}
	ok := false
	defer func() {
		if !ok {
			r.cleanup()
		}
	}()
	root := filepath.Join(dir, "rootfs")
	if err := os.Mkdir(root, 0o755); err != nil {
		return nil, fmt.Errorf("creating image root: %w", err)
	}
	isolate := os.Geteuid() == 0
	if err := extractRoot(img.img, root, isolate); err != nil {
		return nil, &LaunchError{err}
	}
	mounts, err := provideMounts(root)
	if err != nil {
		return nil, fmt.Errorf("preparing the container's mounts: %w", err)
	}
	env := slices.Clone(img.config.Config.Env)
	for _, k := range slices.Sorted(maps.Keys(spec.Env)) {
		env = append(env, k+"="+spec.Env[k])
	}
	env = append(env, "HOSTNAME="+vm.Name)
	proc, err := containerProcess(root, img.config.Config, args, env, isolate)
	if err != nil {
		return nil, &LaunchError{err}
	}
	if !isolate {
		// Without chroot the workload sees the host's filesystem: point it at the launcher
		// directory inside the image root.
		env = append(env, "CSPIPE_LAUNCHER_DIR="+mounts)
		log.Warn("not running as root: the workload runs from its image root WITHOUT chroot, so files outside the image stay visible to it")
	}
	if l.opts.Metadata != nil {
		host, stop, err := l.opts.Metadata(ctx, vm)
		if err != nil {
			return nil, fmt.Errorf("starting metadata server: %w", err)
		}
		r.stops = append(r.stops, stop)
		env = append(env, "GCE_METADATA_HOST="+host)
	}

	w := attest.Workload{
		ImageReference: spec.ImageReference, ImageDigest: img.digest, ImageID: img.id,
		RestartPolicy: spec.RestartPolicy, Env: envMap(env), EnvOverride: spec.Env,
		CmdOverride: spec.Cmd, Args: args,
		Project: vm.Project, ProjectNumber: l.opts.ProjectNumber(vm.Project), Zone: vm.Zone,
		InstanceName: vm.Name, InstanceID: strconv.FormatUint(vm.ID, 10), Debug: vm.Debug(),
	}
	if vm.ServiceAccount != "" {
		w.ServiceAccounts = []string{vm.ServiceAccount}
	}
	if len(w.EnvOverride) == 0 {
		w.EnvOverride = nil
	}
	mint := func(aud string, nonces []string) (string, error) { return l.opts.Minter.Mint(w, aud, nonces) }

	// The first token is fetched before the workload starts; failing that fails the launch.
	if err := writeToken(mounts, mint); err != nil {
		return nil, &LaunchError{fmt.Errorf("failed to fetch and write OIDC token: %w", err)}
	}
	tee, err := startTeeServer(filepath.Join(mounts, SocketFile), teeHandler(mint, attest.DefaultAudience))
	if err != nil {
		return nil, err
	}
	r.stops = append(r.stops, tee.close)
	refreshCtx, stopRefresh := context.WithCancel(ctx)
	r.stops = append(r.stops, stopRefresh)
	go refreshLoop(refreshCtx, mounts, mint, log)

	cmd := proc
	cmd.Env = append(env, l.opts.ExtraEnv...)
	var out io.Writer = io.Discard
	if spec.Redirects() {
		out = &linePrefixer{w: l.opts.Logs, prefix: "[" + vm.Name + "] "}
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		// What runc reports when the entrypoint cannot be executed inside the container.
		return nil, &LaunchError{fmt.Errorf("failed to create the workload task: exec %s: %w", args[0], err)}
	}
	r.cmd = cmd
	r.exited = make(chan struct{})
	go r.wait()
	go func() {
		select {
		case <-ctx.Done():
			// Kill the whole process group: nothing the workload started may outlive the VM.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		case <-r.exited:
		}
	}()
	ok = true
	log.Info("workload started", "image_digest", img.digest, "restart_policy", spec.RestartPolicy, "chroot", isolate)
	return r, nil
}

// run is one started workload.
type run struct {
	dir    string
	log    *slog.Logger
	cmd    *exec.Cmd
	stops  []func()
	exited chan struct{}
	err    error
	once   sync.Once
	// hold: a debug VM stays up after the workload exits, until it is stopped (held closes).
	hold bool
	held <-chan struct{}
}

func (r *run) wait() {
	err := r.cmd.Wait()
	// Reap anything left in the process group.
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	if err != nil {
		r.err = fmt.Errorf("workload task ended and returned non-zero: %w", err)
		r.log.Warn("workload task ended and returned non-zero", "error", err.Error())
	} else {
		r.log.Info("workload task ended and returned 0")
	}
	r.cleanup()
	close(r.exited)
}

// Wait blocks until the workload has exited and the launcher's servers are stopped. On the debug
// image it then blocks until the VM is stopped: Google's launcher holds a debug VM after the
// workload exits (launcher exit code 4, no power-off), so the VM stays RUNNING.
func (r *run) Wait() error {
	<-r.exited
	if r.hold {
		r.log.Info("debug image: holding the VM after the workload exited (it stays RUNNING until deleted)")
		<-r.held
	}
	return r.err
}

func (r *run) cleanup() {
	r.once.Do(func() {
		for i := len(r.stops) - 1; i >= 0; i-- {
			r.stops[i]()
		}
		_ = os.RemoveAll(r.dir)
	})
}

// writeToken mints the default token and replaces the token file atomically.
func writeToken(dir string, mint mintFunc) error {
	tok, err := mint(attest.DefaultAudience, nil)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ".token.tmp")
	if err := os.WriteFile(tmp, []byte(tok), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, TokenFile))
}

// refreshLoop rewrites the token file after 0.7–0.9 of its lifetime, retrying failures.
func refreshLoop(ctx context.Context, dir string, mint mintFunc, log *slog.Logger) {
	for {
		d := time.Duration(float64(attest.TokenLifetime) * (0.7 + 0.2*rand.Float64()))
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
		for backoff := time.Minute; ; backoff = min(2*backoff, time.Hour) {
			err := writeToken(dir, mint)
			if err == nil {
				break
			}
			log.Warn("refreshing attestation token", "error", err.Error())
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
		}
	}
}

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func shortName(s string) string {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}

// linePrefixer writes each complete line to w with a prefix.
type linePrefixer struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *linePrefixer) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := slices.Index(p.buf, '\n')
		if i < 0 {
			break
		}
		if _, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i]); err != nil {
			return len(b), err
		}
		p.buf = p.buf[i+1:]
	}
	if len(p.buf) > 64<<10 {
		_, _ = fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf)
		p.buf = p.buf[:0]
	}
	return len(b), nil
}
