// Package clients drops photos into `cspipe local up`'s stack with Google's own clients, used as a
// user would (the environment variables the ready block prints, nothing else), and checks that
// each photo yields exactly one result message and its run a summary: Go's storage and pubsub
// clients, Node's @google-cloud/storage and @google-cloud/pubsub (tools/clients, installed by
// scripts/deps.sh), gcloud (storage cp, pubsub subscriptions create/pull through the REST
// surface) and gsutil (XML API) where they are installed, and Python's google-cloud-storage where
// a python has it. One provisioned stack serves every test.
package clients

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cspipe/cspipe/infra/local/stack"
	"github.com/cspipe/cspipe/internal/demophotos"
)

var (
	shared   *stack.Stack
	photoDir string // the demo photos as files
	startErr error
	env      []string // the stack's environment for child processes
)

func TestMain(m *testing.M) {
	code := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		dir, err := os.MkdirTemp("", "cspipe-clients-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		photoDir = dir
		for _, p := range demophotos.All() {
			if err := os.WriteFile(filepath.Join(dir, p.Name), p.Data, 0o644); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		startErr = startStack(ctx)
		if shared != nil {
			defer shared.Close()
		}
		return m.Run()
	}()
	os.Exit(code)
}

func startStack(ctx context.Context) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := stack.ModuleRoot(wd)
	if err != nil {
		return err
	}
	opts := stack.Options{BatchQuiet: 2 * time.Second}
	if os.Getenv("CSPIPE_CLIENTS_LOG") != "" { // the stack's progress lines on stderr, for debugging
		opts.Logger = slog.New(stack.NewProgressHandler(os.Stderr))
	}
	if shared, err = stack.Start(ctx, opts); err != nil {
		return err
	}
	if _, err := shared.Provision(ctx, stack.ProvisionOptions{ModuleRoot: root}); err != nil {
		return err
	}
	env = os.Environ()
	for k, v := range shared.Env() {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
		env = append(env, k+"="+v)
	}
	return nil
}

func needStack(t *testing.T) {
	t.Helper()
	if startErr != nil {
		t.Fatalf("starting the shared stack: %v", startErr)
	}
}

func photos(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(photoDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, filepath.Join(photoDir, e.Name()))
	}
	return out
}

// tally counts result messages for the objects a test uploaded and the summaries of their runs.
type tally struct {
	want      map[string]bool // object names
	records   map[string]int
	runs      map[string]bool
	summaries map[string]int // run id -> images in its summaries
	sumCount  map[string]int // run id -> summary messages
	shards    map[string]int // run id -> its shard count (one summary per shard); 1 when unknown
}

func newTally(prefix string, files []string) *tally {
	t := &tally{want: map[string]bool{}, records: map[string]int{}, runs: map[string]bool{}, summaries: map[string]int{}, sumCount: map[string]int{}, shards: map[string]int{}}
	for _, f := range files {
		t.want[prefix+filepath.Base(f)] = true
	}
	return t
}

// add takes one message's attributes and data.
func (t *tally) add(attrs map[string]string, data []byte) {
	if attrs["kind"] == "summary" {
		var s struct {
			Images     int `json:"images"`
			ShardCount int `json:"shard_count"`
		}
		_ = json.Unmarshal(data, &s)
		t.summaries[attrs["run_id"]] += s.Images
		t.sumCount[attrs["run_id"]]++
		t.shards[attrs["run_id"]] = max(t.shards[attrs["run_id"]], s.ShardCount)
		return
	}
	if t.want[attrs["image"]] {
		t.records[attrs["image"]]++
		t.runs[attrs["run_id"]] = true
	}
}

func (t *tally) complete() bool {
	for o := range t.want {
		if t.records[o] == 0 {
			return false
		}
	}
	for r := range t.runs {
		if t.sumCount[r] < t.shardCount(r) {
			return false
		}
	}
	return true
}

// shardCount is how many summaries run r sends: one per shard (a big batch fans out).
func (t *tally) shardCount(r string) int { return max(t.shards[r], 1) }

// check fails unless every object has exactly one record and its runs' summaries count them.
func (t *tally) check(tb testing.TB) {
	tb.Helper()
	for o := range t.want {
		if n := t.records[o]; n != 1 {
			tb.Errorf("%s: %d result messages, want 1", o, n)
		}
	}
	total := 0
	for r := range t.runs {
		if t.sumCount[r] != t.shardCount(r) {
			tb.Errorf("run %s: %d summary messages, want %d (one per shard)", r, t.sumCount[r], t.shardCount(r))
		}
		total += t.summaries[r]
	}
	if total != len(t.want) {
		tb.Errorf("the summaries of runs %v count %d images, want %d", t.runs, total, len(t.want))
	}
}

// incomplete fails t for results that did not all arrive: what arrived, why the wait ended, and
// how far the uploads got through the stack (stack.TraceUploads), so the failure names the stage
// where they stopped.
func (t *tally) incomplete(tb testing.TB, waited time.Duration, why error) {
	tb.Helper()
	tb.Fatalf("results incomplete after %s (%v): %d of %d records, summaries %v\nwhere the uploads are:\n%s",
		waited.Round(time.Second), why, len(t.records), len(t.want), t.sumCount, t.trace())
}

// trace is stack.TraceUploads for the tally's objects.
func (t *tally) trace() string {
	names := make([]string, 0, len(t.want))
	for o := range t.want {
		names = append(names, o)
	}
	slices.Sort(names)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return shared.TraceUploads(ctx, names)
}

func run(t *testing.T, ctx context.Context, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, out, stderr)
	}
	return out
}
