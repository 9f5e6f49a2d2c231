package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"golang.org/x/oauth2/google"

	"github.com/cspipe/cspipe/workflows/engine"
	"github.com/cspipe/cspipe/workflows/expr"
)

func init() {
	register("workflow", "check or run a Cloud Workflows YAML on the local engine", runWorkflow)
}

const workflowUsage = `usage:
  cspipe workflow check FILE
  cspipe workflow run FILE [--args JSON] [--compute-endpoint URL] [--storage-endpoint URL]
                           [--http-endpoint FROM=TO]... [--google-auth] [--log]

check loads FILE and reports the first construct outside the engine's subset, with its line.
run executes FILE's main with the JSON argument and prints the result as JSON.
  --compute-endpoint, --storage-endpoint  where the googleapis connectors and http.* calls to
                                          Google's Compute / Storage endpoints go instead
  --http-endpoint FROM=TO                 send http.* calls whose URL starts with FROM to TO
  --google-auth                           attach OAuth2 tokens from Application Default Credentials
                                          (off: requests carry no Authorization header)
  --log                                   write the engine's and sys.log's JSON logs to stderr`

type rewriteFlags []engine.Rewrite

func (r *rewriteFlags) String() string { return fmt.Sprint(*r) }

func (r *rewriteFlags) Set(v string) error {
	from, to, ok := strings.Cut(v, "=")
	if !ok || from == "" || to == "" {
		return fmt.Errorf("want FROM=TO, got %q", v)
	}
	*r = append(*r, engine.Rewrite{From: from, To: to})
	return nil
}

func runWorkflow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 || (args[0] != "check" && args[0] != "run") {
		fmt.Fprintln(stderr, workflowUsage)
		return exitError{code: 2}
	}
	verb, file := args[0], args[1]
	fs := flag.NewFlagSet("workflow "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	argJSON := fs.String("args", "", "the execution argument as JSON")
	compute := fs.String("compute-endpoint", "", "Compute API base URL, e.g. http://127.0.0.1:9100/compute/v1")
	storage := fs.String("storage-endpoint", "", "Cloud Storage base URL, e.g. http://127.0.0.1:4443")
	googleAuth := fs.Bool("google-auth", false, "use Application Default Credentials for OAuth2")
	logs := fs.Bool("log", false, "log JSON to stderr")
	var rewrites rewriteFlags
	fs.Var(&rewrites, "http-endpoint", "FROM=TO URL prefix rewrite for http.* calls (repeatable)")
	if err := fs.Parse(args[2:]); err != nil {
		return exitError{code: 2}
	}
	if fs.NArg() > 0 {
		return exitError{code: 2, msg: fmt.Sprintf("unexpected arguments %v", fs.Args())}
	}
	src, err := readFileLimit(file, maxWorkflowFileBytes, "workflow")
	if err != nil {
		return err
	}
	wf, err := engine.Load(src)
	if err != nil {
		return exitError{code: 3, msg: fmt.Sprintf("%s: %v", file, err)}
	}
	if verb == "check" {
		fmt.Fprintf(stdout, "%s: ok (subworkflows: %s)\n", file, strings.Join(sortedStrings(wf.Subworkflows()), ", "))
		return nil
	}
	var arg any
	if *argJSON != "" {
		if arg, err = expr.DecodeJSON([]byte(*argJSON)); err != nil {
			return exitError{code: 2, msg: fmt.Sprintf("--args: %v", err)}
		}
	}
	opts := []engine.Option{engine.WithRewrites(rewrites...)}
	if *compute != "" {
		opts = append(opts, engine.WithComputeEndpoint(*compute), engine.WithRewrites(engine.Rewrite{From: engine.DefaultComputeEndpoint, To: *compute}))
	}
	if *storage != "" {
		opts = append(opts, engine.WithStorageEndpoint(*storage), engine.WithRewrites(engine.Rewrite{From: engine.DefaultStorageEndpoint, To: *storage}))
	}
	if *logs {
		opts = append(opts, engine.WithLogger(slog.New(slog.NewJSONHandler(stderr, nil))))
	}
	if *googleAuth {
		ts, err := google.DefaultTokenSource(ctx, "https://www.googleapis.com/auth/cloud-platform")
		if err != nil {
			return fmt.Errorf("application default credentials: %w", err)
		}
		opts = append(opts, engine.WithTokenSource(ts))
	}
	res, err := engine.New(opts...).Run(ctx, wf, arg)
	var we *expr.Error
	if errors.As(err, &we) {
		payload, _ := expr.EncodeJSON(we.Value)
		return fmt.Errorf("workflow failed: %s", payload)
	}
	if err != nil {
		return err
	}
	out, err := json.MarshalIndent(expr.ToJSONable(res), "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the result: %w", err)
	}
	fmt.Fprintln(stdout, string(out))
	return nil
}

func sortedStrings(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
