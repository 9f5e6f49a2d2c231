package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/cspipe/cspipe/infra/local/stack"
)

func init() {
	register("local", "run the embedded local stack until Ctrl-C (local up [--data-dir D])", runLocal)
}

func runLocal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "up" {
		fmt.Fprintln(stderr, "usage: cspipe local up [--data-dir D] [-v]")
		return exitError{code: 2}
	}
	fs := flag.NewFlagSet("local up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "keep Cloud Storage objects under this directory across restarts (default: in memory)")
	verbose := fs.Bool("v", false, "show the stack's and the workloads' logs on stderr")
	quiet := fs.Duration("batch-quiet", 5*time.Second, "a batch (one run) closes when no upload arrived for this long")
	maxWait := fs.Duration("batch-max-wait", 5*time.Minute, "a batch closes this long after its run started, however busy")
	maxItems := fs.Int("batch-max-items", 0, "a batch closes at this many uploads (0: no limit)")
	perShard := fs.Int("images-per-shard", 250, "a run gets one VM per this many images…")
	maxShards := fs.Int("max-shards", 4, "…and at most this many VMs")
	if err := fs.Parse(args[1:]); err != nil {
		return exitError{code: 2}
	}
	opts := stack.Options{DataDir: *dataDir, BatchQuiet: *quiet, BatchMaxWait: *maxWait, BatchMaxItems: *maxItems,
		ImagesPerShard: *perShard, MaxShards: *maxShards, WorkloadLogs: stderr}
	if *verbose {
		opts.Logger = slogJSON(stderr)
	}
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
	envFile, err := writeLocalEnv(s, *dataDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Cloud Storage enforces bucket IAM. The endpoints and two local bearer tokens (valid while the stack runs;\n"+
		"%s: objectAdmin on gs://%s, %s: objectAdmin on gs://%s) are in a file readable only by you:\n"+
		"  source %s\n", stack.PrimusAdmin, stack.ModelBucket, stack.SecundusAdmin, stack.InputBucket, envFile)
	fmt.Fprintf(stdout, "workload image repositories: Primus %s, Secundus %s (push with `cspipe image build --push REPO`)\n", s.PrimusRepository(), s.SecundusRepository())
	if *dataDir != "" {
		fmt.Fprintf(stdout, "objects persist in %s (Pub/Sub, registry and IAM state do not)\n", *dataDir)
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping…")
	return nil
}

// writeLocalEnv writes the stack's environment and the local admin tokens as shell exports to a
// 0600 file (in dataDir, or a fresh temporary directory), so tokens never reach the terminal or logs.
func writeLocalEnv(s *stack.Stack, dataDir string) (string, error) {
	dir := dataDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "cspipe-local-"); err != nil {
			return "", err
		}
	}
	env := s.Env()
	env["CSPIPE_PRIMUS_TOKEN"] = s.IAM.MintSessionToken(iam.User(stack.PrimusAdmin))
	env["CSPIPE_SECUNDUS_TOKEN"] = s.IAM.MintSessionToken(iam.User(stack.SecundusAdmin))
	// `cspipe image build --push` presents it to the local registry (Secundus's repository;
	// set it to $CSPIPE_PRIMUS_TOKEN to push as Primus).
	env["CSPIPE_REGISTRY_TOKEN"] = env["CSPIPE_SECUNDUS_TOKEN"]
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(env)) {
		fmt.Fprintf(&b, "export %s=%q\n", k, env[k])
	}
	path := filepath.Join(dir, "cspipe-local.env")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("writing the local environment file: %w", err)
	}
	return path, nil
}
