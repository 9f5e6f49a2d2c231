package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"github.com/cspipe/cspipe/infra/local/stack"
	"github.com/cspipe/cspipe/internal/batch/runwait"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/records"
)

func init() {
	register("wait", "wait for every run that the uploads under a prefix went into, and report them all (wait --prefix P)", runWait)
}

// exitRunFailed is wait's exit code when a run it waited for failed.
const exitRunFailed = 3

func runWait(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wait", flag.ContinueOnError)
	fs.SetOutput(stderr)
	prefix := fs.String("prefix", "", "the uploads to follow: every image under this prefix of the input bucket (required; \"/\" for all)")
	bucket := fs.String("bucket", stack.InputBucket, "the input bucket")
	state := fs.String("state-bucket", stack.StateBucket, "ScheduleRun's state bucket (CSPIPE_STATE_BUCKET)")
	results := fs.String("results-bucket", stack.ResultsBucket, "the results bucket")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long (exit 1)")
	asJSON := fs.Bool("json", false, "print the runs as a JSON array instead of text")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cspipe wait --prefix P [--bucket B] [--state-bucket S] [--results-bucket R] [--timeout D] [--json]")
		fmt.Fprintln(stderr, "Uses Google's default credentials and honours STORAGE_EMULATOR_HOST; the bucket defaults are the local stack's.")
		fmt.Fprintln(stderr, "Exit status: 0 every run ok, 3 some run failed, 1 timeout or error, 2 usage.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitError{code: 2}
	}
	if *prefix == "" || fs.NArg() != 0 {
		fs.Usage()
		return exitError{code: 2}
	}
	if *prefix == "/" {
		*prefix = ""
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	c, err := storage.NewClient(ctx)
	if err != nil {
		return fmt.Errorf("storage client: %w", err)
	}
	defer c.Close()
	store := blob.NewGCS(c)
	uploads, err := runwait.List(ctx, store, *bucket, *prefix)
	if err != nil {
		return err
	}
	if len(uploads) == 0 {
		return fmt.Errorf("no images under gs://%s/%s", *bucket, *prefix)
	}
	progress := func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	progress("following %d uploads under gs://%s/%s", len(uploads), *bucket, *prefix)
	runs, err := runwait.Wait(ctx, store, uploads, runwait.Options{StateBucket: *state, ResultsBucket: *results, Progress: progress})
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (after --timeout %s)", err, *timeout)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(runs); err != nil {
			return err
		}
	} else {
		printRuns(stdout, runs, *results)
	}
	for _, r := range runs {
		if r.Status != records.StatusOK {
			return exitError{code: exitRunFailed, msg: fmt.Sprintf("run %s failed", r.RunID)}
		}
	}
	return nil
}

func printRuns(w io.Writer, runs []runwait.Run, results string) {
	fmt.Fprintf(w, "%d run(s):\n", len(runs))
	for _, r := range runs {
		fmt.Fprintf(w, "run %s: %s, %d of your uploads, %d shard(s), %d images, %d ok, %d failed; results gs://%s/%s\n",
			r.RunID, r.Status, r.Uploads, r.ShardCount, r.Images, r.Succeeded, r.Failed, results, records.Prefix(r.RunID, 0, 1))
		if len(r.Errors) > 0 {
			fmt.Fprintf(w, "  errors: %s\n", strings.Join(r.Errors, "; "))
		}
	}
}
