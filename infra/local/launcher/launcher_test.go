package launcher

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cspipe/cspipe/infra/local/attest"
	"github.com/cspipe/cspipe/infra/local/compute"
	"github.com/cspipe/cspipe/infra/local/registry"
	"github.com/cspipe/cspipe/internal/testutil"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// probeBin is the test workload (testdata/probe): a static binary that reports what it sees to
// the fixture's HTTP server, built once.
var probeBin []byte

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "launcher-probe-")
	if err != nil {
		panic(err)
	}
	out := filepath.Join(dir, "probe")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./testdata/probe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		panic(fmt.Sprintf("building the probe: %v\n%s", err, b))
	}
	probeBin, err = os.ReadFile(out)
	os.RemoveAll(dir)
	if err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// layerFile is one entry of a test image layer.
type layerFile struct {
	name     string
	typ      byte
	data     []byte
	linkname string
	mode     int64
}

// probeFiles is an image holding only the probe at /app/workload.
func probeFiles() []layerFile {
	return []layerFile{{name: "app/", typ: tar.TypeDir, mode: 0o755}, {name: "app/workload", typ: tar.TypeReg, data: probeBin, mode: 0o755}}
}

func pushImage(t *testing.T, reg *registry.Server, labels map[string]string) string {
	t.Helper()
	return pushFiles(t, reg, labels, v1.Config{Entrypoint: []string{"/app/workload"}, WorkingDir: "/app", User: "65532:65532",
		Env: []string{"IMAGE_ENV=1", "CODE=0"}}, probeFiles())
}

func pushFiles(t *testing.T, reg *registry.Server, labels map[string]string, cfg v1.Config, files []layerFile) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Typeflag: f.typ, Mode: f.mode, Size: int64(len(f.data)), Linkname: f.linkname}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	_ = tw.Close()
	// Stored, not compressed: gzip of the probe under -race costs seconds per image.
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil },
		tarball.WithCompressionLevel(gzip.NoCompression))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Labels = labels
	img, err = mutate.Config(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Repository("primus", "w") + ":latest"
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return reg.Repository("primus", "w") + "@" + d.String()
}

type fixture struct {
	reg    *registry.Server
	issuer *attest.Issuer
	l      *Launcher
	logs   *testutil.SyncBuffer
	rep    *reporter
}

// reporter collects the probes' reports (keyed by their OUT) and answers their /go polls.
type reporter struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reports map[string]probeReport
	goes    map[string]bool
}

// probeReport is what the probe saw.
type probeReport struct {
	Env          []string `json:"env"`
	UID          int      `json:"uid"`
	GID          int      `json:"gid"`
	Token        string   `json:"token"`
	TokenError   string   `json:"token_error"`
	Cwd          string   `json:"cwd"`
	Custom       string   `json:"custom"`
	CustomStatus int      `json:"custom_status"`
	CustomError  string   `json:"custom_error"`
	Stat         map[string]string
}

func newReporter(t *testing.T) *reporter {
	r := &reporter{reports: map[string]probeReport{}, goes: map[string]bool{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id := strings.TrimPrefix(req.URL.Path, "/")
		r.mu.Lock()
		defer r.mu.Unlock()
		if strings.HasSuffix(id, "/go") {
			if !r.goes[strings.TrimSuffix(id, "/go")] {
				w.WriteHeader(http.StatusNotFound)
			}
			return
		}
		var raw map[string]any
		b, _ := io.ReadAll(req.Body)
		var rep probeReport
		if err := json.Unmarshal(b, &rep); err != nil || json.Unmarshal(b, &raw) != nil {
			t.Errorf("bad probe report %s", b)
			return
		}
		rep.Stat = map[string]string{}
		for k, v := range raw {
			if f, ok := strings.CutPrefix(k, "stat "); ok {
				rep.Stat[f], _ = v.(string)
			}
		}
		r.reports[id] = rep
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// wait returns the report of probe id, waiting for it.
func (r *reporter) wait(t *testing.T, id string) probeReport {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		rep, ok := r.reports[id]
		r.mu.Unlock()
		if ok {
			return rep
		}
		if time.Now().After(deadline) {
			t.Fatalf("probe %s never reported", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *reporter) got(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.reports[id]
	return ok
}

func (r *reporter) release(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.goes[id] = true
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg, err := registry.Start(registry.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	iss, err := attest.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	f := &fixture{reg: reg, issuer: iss, logs: &testutil.SyncBuffer{}, rep: newReporter(t)}
	f.l, err = New(Options{Minter: iss, Logs: f.logs, Logger: quiet, WorkDir: t.TempDir(),
		ProjectNumber: func(string) string { return "42" },
		Metadata: func(context.Context, compute.VM) (string, func(), error) {
			return "127.0.0.1:1", func() {}, nil
		},
		ExtraEnv: []string{"REPORT=" + f.rep.srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var allowLabels = map[string]string{
	LabelAllowEnvOverride: "OUT,WAIT,CODE,NEED,HOST_ONLY",
	LabelLogRedirect:      "always",
}

func vmFor(ref, out string, extra map[string]string) compute.VM {
	md := map[string]string{KeyImageReference: ref, KeyRestartPolicy: "Never", KeyLogRedirect: "true", "tee-env-OUT": out}
	for k, v := range extra {
		md[k] = v
	}
	return compute.VM{Project: "sec", Zone: "z", Name: "vm-1", ID: 7, ServiceAccount: "workload-sa@sec.iam.gserviceaccount.com",
		Metadata: md, ImageFamily: compute.FamilyProduction, ConfidentialType: "SEV"}
}

func TestLaunchRunsWorkloadWithTokenAndSocket(t *testing.T) {
	f := newFixture(t)
	ref := pushImage(t, f.reg, allowLabels)
	const out = "main"
	hostOnly := filepath.Join(t.TempDir(), "host-only")
	if err := os.WriteFile(hostOnly, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := f.l.Launch(t.Context(), vmFor(ref, out, map[string]string{"tee-env-WAIT": "1", "tee-env-HOST_ONLY": hostOnly}))
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	// While the workload runs, its teeserver answers on the socket (the probe asked it).
	rep := f.rep.wait(t, out)
	env := strings.Join(rep.Env, "\n") + "\n"
	for _, want := range []string{"IMAGE_ENV=1", "OUT=" + out, "GCE_METADATA_HOST=127.0.0.1:1", "HOSTNAME=vm-1"} {
		if !strings.Contains(env, want+"\n") {
			t.Errorf("workload env lacks %s", want)
		}
	}
	if rep.CustomStatus != 200 {
		t.Fatalf("custom token: %d %s %s", rep.CustomStatus, rep.Custom, rep.CustomError)
	}
	claims, err := f.issuer.Verify(rep.Custom, "https://receipts.example")
	if err != nil {
		t.Fatalf("custom token does not verify: %v", err)
	}
	if claims["eat_nonce"] != "0123456789abcdef" {
		t.Errorf("eat_nonce = %v", claims["eat_nonce"])
	}
	// The workload runs from the image's own filesystem: chrooted, as the image's user, in its
	// WorkingDir, seeing what Google's launcher provides and none of the host's files.
	if os.Geteuid() == 0 {
		if envValue(env, "CSPIPE_LAUNCHER_DIR") != "" {
			t.Errorf("CSPIPE_LAUNCHER_DIR set in a chrooted workload: the launcher's files must be at %s", ContainerLauncherDir)
		}
		if rep.UID != 65532 || rep.GID != 65532 || rep.Cwd != "/app" {
			t.Errorf("uid %d gid %d cwd %q, want the image's 65532:65532 in /app", rep.UID, rep.GID, rep.Cwd)
		}
		if rep.Stat[hostOnly] == "" {
			t.Errorf("the workload sees the host file %s", hostOnly)
		}
		for _, f := range hostFiles {
			if rep.Stat[f] != "" {
				t.Errorf("%s missing in the container: %s", f, rep.Stat[f])
			}
		}
	}
	f.rep.release(out)
	if err := w.Wait(); err != nil {
		t.Fatalf("wait: %v", err)
	}

	// The default token has audience STS and the measured image.
	tok := rep.Token
	if rep.TokenError != "" {
		t.Fatalf("reading the token file: %s", rep.TokenError)
	}
	claims, err = f.issuer.Verify(tok, attest.DefaultAudience)
	if err != nil {
		t.Fatalf("default token does not verify: %v", err)
	}
	sub := claims["submods"].(map[string]any)
	ctr := sub["container"].(map[string]any)
	if ctr["image_reference"] != ref || !strings.HasSuffix(ref, "@"+ctr["image_digest"].(string)) {
		t.Errorf("container claims = %v, ref %s", ctr, ref)
	}
	if ctr["restart_policy"] != "Never" {
		t.Errorf("restart_policy = %v", ctr["restart_policy"])
	}
	eo, _ := ctr["env_override"].(map[string]any)
	if eo["OUT"] != out || eo["WAIT"] != "1" || eo["HOST_ONLY"] != hostOnly || len(eo) != 3 {
		t.Errorf("env_override = %v", eo)
	}
	if claims["dbgstat"] != "disabled-since-boot" {
		t.Errorf("dbgstat = %v", claims["dbgstat"])
	}
	if sas, _ := claims["google_service_accounts"].([]any); len(sas) != 1 || sas[0] != "workload-sa@sec.iam.gserviceaccount.com" {
		t.Errorf("google_service_accounts = %v", claims["google_service_accounts"])
	}
	if !strings.Contains(f.logs.String(), "[vm-1] workload says hello") {
		t.Errorf("workload log not captured: %q", f.logs.String())
	}
	if strings.Contains(f.logs.String(), tok) {
		t.Error("the token appeared in the logs")
	}
	// The launcher directory (image root included) is removed once the workload exits.
	if left, _ := filepath.Glob(filepath.Join(f.l.opts.WorkDir, "cs-*")); len(left) != 0 {
		t.Errorf("launcher directories left: %v", left)
	}
}

func TestLaunchRefusals(t *testing.T) {
	f := newFixture(t)
	ref := pushImage(t, f.reg, allowLabels)
	debugOnly := pushImage(t, f.reg, map[string]string{LabelAllowEnvOverride: "OUT"})
	tests := []struct {
		name   string
		vm     func(out string) compute.VM
		errMsg string
	}{
		{"no image reference", func(out string) compute.VM {
			vm := vmFor(ref, out, nil)
			delete(vm.Metadata, KeyImageReference)
			return vm
		}, "tee-image-reference is not specified in the custom metadata"},
		{"disallowed env override", func(out string) compute.VM {
			return vmFor(ref, out, map[string]string{"tee-env-LD_PRELOAD": "/evil.so"})
		}, "env var LD_PRELOAD is not allowed to be overridden on this image; allowed envs to be overridden: [OUT WAIT CODE NEED HOST_ONLY]"},
		{"cmd override", func(out string) compute.VM {
			return vmFor(ref, out, map[string]string{KeyCmd: `["sh"]`})
		}, "CMD is not allowed to be overridden on this image"},
		{"log redirect on hardened debugonly image", func(out string) compute.VM {
			return vmFor(debugOnly, out, nil)
		}, "logging redirection only allowed on debug environment by image"},
		{"unknown image", func(out string) compute.VM {
			return vmFor(f.reg.Repository("primus", "missing")+":latest", out, nil)
		}, "pulling image"},
		{"no external IP and no Private Google Access", func(out string) compute.VM {
			vm := vmFor(ref, out, nil)
			vm.Isolated, vm.Subnetwork = true, "projects/sec/regions/z/subnetworks/default"
			return vm
		}, "has Private Google Access off"},
		{"bad restart policy", func(out string) compute.VM {
			return vmFor(ref, out, map[string]string{KeyRestartPolicy: "Sometimes"})
		}, "invalid restart policy"},
		// What Google's launcher refuses on a production image without the labels that allow it
		// (launcher/spec launch_policy.go Verify); the local launcher used to ignore these keys.
		{"memory monitoring", func(out string) compute.VM {
			return vmFor(ref, out, map[string]string{"tee-monitoring-memory-enable": "true"})
		}, "error verifying monitoring config: spec configured for memoryOnly but policy is none"},
		{"tmpfs mount", func(out string) compute.VM {
			return vmFor(ref, out, map[string]string{"tee-mount": "type=tmpfs,source=tmpfs,destination=/app"})
		}, "destination mount points are not allowed"},
		{"added capabilities", func(out string) compute.VM {
			return vmFor(ref, out, map[string]string{"tee-added-capabilities": `["CAP_SYS_PTRACE"]`})
		}, "additional capabilities are not allowed"},
		{"cgroup namespace", func(out string) compute.VM {
			return vmFor(ref, out, map[string]string{"tee-cgroup-ns": "true"})
		}, "cgroups usage is not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := strings.ReplaceAll(tt.name, " ", "-")
			_, err := f.l.Launch(t.Context(), tt.vm(out))
			var le *LaunchError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), tt.errMsg) {
				t.Fatalf("launch error = %v, want a LaunchError containing %q", err, tt.errMsg)
			}
			time.Sleep(50 * time.Millisecond)
			if f.rep.got(out) {
				t.Error("the workload ran despite the refusal")
			}
		})
	}
}

func TestDebugFamilyAllowsDebugOnlyRedirect(t *testing.T) {
	f := newFixture(t)
	ref := pushImage(t, f.reg, map[string]string{LabelAllowEnvOverride: "OUT"})
	vm := vmFor(ref, "debug", nil)
	vm.ImageFamily = compute.FamilyDebug
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	if _, err := f.l.Launch(ctx, vm); err != nil {
		t.Fatalf("launch: %v", err)
	}
	claims, err := f.issuer.Verify(f.rep.wait(t, "debug").Token, attest.DefaultAudience)
	if err != nil {
		t.Fatal(err)
	}
	if claims["dbgstat"] != "enabled" {
		t.Errorf("dbgstat = %v, want enabled", claims["dbgstat"])
	}
	cs, _ := claims["submods"].(map[string]any)["confidential_space"].(map[string]any)
	if sa, ok := cs["support_attributes"]; ok && sa != nil {
		t.Errorf("debug token has support_attributes %v", sa)
	}
}

func TestNonZeroExitAndCancel(t *testing.T) {
	f := newFixture(t)
	ref := pushImage(t, f.reg, allowLabels)
	w, err := f.l.Launch(t.Context(), vmFor(ref, "exit3", map[string]string{"tee-env-CODE": "3"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Wait(); err == nil || !strings.Contains(err.Error(), "returned non-zero") {
		t.Errorf("wait = %v, want non-zero exit", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	w, err = f.l.Launch(ctx, vmFor(ref, "killed", map[string]string{"tee-env-WAIT": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	f.rep.wait(t, "killed")
	cancel()
	done := make(chan error, 1)
	go func() { done <- w.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a killed workload reported success")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("workload not stopped after cancel")
	}
}

func TestTeeServerErrors(t *testing.T) {
	mint := func(aud string, nonces []string) (string, error) {
		if len(nonces) > 6 {
			return "", errors.New("too many nonces")
		}
		return "jwt-for-" + aud, nil
	}
	h := teeHandler(mint, attest.DefaultAudience)
	tests := []struct {
		name, method, body string
		code               int
		want               string
	}{
		{"get default", "GET", "", 200, "jwt-for-https://sts.googleapis.com"},
		{"post custom", "POST", `{"audience":"a","nonces":["12345678"],"token_type":"OIDC"}`, 200, "jwt-for-a"},
		{"no audience", "POST", `{"token_type":"OIDC"}`, 400, "use GET request for the default identity token"},
		{"no token type", "POST", `{"audience":"a"}`, 400, "token_type is a required parameter"},
		{"unknown field", "POST", `{"audience":"a","token_type":"OIDC","extra":1}`, 400, "failed to parse POST body as TokenOptions: "},
		{"not json", "POST", `nope`, 400, "failed to parse POST body as TokenOptions: "},
		{"pki", "POST", `{"audience":"a","token_type":"PKI"}`, 400, "failed to retrieve custom attestation service token"},
		{"mint refuses", "POST", `{"audience":"a","token_type":"OIDC","nonces":["1","2","3","4","5","6","7"]}`, 400, "failed to retrieve custom attestation service token: too many nonces"},
		{"put", "PUT", "", 400, "TEE server received an invalid HTTP method: PUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, "/v1/token", strings.NewReader(tt.body))
			rec := &recorder{header: http.Header{}}
			h.ServeHTTP(rec, req)
			if rec.code != tt.code || !strings.Contains(rec.body.String(), tt.want) {
				t.Errorf("%s → %d %q, want %d containing %q", tt.name, rec.code, rec.body.String(), tt.code, tt.want)
			}
			if tt.code == 200 && rec.header.Get("Content-Type") != "text/html" {
				t.Errorf("Content-Type = %q", rec.header.Get("Content-Type"))
			}
		})
	}
}

type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = 200
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(c int) { r.code = c }

func envValue(env, key string) string {
	for _, l := range strings.Split(env, "\n") {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			return v
		}
	}
	return ""
}
