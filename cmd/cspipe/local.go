package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/cspipe/cspipe/infra/local/stack"
)

func init() {
	register("local", "the embedded local stack: local up [flags] runs it until Ctrl-C; local status shows pins, models and runs", runLocal)
}

func runLocal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "status" {
		return runLocalStatus(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "up" {
		fmt.Fprintln(stderr, "usage: cspipe local up [--data-dir D] [--port-base N] [--model FILE | --empty] [-v | --log-format text|json]\n       cspipe local status [--data-dir D | --port-base N] [--json]")
		return exitError{code: 2}
	}
	fs := flag.NewFlagSet("local up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "keep objects, registry images, pins and ports under this directory across restarts (default: in memory)")
	verbose := fs.Bool("v", false, "log JSON (every component, and the workloads' own logs) instead of one line per step")
	logFormat := fs.String("log-format", "text", "text: one human line per step; json: every log record as JSON")
	quiet := fs.Duration("batch-quiet", 5*time.Second, "a batch (one run) closes when no upload arrived for this long")
	maxWait := fs.Duration("batch-max-wait", 5*time.Minute, "a batch closes this long after its run started, however busy")
	maxItems := fs.Int("batch-max-items", 0, "a batch closes at this many uploads (0: no limit)")
	perShard := fs.Int("images-per-shard", 250, "a run gets one VM per this many images…")
	maxShards := fs.Int("max-shards", 4, "…and at most this many VMs")
	modelFile := fs.String("model", "", "register this model archive (cspipe model pack) instead of the synthetic demo model")
	empty := fs.Bool("empty", false, "push nothing, pin nothing, register no model")
	var pf portFlags
	pf.register(fs)
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return exitError{code: 2}
	}
	if *empty && *modelFile != "" {
		return exitError{code: 2, msg: "--empty and --model exclude each other"}
	}
	if *logFormat != "text" && *logFormat != "json" {
		return exitError{code: 2, msg: fmt.Sprintf("--log-format %q: want text or json", *logFormat)}
	}
	var model []byte
	if *modelFile != "" {
		var err error
		if model, err = readFileLimit(*modelFile, maxModelFileBytes, "--model"); err != nil {
			return err
		}
	}
	root := ""
	if !*empty {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		if root, err = stack.ModuleRoot(wd); err != nil {
			return fmt.Errorf("%w (the workload image is built from the repository: run from it, or pass --empty)", err)
		}
	}

	// A closed stdout (`cspipe local up | head`) must not kill the process before it has stopped
	// its VMs and removed its files: with SIGPIPE caught, writes fail with EPIPE instead.
	sigpipe := make(chan os.Signal, 1)
	signal.Notify(sigpipe, syscall.SIGPIPE)
	defer signal.Stop(sigpipe)

	opts := stack.Options{DataDir: *dataDir, BatchQuiet: *quiet, BatchMaxWait: *maxWait, BatchMaxItems: *maxItems,
		ImagesPerShard: *perShard, MaxShards: *maxShards}
	if *verbose || *logFormat == "json" {
		opts.Logger = slogJSON(stderr)
		opts.WorkloadLogs = stderr
	} else {
		opts.Logger = slog.New(stack.NewProgressHandler(stderr))
	}
	ports, err := pf.ports(fs, *dataDir)
	if err != nil {
		return err
	}
	opts.Ports = ports
	s, err := stack.Start(ctx, opts)
	if err != nil {
		return err
	}
	// Close kills every VM's workload and reaps it before the services stop.
	defer s.Close()

	fmt.Fprintln(stdout, "cspipe local stack is up (Ctrl-C stops it and every VM process).")
	s.PrintEndpoints(stdout)
	for _, m := range s.Missing {
		fmt.Fprintf(stdout, "MISSING in this build: Cloud Function %s (its trigger is not wired)\n", m)
	}
	if s.PinRestore != "" {
		fmt.Fprintf(stdout, "audit log: %s\n", s.PinRestore)
	}
	var prov *stack.Provisioned
	if !*empty {
		p, err := s.Provision(ctx, stack.ProvisionOptions{ModuleRoot: root, Model: model,
			Progress: func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) }})
		if err != nil {
			if ctx.Err() != nil {
				return nil // Ctrl-C while getting ready
			}
			return err
		}
		prov = &p
	}
	dir, cleanup, err := envDir(*dataDir)
	if err != nil {
		return err
	}
	defer cleanup()
	envFile, err := writeLocalEnv(s, dir)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	s.PrintReady(stdout, prov)
	fmt.Fprintf(stdout, "  source %s   (all of the above, and the admins' tokens, valid while the stack runs:\n"+
		"  CSPIPE_PRIMUS_TOKEN for uploading another model to gs://%s)\n", envFile, stack.ModelBucket)
	if *dataDir != "" {
		fmt.Fprintf(stdout, "state persists in %s (objects, registry images, ports; the latest pin is re-applied)\n", *dataDir)
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping…")
	return nil
}

// portFlags are the per-service port flags; unset ones follow --port-base.
type portFlags struct {
	base                                             *int
	storage, pubsub, pubsubREST, registry, functions *int
}

func (p *portFlags) register(fs *flag.FlagSet) {
	p.base = fs.Int("port-base", stack.DefaultPortBase, "first of the stack's ports: storage +0, pub/sub gRPC +1, pub/sub REST +2, IAM +3, verifier +4, registry +5, compute +6, executions +7, functions +8 (0: free ports)")
	p.storage = fs.Int("storage-port", 0, "Cloud Storage port (default: --port-base)")
	p.pubsub = fs.Int("pubsub-port", 0, "Pub/Sub gRPC port (default: --port-base + 1)")
	p.pubsubREST = fs.Int("pubsub-rest-port", 0, "Pub/Sub REST port (default: --port-base + 2)")
	p.registry = fs.Int("registry-port", 0, "Artifact Registry port (default: --port-base + 5)")
	p.functions = fs.Int("functions-port", 0, "functions and status port (default: --port-base + 8)")
}

// ports resolves the flags: explicit flags win; otherwise a data dir's remembered ports; otherwise
// --port-base.
func (p *portFlags) ports(fs *flag.FlagSet, dataDir string) (stack.Ports, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	anySet := len(set) > 0 && (set["port-base"] || set["storage-port"] || set["pubsub-port"] || set["pubsub-rest-port"] || set["registry-port"] || set["functions-port"])
	if !anySet && dataDir != "" {
		if _, err := os.Stat(filepath.Join(dataDir, "ports.json")); err == nil {
			return stack.Ports{}, nil // Start reuses them
		}
	}
	if *p.base < 0 || *p.base > 65535-9 {
		return stack.Ports{}, fmt.Errorf("--port-base %d: want 0 or 1..%d", *p.base, 65535-9)
	}
	ports := stack.PortsFrom(*p.base)
	for name, dst := range map[string]*int{"storage-port": &ports.Storage, "pubsub-port": &ports.PubSub,
		"pubsub-rest-port": &ports.PubSubREST, "registry-port": &ports.Registry, "functions-port": &ports.Functions} {
		if set[name] {
			*dst = *map[string]*int{"storage-port": p.storage, "pubsub-port": p.pubsub, "pubsub-rest-port": p.pubsubREST,
				"registry-port": p.registry, "functions-port": p.functions}[name]
		}
	}
	return ports, nil
}

// envDir is where the environment file goes: the data dir, or a temporary directory removed on exit.
func envDir(dataDir string) (string, func(), error) {
	if dataDir != "" {
		return dataDir, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "cspipe-local-")
	if err != nil {
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// writeLocalEnv writes the stack's environment and the admins' session tokens (valid while the
// stack runs) as shell exports to a 0600 file in dir, so tokens never reach the terminal or logs.
func writeLocalEnv(s *stack.Stack, dir string) (string, error) {
	env := s.Env()
	env["CSPIPE_PRIMUS_TOKEN"] = s.IAM.MintSessionToken(iam.User(stack.PrimusAdmin))
	env["CSPIPE_SECUNDUS_TOKEN"] = s.IAM.MintSessionToken(iam.User(stack.SecundusAdmin))
	// `cspipe image build --push` presents it to the local registry (Secundus's repository;
	// set it to $CSPIPE_PRIMUS_TOKEN to push as Primus).
	env["CSPIPE_REGISTRY_TOKEN"] = env["CSPIPE_SECUNDUS_TOKEN"]
	var b strings.Builder
	b.WriteString("# cspipe local up: Google's clients need only the emulator variables (anonymous = the local operator).\n")
	b.WriteString("# The two tokens (Primus's and Secundus's admins, objectAdmin on the model / input bucket) are valid while this stack runs.\n")
	for _, k := range slices.Sorted(maps.Keys(env)) {
		fmt.Fprintf(&b, "export %s=%q\n", k, env[k])
	}
	path := filepath.Join(dir, "cspipe-local.env")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("writing the local environment file: %w", err)
	}
	return path, nil
}

// runLocalStatus prints a running stack's pins, models and runs.
func runLocalStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("local status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "the stack's --data-dir (its ports are read from there)")
	base := fs.Int("port-base", stack.DefaultPortBase, "the stack's --port-base")
	fport := fs.Int("functions-port", 0, "the stack's --functions-port")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return exitError{code: 2}
	}
	port := stack.PortsFrom(*base).Functions
	if *fport != 0 {
		port = *fport
	} else if *dataDir != "" {
		p, err := stack.LoadPorts(*dataDir)
		if err != nil {
			return err
		}
		port = p.Functions
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := stack.FetchStatus(ctx, fmt.Sprintf("http://127.0.0.1:%d", port))
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	st.Print(stdout)
	return nil
}
