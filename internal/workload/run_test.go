package workload_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/receipt"
	"github.com/cspipe/cspipe/internal/receipt/receipttest"
	"github.com/cspipe/cspipe/internal/records"
	"github.com/cspipe/cspipe/internal/workload"
	"github.com/cspipe/cspipe/internal/workload/workloadtest"
	"github.com/google/go-cmp/cmp"
)

const (
	inBucket    = "secundus-input"
	outBucket   = "secundus-results"
	modelBucket = "primus-models"
	modelObject = "models/mobilenet.tar.gz"
)

var labels = []string{"background", "cat", "dog", "bird"}

// minter signs receipts like the launcher would.
type minter struct {
	iss    *receipttest.Issuer
	digest string
	calls  atomic.Int32
}

func (m *minter) CustomToken(_ context.Context, aud string, nonces []string) ([]byte, error) {
	m.calls.Add(1)
	return []byte(m.iss.Mint(m.iss.Claims(aud, m.digest, nonces))), nil
}

type fixture struct {
	cfg     workload.Config
	deps    workload.Deps
	store   workloadtest.Store
	model   *blob.Memory
	minter  *minter
	loaded  *atomic.Int32
	archive []byte
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{store: workloadtest.NewStore(), model: blob.NewMemory(), loaded: new(atomic.Int32)}
	f.archive = workloadtest.Archive([]byte("TFL3-fake"), labels)
	a, err := f.model.Write(t.Context(), modelBucket, modelObject, blob.Object{Data: f.archive}, blob.Cond{})
	if err != nil {
		t.Fatal(err)
	}
	f.writeManifest(t, records.Manifest{Object: modelObject, Generation: a.Generation, SHA256: receipt.SHA256(f.archive), Status: records.ManifestAccepted})
	f.minter = &minter{iss: receipttest.New("https://issuer.test"), digest: "sha256:" + strings.Repeat("a", 64)}
	f.cfg = workload.Config{
		RunID: "run-1", ShardCount: 1, InputBucket: inBucket, ResultsBucket: outBucket,
		Model: "gs://" + modelBucket + "/" + modelObject, TopK: 3, Workers: 3,
		WIPProvider: "projects/1/locations/global/workloadIdentityPools/pool/providers/prov",
		STSEndpoint: "https://sts.googleapis.com", IAMCredentialsEndpoint: "https://iamcredentials.googleapis.com",
		LauncherDir: "/run/container_launcher",
	}
	if err := f.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	f.deps = workload.Deps{
		Store: f.store, Model: f.model, Receipts: f.minter,
		LoadModel: func(ctx context.Context, b []byte, k int) (workload.Classifier, error) {
			f.loaded.Add(1)
			return workloadtest.Load(ctx, b, k)
		},
		DefaultToken: func() ([]byte, error) {
			return []byte(f.minter.iss.Mint(f.minter.iss.Claims("https://sts.googleapis.com", f.minter.digest, nil))), nil
		},
	}
	return f
}

func (f *fixture) writeManifest(t *testing.T, m records.Manifest) {
	t.Helper()
	b, _ := json.Marshal(m)
	if _, err := f.model.Write(t.Context(), modelBucket, modelObject+records.ManifestSuffix, blob.Object{Data: b}, blob.Cond{}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) put(t *testing.T, bucket, name string, data []byte) int64 {
	t.Helper()
	a, err := f.store.Write(t.Context(), bucket, name, blob.Object{Data: data}, blob.Cond{})
	if err != nil {
		t.Fatal(err)
	}
	return a.Generation
}

func (f *fixture) read(t *testing.T, name string) []byte {
	t.Helper()
	b, _, err := blob.ReadAll(t.Context(), f.store, outBucket, records.Prefix(f.cfg.RunID, f.cfg.ShardIndex, f.cfg.ShardCount)+name, 0)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseRecords(t *testing.T, b []byte) []records.Record {
	t.Helper()
	var out []records.Record
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var r records.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad record %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// verify checks the run's files with the receipt package, as a user would.
func (f *fixture) verify(t *testing.T) *receipt.Run {
	t.Helper()
	keys, err := receipt.ParseJWKS(f.minter.iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	r, err := receipt.VerifyRun(f.read(t, records.ResultsFile), f.read(t, records.SummaryFile), f.read(t, records.ReceiptFile), keys, receipt.Options{Issuer: f.minter.iss.URL})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRunHappyPathWithBadImages(t *testing.T) {
	f := newFixture(t)
	f.put(t, inBucket, "img/a.png", workloadtest.PNG(4, 4, 1))
	f.put(t, inBucket, "img/b.png", workloadtest.PNG(4, 4, 2))
	f.put(t, inBucket, "img/c-notimage.png", []byte("hello, I am text"))
	f.put(t, inBucket, "img/d-truncated.png", workloadtest.PNG(64, 64, 3)[:60])
	f.put(t, inBucket, "img/e-empty.png", nil)
	f.put(t, inBucket, "img/f-huge.png", workloadtest.HugePNGHeader())
	f.put(t, inBucket, "img/g.png", workloadtest.PNG(4, 4, 3))
	f.put(t, inBucket, "_cspipe/state.json", []byte("{}")) // never an input
	f.cfg.InputPrefix = ""

	out := workload.Run(t.Context(), f.cfg, f.deps)
	if out.Err != nil || !out.SummaryWritten || !out.Receipt {
		t.Fatalf("outcome = %+v", out)
	}
	recs := parseRecords(t, f.read(t, records.ResultsFile))
	type row struct{ Image, Status, Code, Label string }
	var got []row
	for _, r := range recs {
		got = append(got, row{r.Image, r.Status, r.ErrorCode, r.Label})
	}
	want := []row{
		{"img/a.png", "ok", "", "cat"},
		{"img/b.png", "ok", "", "dog"},
		{"img/c-notimage.png", "error", records.ErrNotAnImage, ""},
		{"img/d-truncated.png", "error", records.ErrTruncated, ""},
		{"img/e-empty.png", "error", records.ErrEmpty, ""},
		{"img/f-huge.png", "error", records.ErrTooLarge, ""},
		{"img/g.png", "ok", "", "bird"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	run := f.verify(t)
	s := run.Summary
	if s.Status != records.StatusOK || s.Images != 7 || s.Succeeded != 3 || s.Failed != 4 || len(s.Errors) != 4 {
		t.Errorf("summary = %+v", s)
	}
	if s.ModelSHA256 != receipt.SHA256(f.archive) || s.ImageDigest != f.minter.digest {
		t.Errorf("summary model %q digest %q", s.ModelSHA256, s.ImageDigest)
	}
	if run.Claims.ImageDigest != f.minter.digest {
		t.Errorf("receipt digest = %q", run.Claims.ImageDigest)
	}
}

func TestRunResultsAreDeterministic(t *testing.T) {
	f := newFixture(t)
	for i := range 40 {
		f.put(t, inBucket, fmt.Sprintf("img/%03d.png", i), workloadtest.PNG(3, 3, uint8(i)))
	}
	strip := func(b []byte) []string {
		var out []string
		for _, r := range parseRecords(t, b) {
			r.Timings = nil
			j, _ := json.Marshal(r)
			out = append(out, string(j))
		}
		return out
	}
	var first []string
	for i := range 3 {
		f.cfg.Workers = i + 1
		if out := workload.Run(t.Context(), f.cfg, f.deps); out.Err != nil {
			t.Fatal(out.Err)
		}
		got := strip(f.read(t, records.ResultsFile))
		if i == 0 {
			first = got
			continue
		}
		if diff := cmp.Diff(first, got); diff != "" {
			t.Fatalf("results with %d workers differ (-1 worker +now):\n%s", i+1, diff)
		}
	}
	if len(first) != 40 || !strings.Contains(first[0], `"img/000.png"`) || !strings.Contains(first[39], `"img/039.png"`) {
		t.Errorf("order: first %s, last %s", first[0], first[len(first)-1])
	}
}

func TestRunModelRefused(t *testing.T) {
	stsErr := `{"error":"unauthorized_client","error_description":"The given credential is rejected by the attribute condition."}`
	tests := []struct {
		name    string
		setup   func(t *testing.T, f *fixture)
		wantSub string
	}{
		{
			name: "archive differs from manifest",
			setup: func(t *testing.T, f *fixture) {
				f.writeManifest(t, records.Manifest{Object: modelObject, Generation: 1, SHA256: strings.Repeat("0", 64), Status: records.ManifestAccepted})
			},
			wantSub: "model sha256 mismatch: gs://primus-models/models/mobilenet.tar.gz has sha256 " + receipt.SHA256(workloadtest.Archive([]byte("TFL3-fake"), labels)),
		},
		{
			name:    "pin differs",
			setup:   func(t *testing.T, f *fixture) { f.cfg.ModelSHA256 = strings.Repeat("b", 64) },
			wantSub: "CSPIPE_MODEL_SHA256 expects " + strings.Repeat("b", 64),
		},
		{
			name: "archive replaced after registration",
			setup: func(t *testing.T, f *fixture) {
				f.model.Write(t.Context(), modelBucket, modelObject, blob.Object{Data: []byte("evil")}, blob.Cond{})
			},
			wantSub: "the archive was replaced after registration",
		},
		{
			name: "manifest rejected",
			setup: func(t *testing.T, f *fixture) {
				f.writeManifest(t, records.Manifest{Object: modelObject, Status: records.ManifestRejected, Reason: "tar entry ../x escapes"})
			},
			wantSub: `was not accepted by RegisterModel (status "rejected": tar entry ../x escapes)`,
		},
		{
			// The operator's tee-env pin cannot release a model RegisterModel refused.
			name: "pin of a rejected model",
			setup: func(t *testing.T, f *fixture) {
				f.writeManifest(t, records.Manifest{Object: modelObject, Status: records.ManifestRejected, Reason: "archive too large"})
				f.cfg.ModelSHA256 = receipt.SHA256(f.archive)
			},
			wantSub: `was not accepted by RegisterModel (status "rejected": archive too large)`,
		},
		{
			// Nor an object Primus never registered (a draft under a name RegisterModel ignores).
			name: "pin of an unregistered object",
			setup: func(t *testing.T, f *fixture) {
				draft := "drafts/next-model.tar"
				if _, err := f.model.Write(t.Context(), modelBucket, draft, blob.Object{Data: f.archive}, blob.Cond{}); err != nil {
					t.Fatal(err)
				}
				f.cfg.Model, f.cfg.ModelSHA256 = "gs://"+modelBucket+"/"+draft, receipt.SHA256(f.archive)
			},
			wantSub: "no manifest gs://primus-models/drafts/next-model.tar.manifest.json: the model is not registered",
		},
		{
			name: "token refused by STS",
			setup: func(t *testing.T, f *fixture) {
				f.deps.Model = refusing{fmt.Errorf(`Get "http://x": oauth2/google: status code 400: %s`, stsErr)}
			},
			wantSub: "attestation refused by the token exchange (STS status 400): unauthorized_client: The given credential is rejected by the attribute condition.",
		},
		{
			name: "impersonation refused",
			setup: func(t *testing.T, f *fixture) {
				f.deps.Model = refusing{errors.New(`oauth2/google: status code 403: {"error":{"code":403,"message":"Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).","status":"PERMISSION_DENIED"}}`)}
			},
			wantSub: "impersonation refused by IAM Credentials (status 403): PERMISSION_DENIED: Permission 'iam.serviceAccounts.getAccessToken' denied",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.put(t, inBucket, "a.png", workloadtest.PNG(2, 2, 1))
			tc.setup(t, f)
			out := workload.Run(t.Context(), f.cfg, f.deps)
			if out.Err == nil || !out.SummaryWritten {
				t.Fatalf("outcome = %+v, want a failure with a summary", out)
			}
			if f.loaded.Load() != 0 {
				t.Fatal("the model was loaded")
			}
			s := f.verify(t).Summary
			if s.Status != records.StatusFailed || !strings.Contains(s.Error, tc.wantSub) || !strings.Contains(s.Error, "model not loaded") {
				t.Errorf("summary status %q error %q, want it to contain %q", s.Status, s.Error, tc.wantSub)
			}
			if s.Images != 0 || len(f.read(t, records.ResultsFile)) != 0 {
				t.Errorf("images = %d; a refused run classifies nothing", s.Images)
			}
		})
	}
}

// refusing is a model store whose every call fails like a refused credential would.
type refusing struct{ err error }

func (r refusing) NewReader(context.Context, string, string) (io.ReadCloser, blob.Attrs, error) {
	return nil, blob.Attrs{}, r.err
}
func (r refusing) Write(context.Context, string, string, blob.Object, blob.Cond) (blob.Attrs, error) {
	return blob.Attrs{}, r.err
}
func (r refusing) Attrs(context.Context, string, string) (blob.Attrs, error) {
	return blob.Attrs{}, r.err
}
func (r refusing) List(context.Context, string, string, func(blob.Attrs) error) error { return r.err }

func TestRunBatchShards(t *testing.T) {
	// Items in the input bucket (the default) or in ScheduleRun's state bucket (CSPIPE_BATCH_BUCKET).
	for _, itemsBucket := range []string{"", "cspipe-state"} {
		t.Run("items in "+orString(itemsBucket, "the input bucket"), func(t *testing.T) { testRunBatchShards(t, itemsBucket) })
	}
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func testRunBatchShards(t *testing.T, batchBucket string) {
	f := newFixture(t)
	itemsIn := orString(batchBucket, inBucket)
	const n = 10
	for i := range n {
		name := fmt.Sprintf("up/%02d.png", i)
		gen := f.put(t, inBucket, name, workloadtest.PNG(2, 2, uint8(i)))
		item, _ := json.Marshal(map[string]any{"bucket": inBucket, "name": name, "generation": gen})
		f.put(t, itemsIn, fmt.Sprintf("batches/b1/items/%02d.json", i), item)
	}
	// A replaced object: the scheduled generation no longer exists.
	item, _ := json.Marshal(map[string]any{"bucket": inBucket, "name": "up/00.png", "generation": 1})
	f.put(t, itemsIn, "batches/b1/items/10.json", item)

	f.cfg.BatchPrefix, f.cfg.BatchBucket, f.cfg.ShardCount = "batches/b1/items/", batchBucket, 3
	seen := map[string]int{}
	for shard := range 3 {
		f.cfg.ShardIndex = shard
		if out := workload.Run(t.Context(), f.cfg, f.deps); out.Err != nil {
			t.Fatal(out.Err)
		}
		for _, r := range parseRecords(t, f.read(t, records.ResultsFile)) {
			seen[r.Image]++
			if r.Shard != shard {
				t.Errorf("record %s has shard %d, want %d", r.Image, r.Shard, shard)
			}
			if r.Image == "up/00.png" && r.Status == records.StatusError && !strings.Contains(r.Error, "replaced since") {
				t.Errorf("stale item error = %q", r.Error)
			}
		}
	}
	if len(seen) != n || seen["up/00.png"] != 2 {
		t.Errorf("records per image = %v, want each once and up/00.png twice (item 00 and 10)", seen)
	}
}

func TestReportConfigError(t *testing.T) {
	f := newFixture(t)
	f.cfg.ShardIndex = 7 // invalid with count 1: the summary goes to the run's root
	out := workload.ReportConfigError(t.Context(), f.cfg, f.deps, errors.New("CSPIPE_SHARD_INDEX: 7 is outside 0..0"))
	if !out.SummaryWritten {
		t.Fatalf("outcome = %+v", out)
	}
	f.cfg.ShardIndex = 0
	s := f.verify(t).Summary
	if s.Status != records.StatusFailed || s.Error != "invalid configuration: CSPIPE_SHARD_INDEX: 7 is outside 0..0" {
		t.Errorf("summary = %+v", s)
	}
	f.cfg.ResultsBucket = "Not A Bucket"
	if out := workload.ReportConfigError(t.Context(), f.cfg, f.deps, errors.New("x")); out.SummaryWritten {
		t.Error("wrote a summary to an invalid bucket")
	}
}
