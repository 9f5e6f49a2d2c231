package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/golang-jwt/jwt/v5"

	"github.com/cspipe/cspipe/internal/archive"
	"github.com/cspipe/cspipe/internal/imagebuild"
	"github.com/cspipe/cspipe/internal/receipt"
	"github.com/cspipe/cspipe/internal/receipt/receipttest"
	"github.com/cspipe/cspipe/internal/records"
	"github.com/cspipe/cspipe/internal/workload/workloadtest"
)

// The workload runs as a child process, built once with the test hook (-tags cspipe_testhook),
// against fake-gcs-server behind a token-checking proxy, a metadata stand-in for the VM's
// identity, fake STS and IAM Credentials endpoints, and a fake launcher (token file + teeserver
// socket) signing with an in-test key.

var workloadBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cspipe-wl")
	if err != nil {
		panic(err)
	}
	workloadBin = filepath.Join(dir, "workload")
	// The image build's builder (internal/imagebuild: its flags, so the build cache is shared, and
	// its binary cache, so an unchanged workload is not linked again), plus the test hook.
	bin, err := imagebuild.CompileBinary(context.Background(), imagebuild.Options{ModuleDir: "..", Package: "./workload", GOARCH: runtime.GOARCH, Tags: []string{"cspipe_testhook"}})
	if err == nil {
		err = os.WriteFile(workloadBin, bin.Bytes, 0o755)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "building the workload:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	inBucket    = "secundus-input"
	outBucket   = "secundus-results"
	modelBucket = "primus-models"
	modelObject = "models/mobilenet.tar.gz"
	primusSA    = "primus-sa@primus-proj.iam.gserviceaccount.com"
	provider    = "projects/123/locations/global/workloadIdentityPools/primus-pool/providers/attestation"
	vmToken     = "vm-identity-token"
	primusToken = "primus-sa-token"
	stsRejected = `{"error":"unauthorized_client","error_description":"The given credential is rejected by the attribute condition."}`
)

// env is one test's fake world.
type env struct {
	t        *testing.T
	gcs      *fakestorage.Server
	iss      *receipttest.Issuer
	digest   string
	launcher string // launcher dir
	vars     map[string]string
	reject   atomic.Bool // STS refuses the token
	modelReq atomic.Int32
	// synthetic, when n > 0, serves the input bucket as n generated images (see syntheticInput).
	synthetic atomic.Int64
}

func newEnv(t *testing.T, modelArchive []byte) *env {
	t.Helper()
	e := &env{t: t, digest: "sha256:" + strings.Repeat("c", 64)}
	var err error
	e.gcs, err = fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Writer: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.gcs.Stop)
	for _, b := range []string{inBucket, outBucket, modelBucket} {
		e.gcs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: b})
	}
	e.gcs.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: modelBucket, Name: modelObject, Generation: 7}, Content: modelArchive})
	e.putManifest(receipt.SHA256(modelArchive), 7)

	e.iss = receipttest.New("https://attest.test")
	gcsProxy := httptest.NewServer(e.authProxy())
	t.Cleanup(gcsProxy.Close)
	metadata := httptest.NewServer(http.HandlerFunc(serveMetadata))
	t.Cleanup(metadata.Close)
	sts := httptest.NewServer(e.stsAndIAM())
	t.Cleanup(sts.Close)
	e.launcher = e.startLauncher()

	mu, _ := url.Parse(metadata.URL)
	e.vars = map[string]string{
		"CSPIPE_RUN_ID": "run-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), "CSPIPE_INPUT_BUCKET": inBucket,
		"CSPIPE_RESULTS_BUCKET": outBucket, "CSPIPE_MODEL": "gs://" + modelBucket + "/" + modelObject,
		"CSPIPE_WIP_PROVIDER": provider, "CSPIPE_PRIMUS_SERVICE_ACCOUNT": primusSA,
		"CSPIPE_STS_ENDPOINT": sts.URL, "CSPIPE_IAMCREDENTIALS_ENDPOINT": sts.URL,
		"CSPIPE_STORAGE_ENDPOINT": gcsProxy.URL + "/storage/v1/", "CSPIPE_TOP_K": "3",
		"CSPIPE_LAUNCHER_DIR": e.launcher, "GCE_METADATA_HOST": mu.Host,
		"CSPIPE_TEST_MODEL_LOADED": filepath.Join(t.TempDir(), "model-loaded"),
	}
	return e
}

func (e *env) putManifest(sha string, gen int64) {
	b, _ := json.Marshal(records.Manifest{Object: modelObject, Generation: gen, SHA256: sha, Status: records.ManifestAccepted})
	e.gcs.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: modelBucket, Name: modelObject + records.ManifestSuffix}, Content: b})
}

func (e *env) putImage(name string, data []byte) {
	e.gcs.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: inBucket, Name: name}, Content: data})
}

// authProxy lets the model bucket be read only with Primus's impersonated token and everything
// else only with the VM's token, like bucket IAM would.
func (e *env) authProxy() http.Handler {
	target, _ := url.Parse(e.gcs.URL())
	rp := httputil.NewSingleHostReverseProxy(target)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := "Bearer " + vmToken
		if strings.Contains(r.URL.Path, "/b/"+modelBucket+"/") || strings.Contains(r.URL.Path, "/"+modelBucket+"/") {
			want = "Bearer " + primusToken
			e.modelReq.Add(1)
		}
		if r.Header.Get("Authorization") != want {
			http.Error(w, `{"error":{"code":403,"message":"forbidden"}}`, http.StatusForbidden)
			return
		}
		if e.synthetic.Load() > 0 && strings.HasPrefix(r.URL.Path, "/storage/v1/b/"+inBucket+"/o") {
			e.syntheticInput(w, r, rp)
			return
		}
		rp.ServeHTTP(w, r)
	})
}

// syntheticInput serves the input bucket as e.synthetic images named in/00000.png … plus
// in/zz-bad.png, listed in pages of at most 1000 like GCS. fake-gcs-server's memory backend
// keeps a bucket's objects in a slice (linear lookups, quadratic set-up) and ignores maxResults
// on object lists, so a 10,000-object bucket there would measure the fake, not the workload.
// Object reads are forwarded to two template objects held by fake-gcs-server.
func (e *env) syntheticInput(w http.ResponseWriter, r *http.Request, rp http.Handler) {
	n := int(e.synthetic.Load())
	name := func(i int) string {
		if i == n {
			return "in/zz-bad.png"
		}
		return fmt.Sprintf("in/%05d.png", i)
	}
	if obj, ok := strings.CutPrefix(r.URL.Path, "/storage/v1/b/"+inBucket+"/o/"); ok {
		tmpl := "good.png"
		if strings.Contains(obj, "zz-bad") {
			tmpl = "bad.png"
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath = "/storage/v1/b/templates/o/"+tmpl, ""
		rp.ServeHTTP(w, r2)
		return
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("pageToken"))
	size := 1000
	if m, err := strconv.Atoi(r.URL.Query().Get("maxResults")); err == nil && m > 0 && m < size {
		size = m
	}
	var page struct {
		Kind          string           `json:"kind"`
		Items         []map[string]any `json:"items"`
		NextPageToken string           `json:"nextPageToken,omitempty"`
	}
	page.Kind = "storage#objects"
	end := min(start+size, n+1)
	for i := start; i < end; i++ {
		page.Items = append(page.Items, map[string]any{"kind": "storage#object", "bucket": inBucket, "name": name(i),
			"generation": "1", "size": "200", "contentType": "image/png"})
	}
	if end <= n {
		page.NextPageToken = strconv.Itoa(end)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(page)
}

func serveMetadata(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Metadata-Flavor") != "Google" {
		http.Error(w, "missing Metadata-Flavor", http.StatusForbidden)
		return
	}
	w.Header().Set("Metadata-Flavor", "Google")
	switch {
	case strings.HasPrefix(r.URL.Path, "/computeMetadata/v1/instance/service-accounts/default/token"):
		json.NewEncoder(w).Encode(map[string]any{"access_token": vmToken, "expires_in": 3600, "token_type": "Bearer"})
	case r.URL.Path == "/computeMetadata/v1/project/project-id":
		io.WriteString(w, "secundus-proj")
	case r.URL.Path == "/computeMetadata/v1/universe/universe-domain":
		io.WriteString(w, "googleapis.com")
	case strings.HasPrefix(r.URL.Path, "/computeMetadata/v1/instance/service-accounts/default/email"):
		io.WriteString(w, "workload-sa@secundus-proj.iam.gserviceaccount.com")
	default:
		http.NotFound(w, r)
	}
}

// stsAndIAM verifies the attestation token the way STS would (signature, audience) and then
// answers generateAccessToken for the federated token.
func (e *env) stsAndIAM() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		stsErr := func(body string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, body)
		}
		if r.Form.Get("audience") != "//iam.googleapis.com/"+provider || r.Form.Get("subject_token_type") != "urn:ietf:params:oauth:token-type:jwt" {
			stsErr(`{"error":"invalid_request","error_description":"bad audience or subject token type"}`)
			return
		}
		keys, _ := receipt.ParseJWKS(e.iss.JWKS())
		_, err := jwt.Parse(r.Form.Get("subject_token"), func(t *jwt.Token) (any, error) { return keys[e.iss.Kid], nil },
			jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience("https://sts.googleapis.com"))
		if err != nil {
			stsErr(`{"error":"invalid_grant","error_description":"bad token"}`)
			return
		}
		if e.reject.Load() {
			stsErr(stsRejected)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"access_token": "federated-token", "issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "token_type": "Bearer", "expires_in": 3600})
	})
	mux.HandleFunc("POST /v1/projects/-/serviceAccounts/{sa}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("sa") != primusSA+":generateAccessToken" || r.Header.Get("Authorization") != "Bearer federated-token" {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"error":{"code":403,"message":"Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).","status":"PERMISSION_DENIED"}}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"accessToken": primusToken, "expireTime": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	})
	return mux
}

// startLauncher writes the default token file and serves the teeserver socket.
func (e *env) startLauncher() string {
	dir, err := os.MkdirTemp("", "cl") // short path: unix sockets are limited to ~108 bytes
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { os.RemoveAll(dir) })
	tok := e.iss.Mint(e.iss.Claims("https://sts.googleapis.com", e.digest, nil))
	if err := os.WriteFile(filepath.Join(dir, "attestation_verifier_claims_token"), []byte(tok), 0o644); err != nil {
		e.t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "teeserver.sock"))
	if err != nil {
		e.t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Audience  string   `json:"audience"`
			Nonces    []string `json:"nonces"`
			TokenType string   `json:"token_type"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if r.Method != http.MethodPost || dec.Decode(&req) != nil || req.TokenType != "OIDC" {
			http.Error(w, "failed to parse POST body as TokenOptions", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, e.iss.Mint(e.iss.Claims(req.Audience, e.digest, req.Nonces)))
	}))
	srv.Listener = l
	srv.Start()
	e.t.Cleanup(srv.Close)
	return dir
}

// result is what one child run left behind.
type result struct {
	exit     int
	maxRSSKB int64
	wall     time.Duration
	stdout   string
	files    map[string][]byte
}

func (e *env) run(extra map[string]string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, workloadBin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.t.TempDir()}
	for k, v := range e.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range extra {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	// Peak RSS: rusage's ru_maxrss of a child started with vfork counts the parent's pages, so
	// poll the child's own high-water mark (VmHWM only grows; the last read is within 10 ms of exit).
	hwm := make(chan int64)
	go func() {
		var last int64
		for {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
			if err != nil || bytes.Contains(b, []byte("State:\tZ")) {
				hwm <- last
				return
			}
			for line := range strings.Lines(string(b)) {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					last, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	err := cmd.Wait()
	r := result{wall: time.Since(start), stdout: out.String(), files: map[string][]byte{}, maxRSSKB: <-hwm}
	if ee, ok := err.(*exec.ExitError); ok {
		r.exit = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("running workload: %v\n%s", err, out.String())
	}
	prefix := records.Prefix(e.vars["CSPIPE_RUN_ID"], 0, 1)
	for _, n := range []string{records.ResultsFile, records.ReceiptFile, records.SummaryFile} {
		if o, err := e.gcs.GetObject(outBucket, prefix+n); err == nil {
			r.files[n] = o.Content
		}
	}
	return r
}

func (r result) summary(t *testing.T) records.Summary {
	t.Helper()
	var s records.Summary
	if err := json.Unmarshal(r.files[records.SummaryFile], &s); err != nil {
		t.Fatalf("summary.json: %v\nworkload output:\n%s", err, r.stdout)
	}
	return s
}

func (r result) records(t *testing.T) []records.Record {
	t.Helper()
	var out []records.Record
	sc := bufio.NewScanner(bytes.NewReader(r.files[records.ResultsFile]))
	for sc.Scan() {
		var rec records.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
	return out
}

func (e *env) verify(r result) (*receipt.Run, error) {
	keys, err := receipt.ParseJWKS(e.iss.JWKS())
	if err != nil {
		e.t.Fatal(err)
	}
	return receipt.VerifyRun(r.files[records.ResultsFile], r.files[records.SummaryFile], r.files[records.ReceiptFile], keys, receipt.Options{Issuer: e.iss.URL})
}

func (e *env) modelLoaded() bool {
	_, err := os.Stat(e.vars["CSPIPE_TEST_MODEL_LOADED"])
	return err == nil
}

// realModel packs the repository's tiny random-weight MobileNet with ten labels.
func realModel(t *testing.T) []byte {
	t.Helper()
	tfl, err := os.ReadFile("../testdata/models/mobilenet_v1_0.25_128_c10.tflite")
	if err != nil {
		t.Fatal(err)
	}
	var labels strings.Builder
	for i := range 10 {
		fmt.Fprintf(&labels, "class-%d\n", i)
	}
	return archive.Build([]archive.File{{Name: records.ModelFile, Data: tfl}, {Name: records.LabelsFile, Data: []byte(labels.String())}})
}

func TestWorkloadHappyPathRealEngine(t *testing.T) {
	e := newEnv(t, realModel(t))
	e.putImage("in/a.png", workloadtest.PNG(40, 30, 10))
	e.putImage("in/b.png", workloadtest.PNG(20, 20, 200))
	e.putImage("in/c.txt", []byte("this is not an image at all"))
	e.putImage("in/d.png", workloadtest.PNG(64, 64, 3)[:60])
	e.putImage("in/e.png", workloadtest.HugePNGHeader())
	e.putImage("in/f.png", nil)
	r := e.run(nil)
	if r.exit != 0 {
		t.Fatalf("exit %d\n%s", r.exit, r.stdout)
	}
	s := r.summary(t)
	if s.Status != records.StatusOK || s.Images != 6 || s.Succeeded != 2 || s.Failed != 4 {
		t.Fatalf("summary = %+v\n%s", s, r.stdout)
	}
	got := map[string]string{}
	for _, rec := range r.records(t) {
		got[rec.Image] = rec.Status + "/" + rec.ErrorCode
		if tm := rec.Timings; tm != nil && rec.Status == records.StatusOK {
			t.Logf("%s: read %.2f ms, decode %.2f ms, infer %.2f ms, total %.2f ms", rec.Image, tm.ReadMS, tm.DecodeMS, tm.InferMS, tm.TotalMS)
		}
		if rec.Status == records.StatusOK && (rec.PredictedClass == nil || len(rec.TopK) != 3 || !strings.HasPrefix(rec.Label, "class-")) {
			t.Errorf("record %+v", rec)
		}
	}
	want := map[string]string{"in/a.png": "ok/", "in/b.png": "ok/", "in/c.txt": "error/" + records.ErrNotAnImage,
		"in/d.png": "error/" + records.ErrTruncated, "in/e.png": "error/" + records.ErrTooLarge, "in/f.png": "error/" + records.ErrEmpty}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
	if s.ImageDigest != e.digest || s.ModelSHA256 != receipt.SHA256(realModel(t)) {
		t.Errorf("summary digest %q model %q", s.ImageDigest, s.ModelSHA256)
	}
	if !e.modelLoaded() || e.modelReq.Load() == 0 {
		t.Error("the model was not read with Primus's credentials and loaded")
	}
	run, err := e.verify(r)
	if err != nil {
		t.Fatalf("untouched run rejected: %v", err)
	}
	if run.Claims.ImageDigest != e.digest {
		t.Errorf("receipt digest %q", run.Claims.ImageDigest)
	}
	// Tamper: flip one prediction.
	r.files[records.ResultsFile] = bytes.Replace(r.files[records.ResultsFile], []byte(`"status":"ok"`), []byte(`"status":"OK"`), 1)
	if _, err := e.verify(r); err == nil || !strings.Contains(err.Error(), "results.jsonl has sha256") {
		t.Errorf("tampered run: err = %v", err)
	}
}

func TestWorkloadRefusals(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(e *env)
		wantSub string
	}{
		{
			name:    "wrong model hash",
			setup:   func(e *env) { e.putManifest(strings.Repeat("0", 64), 7) },
			wantSub: "model sha256 mismatch",
		},
		{
			name:    "pinned hash differs",
			setup:   func(e *env) { e.vars["CSPIPE_MODEL_SHA256"] = strings.Repeat("e", 64) },
			wantSub: "CSPIPE_MODEL_SHA256 expects " + strings.Repeat("e", 64),
		},
		{
			name:    "token rejected by the attribute condition",
			setup:   func(e *env) { e.reject.Store(true) },
			wantSub: "attestation refused by the token exchange (STS status 400): unauthorized_client: The given credential is rejected by the attribute condition.",
		},
		{
			name:    "impersonation denied",
			setup:   func(e *env) { e.vars["CSPIPE_PRIMUS_SERVICE_ACCOUNT"] = "other-sa@primus-proj.iam.gserviceaccount.com" },
			wantSub: "impersonation refused by IAM Credentials (status 403): PERMISSION_DENIED",
		},
		{
			name:    "invalid configuration",
			setup:   func(e *env) { e.vars["CSPIPE_TOP_K"] = "0"; e.vars["CSPIPE_STS_ENDPOINT"] = "https://sts.evil.example" },
			wantSub: "invalid configuration: CSPIPE_STS_ENDPOINT",
		},
	}
	model := workloadtest.Archive([]byte("fake"), []string{"a", "b"})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, model)
			e.putImage("in/a.png", workloadtest.PNG(4, 4, 1))
			tc.setup(e)
			r := e.run(map[string]string{"CSPIPE_TEST_ENGINE": "fake"})
			if r.exit != 0 {
				t.Fatalf("exit %d (a reported failure exits 0 so the VM powers off)\n%s", r.exit, r.stdout)
			}
			s := r.summary(t)
			t.Logf("summary error: %s", s.Error)
			if s.Status != records.StatusFailed || !strings.Contains(s.Error, tc.wantSub) {
				t.Errorf("summary status %q error %q\nwant it to contain %q", s.Status, s.Error, tc.wantSub)
			}
			if e.modelLoaded() {
				t.Error("the model was loaded")
			}
			if _, err := e.verify(r); err != nil {
				t.Errorf("the failed run's receipt does not verify: %v", err)
			}
		})
	}
	t.Run("no usable results bucket", func(t *testing.T) {
		e := newEnv(t, model)
		e.vars["CSPIPE_RESULTS_BUCKET"] = ""
		if r := e.run(nil); r.exit != 2 {
			t.Errorf("exit %d, want 2\n%s", r.exit, r.stdout)
		}
	})
}

// TestWorkloadManyImages runs 1,000 and then 10,000 tiny images through the stand-in engine,
// and checks that the child's peak RSS does not grow with the number of images.
func TestWorkloadManyImages(t *testing.T) {
	model := workloadtest.Archive([]byte("fake"), []string{"a", "b", "c"})
	img := workloadtest.PNG(8, 8, 5)
	var rss [2]int64
	for i, n := range manyCounts {
		e := newEnv(t, model)
		e.synthetic.Store(int64(n))
		e.gcs.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "templates"})
		e.gcs.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "templates", Name: "good.png", Generation: 1}, Content: img})
		e.gcs.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "templates", Name: "bad.png", Generation: 1}, Content: []byte("garbage")})
		e.vars["CSPIPE_RUN_ID"] = fmt.Sprintf("many-%d", n)
		r := e.run(map[string]string{"CSPIPE_TEST_ENGINE": "fake"})
		if r.exit != 0 {
			t.Fatalf("exit %d\n%s", r.exit, r.stdout)
		}
		s := r.summary(t)
		if s.Images != n+1 || s.Succeeded != n || s.Failed != 1 {
			t.Fatalf("summary = %+v", s)
		}
		var overhead, total, model float64
		for _, rec := range r.records(t) {
			if rec.Timings == nil {
				continue
			}
			total += rec.Timings.TotalMS
			model += rec.Timings.DecodeMS + rec.Timings.InferMS
			overhead += rec.Timings.TotalMS - rec.Timings.DecodeMS - rec.Timings.InferMS
		}
		rss[i] = r.maxRSSKB
		t.Logf("%d images: wall %v (%.2f ms/image over %d workers), peak RSS %.1f MB, per image: total %.3f ms, decode+infer %.3f ms, outside decode+infer %.3f ms (%.1f%%)",
			n, r.wall.Round(time.Millisecond), float64(r.wall.Microseconds())/1000/float64(n), runtime.NumCPU(), float64(r.maxRSSKB)/1024,
			total/float64(n+1), model/float64(n+1), overhead/float64(n+1), 100*overhead/total)
		if _, err := e.verify(r); err != nil {
			t.Fatalf("receipt: %v", err)
		}
	}
	// Loose bound: ten times the images may not cost more than 1.5× the peak memory (+16 MB).
	if rss[1] > rss[0]*3/2+16<<10 {
		t.Errorf("peak RSS grew with the number of images: %d KB for 1,000, %d KB for 10,000", rss[0], rss[1])
	}
}

// manyCounts are the image counts TestWorkloadManyImages compares.
var manyCounts = []int{1000, 10000}
