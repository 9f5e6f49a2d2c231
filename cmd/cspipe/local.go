package main

import (
	"context"
	"flag"
	"fmt"
	"io"
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
	window := fs.Duration("batch-window", 3*time.Second, "how long ScheduleRun collects uploads into one run")
	if err := fs.Parse(args[1:]); err != nil {
		return exitError{code: 2}
	}
	opts := stack.Options{DataDir: *dataDir, BatchWindow: *window, WorkloadLogs: stderr}
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
	fmt.Fprintln(stdout, "Cloud Storage enforces bucket IAM: send a bearer token. Local tokens (valid 1h):")
	fmt.Fprintf(stdout, "  export CSPIPE_PRIMUS_TOKEN=%s    # %s: objectAdmin on gs://%s\n", s.IAM.MintAccessToken(iam.User(stack.PrimusAdmin)), stack.PrimusAdmin, stack.ModelBucket)
	fmt.Fprintf(stdout, "  export CSPIPE_SECUNDUS_TOKEN=%s  # %s: objectAdmin on gs://%s, viewer of results\n", s.IAM.MintAccessToken(iam.User(stack.SecundusAdmin)), stack.SecundusAdmin, stack.InputBucket)
	fmt.Fprintf(stdout, "workload image repositories: Primus %s, Secundus %s (push with `cspipe image build --push REPO`)\n", s.PrimusRepository(), s.SecundusRepository())
	if *dataDir != "" {
		fmt.Fprintf(stdout, "objects persist in %s (Pub/Sub, registry and IAM state do not)\n", *dataDir)
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping…")
	return nil
}
