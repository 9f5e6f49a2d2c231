package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"
	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/cspipe/cspipe/infra/local/stack"
	"github.com/cspipe/cspipe/internal/batch"
	"github.com/cspipe/cspipe/internal/batch/runwait"
	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/demophotos"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/receipt"
	"github.com/cspipe/cspipe/internal/records"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
)

func init() {
	register("demo", "run the whole pipeline on the embedded local stack, then the unauthorized workload (= make run)", runDemo)
}

// demo holds the state of one `cspipe demo` run.
type demo struct {
	out      io.Writer
	start    time.Time
	s        *stack.Stack
	primus   *storage.Client
	secundus *storage.Client
	missing  []string
	root     string // the module root the workload is built from
	ph       phases
	// The workload binary, compiled once for both images (startCompile), and the images packed
	// from it in the background (startPack).
	compileOnce  sync.Once
	compiled     chan struct{}
	bin          []byte
	binErr       error
	binCached    bool
	binTook      time.Duration
	compileShown bool
	packMu       sync.Mutex
	packs        map[string]*packed
	// push is d.s.Push unless a test sets it.
	push func(ctx context.Context, img v1.Image, repo, tag string) (string, error)
}

func (d *demo) progress(format string, a ...any) {
	fmt.Fprintf(d.out, "[%5.1fs] %s\n", time.Since(d.start).Seconds(), fmt.Sprintf(format, a...))
}

func (d *demo) has(fn string) bool { return slices.Contains(d.s.Functions, fn) }

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	images := fs.String("images", "", "directory of photos to classify (default: the repository's own sample photos)")
	verbose := fs.Bool("v", false, "show the workload's and the stack's logs on stderr")
	timeout := fs.Duration("timeout", 0, "give up after this long (default 5m plus 1s per photo)")
	if err := fs.Parse(args); err != nil {
		return exitError{code: 2}
	}
	d := &demo{out: stdout, start: time.Now(), ph: phases{on: *verbose}}

	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := stack.ModuleRoot(wd)
	if err != nil {
		return err
	}
	d.root = root
	photos, err := findPhotos(*images)
	if err != nil {
		return err
	}
	if *timeout <= 0 {
		*timeout = 5*time.Minute + time.Duration(len(photos))*time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	// The workload compiles (or comes from the binary cache) and its image packs while the stack
	// starts.
	d.startPack(ctx, root, "")
	d.progress("starting the local stack (no cloud account, no Docker)…")
	opts := demoStackOptions(len(photos))
	if *verbose {
		opts.WorkloadLogs = stderr
		opts.Logger = slogJSON(stderr)
	}
	d.s, err = stack.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer d.s.Close()
	d.phaseDone("stack up")
	d.progress("stack up: storage %s, pub/sub %s, registry %s, compute %s", d.s.GCS.URL(), d.s.PubSubServer.Addr, d.s.Registry.Host(), d.s.Compute.URL())
	for _, m := range d.s.Missing {
		d.progress("MISSING in this build: Cloud Function %s — the demo does its step directly and will exit non-zero", m)
		d.missing = append(d.missing, "function "+m)
	}
	if d.primus, err = d.s.StorageClient(ctx, iam.User(stack.PrimusAdmin)); err != nil {
		return err
	}
	defer d.primus.Close()
	if d.secundus, err = d.s.StorageClient(ctx, iam.User(stack.SecundusAdmin)); err != nil {
		return err
	}
	defer d.secundus.Close()

	ok1, err := d.authorizedRun(ctx, root, photos)
	if err != nil {
		return err
	}
	ok2, err := d.unauthorizedRun(ctx)
	if err != nil {
		return err
	}
	d.phaseSummary()
	fmt.Fprintln(stdout)
	d.progress("done in %.1fs", time.Since(d.start).Seconds())
	switch {
	case len(d.missing) > 0:
		return exitError{code: 1, msg: "demo incomplete; missing in this build: " + strings.Join(d.missing, ", ")}
	case !ok1 || !ok2:
		return exitError{code: 1, msg: "an outcome was not as expected (see above)"}
	}
	fmt.Fprintln(stdout, "both outcomes as expected: the pinned image classified the photos; the unpinned image was refused by STS.")
	return nil
}

// demoStackOptions are the batching settings of the demo's stack. The demo knows how many photos
// it uploads, so the batch closes as soon as it holds them all (BatchMaxItems, checked at every
// poll of the run's workflow, then the settle time) instead of sitting out a quiet period after
// the last upload. The quiet period is the local stack's (5 s: polls every second, settles 2 s):
// it only decides when the uploads stall for that long mid-burst, and then the photos go into
// two runs, which the demo waits for and reports both — still every photo classified once.
func demoStackOptions(photos int) stack.Options {
	return stack.Options{BatchQuiet: demoQuiet, BatchMaxItems: photos}
}

// demoQuiet is the demo's quiet period (see demoStackOptions).
const demoQuiet = 5 * time.Second

// unauthorizedVariant marks Secundus's build of the workload (another digest).
const unauthorizedVariant = "secundus"

// findPhotos returns the demo's photos: the files of --images, or the repository's own samples
// (internal/demophotos, embedded in the binary).
func findPhotos(dir string) ([]demophotos.Photo, error) {
	if dir == "" {
		return demophotos.All(), nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the photos of --images: %w", err)
	}
	var out []demophotos.Photo
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := readFileLimit(filepath.Join(dir, e.Name()), maxPhotoFileBytes, "photo")
		if err != nil {
			return nil, fmt.Errorf("reading the photos of --images: %w", err)
		}
		out = append(out, demophotos.Photo{Name: e.Name(), Data: b})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no photos in %s", dir)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (d *demo) upload(ctx context.Context, c *storage.Client, bucket, name string, data []byte) error {
	w := c.Bucket(bucket).Object(name).NewWriter(ctx)
	if _, err := w.Write(data); err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("uploading gs://%s/%s: %w", bucket, name, err)
	}
	return nil
}

func readObject(ctx context.Context, c *storage.Client, bucket, name string) ([]byte, error) {
	r, err := c.Bucket(bucket).Object(name).NewReader(ctx)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// waitObject polls until the object exists.
func waitObject(ctx context.Context, c *storage.Client, bucket, name string) ([]byte, error) {
	for {
		b, err := readObject(ctx, c, bucket, name)
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, storage.ErrObjectNotExist) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for gs://%s/%s: %w", bucket, name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// authorizedRun is the codelab's happy path. It reports whether the outcome was as expected.
func (d *demo) authorizedRun(ctx context.Context, root string, photos []demophotos.Photo) (bool, error) {
	d.progress("building the workload image (static Go binary, reproducible OCI image, launch-policy labels)…")
	ref, err := d.buildAndPush(ctx, root, d.s.PrimusRepository(), "")
	if err != nil {
		return false, err
	}
	digest := ref[strings.Index(ref, "@")+1:]
	d.progress("pushed %s:latest → %s", d.s.PrimusRepository(), digest)
	if d.has("PinWorkloadImage") {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := d.s.WaitPinned(wctx, digest)
		if err == nil {
			// ScheduleRun launches what the audit log's head names; it is written just after the
			// provider's condition.
			err = d.s.WaitPinRecorded(wctx, digest)
		}
		cancel()
		if err != nil {
			return false, err
		}
		d.progress("PinWorkloadImage pinned %s in the provider's attribute condition (gcr topic → function → IAM PATCH)", digest)
	} else if _, err := d.s.PinDirect(ref, false); err != nil {
		return false, err
	} else {
		d.progress("pinned %s directly (PinWorkloadImage is missing)", digest)
	}
	d.phaseDone("pin")

	const mcfg = "MobileNet v1, width 0.25, 224×224, 1001 classes"
	d.progress("uploading a generated %s — its weights are SYNTHETIC (random), so its labels mean nothing", mcfg)
	arc, err := stack.SyntheticModel(modelgen.Config{Arch: "v1", Width: 0.25, Size: 224, Classes: 1001, Seed: 7})
	if err != nil {
		return false, err
	}
	if err := d.upload(ctx, d.primus, stack.ModelBucket, stack.ModelObject, arc); err != nil {
		return false, err
	}
	mb, err := waitObject(ctx, d.primus, stack.ModelBucket, stack.ModelObject+records.ManifestSuffix)
	if err != nil {
		return false, err
	}
	var man records.Manifest
	if err := json.Unmarshal(mb, &man); err != nil {
		return false, err
	}
	d.progress("RegisterModel: gs://%s/%s %s (sha256 %s…)", stack.ModelBucket, stack.ModelObject, man.Status, short(man.SHA256))
	if man.Status != records.ManifestAccepted {
		return false, fmt.Errorf("the model was rejected: %s", man.Reason)
	}
	d.phaseDone("model register")

	names := make([]string, len(photos))
	contents := make([][]byte, len(photos))
	for i, p := range photos {
		names[i], contents[i] = p.Name, p.Data
	}
	d.progress("Secundus uploads %d photos to gs://%s/photos/", len(photos), stack.InputBucket)
	up := time.Now()
	uploads, err := d.uploadPhotos(ctx, names, contents)
	if err != nil {
		return false, err
	}
	d.progress("uploaded %d photos in %.1fs", len(uploads), time.Since(up).Seconds())
	d.phaseDone("uploads")
	// Secundus's image for the second part packs while the run goes.
	d.startPack(ctx, root, unauthorizedVariant)
	if !d.has("ScheduleRun") {
		runID := fmt.Sprintf("demo-%d", time.Now().Unix())
		if _, err := d.s.StartLaunch(ctx, d.s.NewLaunchArgument(runID, ref, map[string]string{"CSPIPE_INPUT_PREFIX": "photos/"})); err != nil {
			return false, err
		}
		d.progress("started the launch workflow directly (ScheduleRun is missing), run %s", runID)
		res, err := d.collect(ctx, runID)
		if err != nil {
			return false, err
		}
		d.printResults(res)
		ok := res.summary.Status == records.StatusOK && res.summary.Succeeded == len(photos)
		return ok && d.checkReceipt(ctx, res.summary.RunID, 1, digest), nil
	}
	d.progress("ScheduleRun batches the uploads (a batch closes after %s without uploads); its run's workflow then boots Confidential Space VMs…", d.s.Options().BatchQuiet)
	runs, err := runwait.Wait(ctx, blob.NewGCS(d.secundus), uploads, runwait.Options{
		StateBucket: stack.StateBucket, ResultsBucket: stack.ResultsBucket, Progress: d.progress})
	if err != nil {
		return false, err
	}
	d.progress("all %d uploads went into %d run(s), %.1fs after the first upload%s", len(uploads), len(runs), time.Since(up).Seconds(), d.sealReason(ctx, runs))
	d.phaseDone("run (batch, VMs, classify)")
	got := 0
	ok := true
	for _, run := range runs {
		res := &runResults{summary: mergeSummaries(run), via: "gs://" + stack.ResultsBucket + "/runs/" + run.RunID + "/"}
		if d.has("PublishResults") {
			if res, err = d.collectRun(ctx, run); err != nil {
				return false, err
			}
		}
		d.printResults(res)
		got += run.Succeeded
		if run.Status != records.StatusOK {
			ok = false
			fmt.Fprintf(d.out, "UNEXPECTED: run %s failed: %s\n", run.RunID, strings.Join(run.Errors, "; "))
		}
		ok = d.checkReceipt(ctx, run.RunID, run.ShardCount, digest) && ok
	}
	if got != len(photos) {
		ok = false
		fmt.Fprintf(d.out, "UNEXPECTED: the runs classified %d of the %d photos\n", got, len(photos))
	}
	d.phaseDone("results + receipt check")
	return ok, nil
}

// sealReason says why the last run's batch closed (max_items: it held all the photos; quiet: no
// upload for the quiet period), from the batch head, while no later upload has opened another.
func (d *demo) sealReason(ctx context.Context, runs []runwait.Run) string {
	if len(runs) == 0 {
		return ""
	}
	b, err := readObject(ctx, d.secundus, stack.StateBucket, batch.HeadObject())
	if err != nil {
		return ""
	}
	var h batch.Head
	if json.Unmarshal(b, &h) != nil || h.BatchID != runs[len(runs)-1].BatchID || h.SealReason == "" {
		return ""
	}
	return "; the batch closed on " + h.SealReason
}

// uploadPhotos uploads the photos under photos/ (eight at a time, as a folder copy would) and
// returns the object versions written.
func (d *demo) uploadPhotos(ctx context.Context, photos []string, contents [][]byte) ([]runwait.Upload, error) {
	out := make([]runwait.Upload, len(photos))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, p := range photos {
		g.Go(func() error {
			name := "photos/" + filepath.Base(p)
			w := d.secundus.Bucket(stack.InputBucket).Object(name).NewWriter(gctx)
			if _, err := w.Write(contents[i]); err != nil {
				w.Close()
				return err
			}
			if err := w.Close(); err != nil {
				return fmt.Errorf("uploading gs://%s/%s: %w", stack.InputBucket, name, err)
			}
			out[i] = runwait.Upload{Name: name, Generation: w.Attrs().Generation}
			return nil
		})
	}
	return out, g.Wait()
}

// mergeSummaries folds a run's shard summaries into one line for printResults.
func mergeSummaries(run runwait.Run) records.Summary {
	s := records.Summary{RunID: run.RunID, ShardCount: run.ShardCount, Status: run.Status, Images: run.Images,
		Succeeded: run.Succeeded, Failed: run.Failed, Error: strings.Join(run.Errors, "; ")}
	for _, sh := range run.Summaries {
		s.DurationMS = max(s.DurationMS, sh.DurationMS)
		s.ModelSHA256, s.ImageDigest = cmp.Or(s.ModelSHA256, sh.ModelSHA256), cmp.Or(s.ImageDigest, sh.ImageDigest)
	}
	return s
}

// collectRun reads a finished run's messages from the results topic: one per image and one
// summary per shard.
func (d *demo) collectRun(ctx context.Context, run runwait.Run) (*runResults, error) {
	res := &runResults{summary: mergeSummaries(run), via: "projects/" + stack.Secundus.ID + "/topics/" + stack.ResultsTopic}
	sub := d.s.PubSub.Subscriber("projects/" + stack.Secundus.ID + "/subscriptions/" + stack.ResultsSub)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	summaries := 0
	err := sub.Receive(rctx, func(_ context.Context, m *pubsub.Message) {
		mu.Lock()
		defer mu.Unlock()
		if m.Attributes[records.AttrRunID] != run.RunID {
			m.Nack() // another run's: leave it for its reader
			return
		}
		m.Ack()
		if m.Attributes[records.AttrKind] == "summary" {
			if summaries++; summaries == run.ShardCount {
				cancel()
			}
			return
		}
		var r records.Record
		if json.Unmarshal(m.Data, &r) == nil {
			res.records = append(res.records, r)
		}
	})
	if summaries < run.ShardCount {
		if err == nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("waiting for run %s's messages on the topic: %w", run.RunID, err)
	}
	return res, nil
}

// unauthorizedRun pushes the workload to Secundus's own repository and launches it against
// Primus's model: STS must refuse it.
func (d *demo) unauthorizedRun(ctx context.Context) (bool, error) {
	fmt.Fprintln(d.out)
	d.progress("the unauthorized workload: Secundus pushes its own build of the workload to its own repository…")
	// The same program marked as a variant: another digest, as any rebuild or change would give.
	ref, err := d.buildAndPush(ctx, d.root, d.s.SecundusRepository(), unauthorizedVariant)
	if err != nil {
		return false, err
	}
	digest := ref[strings.Index(ref, "@")+1:]
	if strings.Contains(d.s.Condition(), digest) {
		return false, errors.New("the unauthorized image has the pinned digest; the demo cannot show the gate")
	}
	d.progress("pushed %s → %s (not the pinned digest)", d.s.SecundusRepository(), digest)
	runID := fmt.Sprintf("unauthorized-%d", time.Now().Unix())
	if _, err := d.s.StartLaunch(ctx, d.s.NewLaunchArgument(runID, ref, map[string]string{"CSPIPE_INPUT_PREFIX": "photos/"})); err != nil {
		return false, err
	}
	d.progress("Secundus launches it against Primus's model (run %s)…", runID)
	res, err := d.collect(ctx, runID)
	if err != nil {
		return false, err
	}
	d.phaseDone("unauthorized run")
	fmt.Fprintf(d.out, "\nrun %s: status %s\nerror: %s\n", runID, res.summary.Status, res.summary.Error)
	ok := res.summary.Status == records.StatusFailed && strings.Contains(res.summary.Error, "rejected by the attribute condition")
	if !ok {
		fmt.Fprintln(d.out, "UNEXPECTED: the unauthorized workload was not refused by the attribute condition")
	} else {
		fmt.Fprintln(d.out, "STS refused the token: Primus's gate held, and the model was never released.")
	}
	return ok, nil
}

func slogJSON(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// runResults is what a run produced.
type runResults struct {
	records []records.Record
	summary records.Summary
	via     string
}

// collect waits for a run's results: from the results topic when PublishResults is wired (the
// first summary seen names the run when runID is empty), else from the results bucket.
func (d *demo) collect(ctx context.Context, runID string) (*runResults, error) {
	if d.has("PublishResults") {
		return d.collectFromTopic(ctx, runID)
	}
	if runID == "" {
		return nil, errors.New("cannot tell which run to wait for without PublishResults")
	}
	prefix := records.Prefix(runID, 0, 1)
	sb, err := waitObject(ctx, d.secundus, stack.ResultsBucket, prefix+records.SummaryFile)
	if err != nil {
		return nil, err
	}
	res := &runResults{via: "gs://" + stack.ResultsBucket + "/" + prefix + " (PublishResults is missing)"}
	if err := json.Unmarshal(sb, &res.summary); err != nil {
		return nil, err
	}
	rb, err := readObject(ctx, d.secundus, stack.ResultsBucket, prefix+records.ResultsFile)
	if err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(rb)), "\n") {
			var r records.Record
			if json.Unmarshal([]byte(line), &r) == nil {
				res.records = append(res.records, r)
			}
		}
	}
	return res, nil
}

func (d *demo) collectFromTopic(ctx context.Context, runID string) (*runResults, error) {
	res := &runResults{via: "projects/" + stack.Secundus.ID + "/topics/" + stack.ResultsTopic}
	sub := d.s.PubSub.Subscriber("projects/" + stack.Secundus.ID + "/subscriptions/" + stack.ResultsSub)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var recs []records.Record
	found := false
	err := sub.Receive(rctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		run := m.Attributes[records.AttrRunID]
		if runID != "" && run != runID {
			return
		}
		if m.Attributes[records.AttrKind] == "summary" {
			var s records.Summary
			if json.Unmarshal(m.Data, &s) == nil {
				res.summary = s
				runID = run
				found = true
				cancel()
			}
			return
		}
		var r records.Record
		if json.Unmarshal(m.Data, &r) == nil {
			recs = append(recs, r)
		}
	})
	if !found {
		if err == nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("waiting for results on the topic: %w", err)
	}
	for _, r := range recs {
		if r.RunID == runID {
			res.records = append(res.records, r)
		}
	}
	return res, nil
}

func (d *demo) printResults(res *runResults) {
	fmt.Fprintf(d.out, "\nresults of run %s (from %s):\n", res.summary.RunID, res.via)
	tw := tabwriter.NewWriter(d.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tTOP LABEL\tSCORE\tMS")
	sort.Slice(res.records, func(i, j int) bool { return res.records[i].Image < res.records[j].Image })
	shown := res.records
	if len(shown) > maxShownRecords {
		shown = shown[:maxShownRecords]
	}
	for _, r := range shown {
		label, score, ms := r.Label, "", ""
		if r.Status != records.StatusOK {
			label = "error: " + r.ErrorCode
		}
		if len(r.TopK) > 0 {
			score = fmt.Sprintf("%.4f", r.TopK[0].Score)
		}
		if r.Timings != nil {
			ms = fmt.Sprintf("%.1f", r.Timings.TotalMS)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Image, label, score, ms)
	}
	tw.Flush()
	if n := len(res.records) - len(shown); n > 0 {
		fmt.Fprintf(d.out, "… and %d more (%d records in all)\n", n, len(res.records))
	}
	s := res.summary
	if s.ShardCount > 1 {
		fmt.Fprintf(d.out, "%d shards (one VM each)\n", s.ShardCount)
	}
	fmt.Fprintf(d.out, "summary: status %s, %d images, %d ok, %d failed, %.0f ms; model sha256 %s…, image %s\n",
		s.Status, s.Images, s.Succeeded, s.Failed, s.DurationMS, short(s.ModelSHA256), s.ImageDigest)
	fmt.Fprintln(d.out, "(the model's weights are synthetic: the labels show the pipeline works, not what the photos show)")
}

// maxShownRecords bounds the per-image table.
const maxShownRecords = 30

// checkReceipt verifies each shard's attested receipt against the local verifier's keys and the
// digest the demo pinned.
func (d *demo) checkReceipt(ctx context.Context, runID string, shards int, approved string) bool {
	for shard := range max(shards, 1) {
		if !d.checkShardReceipt(ctx, records.Prefix(runID, shard, shards), approved) {
			return false
		}
	}
	return true
}

func (d *demo) checkShardReceipt(ctx context.Context, prefix, approved string) bool {
	var files [3][]byte
	for i, n := range []string{records.ResultsFile, records.SummaryFile, records.ReceiptFile} {
		b, err := readObject(ctx, d.secundus, stack.ResultsBucket, prefix+n)
		if err != nil {
			fmt.Fprintf(d.out, "receipt check FAILED: reading %s: %v\n", n, err)
			return false
		}
		files[i] = b
	}
	keys, err := receipt.FetchKeys(ctx, http.DefaultClient, d.s.Issuer.URL())
	if err != nil {
		fmt.Fprintf(d.out, "receipt check FAILED: fetching the verifier's keys: %v\n", err)
		return false
	}
	run, err := receipt.VerifyRun(files[0], files[1], files[2], keys, receipt.Options{Issuer: d.s.Issuer.URL(), ExpectDigest: approved})
	if err != nil {
		fmt.Fprintf(d.out, "receipt check FAILED: %v\n", err)
		return false
	}
	c := run.Claims
	fmt.Fprintf(d.out, "receipt check OK (%s): results.jsonl and summary.json are bound (eat_nonce) to a token signed by %s for the approved image %s, support attributes %v, dbgstat %s\n",
		prefix, c.Issuer, c.ImageDigest, c.SupportAttributes, c.DbgStat)
	return true
}
