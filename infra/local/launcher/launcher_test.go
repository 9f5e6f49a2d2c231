package launcher

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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

// script is the test workload: it copies the token file and its env to $OUT, optionally waits
// for $OUT/go to appear, and exits with $CODE.
const script = `#!/bin/sh
cp "$CSPIPE_LAUNCHER_DIR/attestation_verifier_claims_token" "$OUT/token"
env > "$OUT/env.tmp" && mv "$OUT/env.tmp" "$OUT/env"  # atomic: tests poll for the file
echo "workload says hello"
if [ -n "$WAIT" ]; then
  while [ ! -e "$OUT/go" ]; do sleep 0.05; done
fi
exit ${CODE:-0}
`

func pushImage(t *testing.T, reg *registry.Server, labels map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755})
	_ = tw.WriteHeader(&tar.Header{Name: "app/workload", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(script))})
	_, _ = tw.Write([]byte(script))
	_ = tw.Close()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, v1.Config{Entrypoint: []string{"/app/workload"}, Env: []string{"IMAGE_ENV=1", "CODE=0"}, Labels: labels})
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
	f := &fixture{reg: reg, issuer: iss, logs: &testutil.SyncBuffer{}}
	f.l, err = New(Options{Minter: iss, Logs: f.logs, Logger: quiet, WorkDir: t.TempDir(),
		ProjectNumber: func(string) string { return "42" },
		Metadata: func(context.Context, compute.VM) (string, func(), error) {
			return "127.0.0.1:1", func() {}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var allowLabels = map[string]string{
	LabelAllowEnvOverride: "OUT,WAIT,CODE",
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
	out := t.TempDir()
	w, err := f.l.Launch(t.Context(), vmFor(ref, out, map[string]string{"tee-env-WAIT": "1"}))
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	// While the workload runs, its teeserver answers on the socket.
	waitFile(t, filepath.Join(out, "env"))
	env := readFile(t, filepath.Join(out, "env"))
	dir := envValue(env, "CSPIPE_LAUNCHER_DIR")
	for _, want := range []string{"IMAGE_ENV=1", "OUT=" + out, "GCE_METADATA_HOST=127.0.0.1:1", "HOSTNAME=vm-1"} {
		if !strings.Contains(env, want+"\n") {
			t.Errorf("workload env lacks %s", want)
		}
	}
	c := socketClient(filepath.Join(dir, SocketFile))
	resp, err := c.Post("http://localhost/v1/token", "application/json",
		strings.NewReader(`{"audience":"https://receipts.example","nonces":["0123456789abcdef"],"token_type":"OIDC"}`))
	if err != nil {
		t.Fatal(err)
	}
	custom, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("custom token: %d %s", resp.StatusCode, custom)
	}
	claims, err := f.issuer.Verify(string(custom), "https://receipts.example")
	if err != nil {
		t.Fatalf("custom token does not verify: %v", err)
	}
	if claims["eat_nonce"] != "0123456789abcdef" {
		t.Errorf("eat_nonce = %v", claims["eat_nonce"])
	}
	if err := os.WriteFile(filepath.Join(out, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.Wait(); err != nil {
		t.Fatalf("wait: %v", err)
	}

	// The default token has audience STS and the measured image.
	tok := readFile(t, filepath.Join(out, "token"))
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
	if eo["OUT"] != out || eo["WAIT"] != "1" || len(eo) != 2 {
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
	// The launcher directory is removed once the workload exits.
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("launcher dir still exists: %v", err)
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
		}, "env var LD_PRELOAD is not allowed to be overridden on this image; allowed envs to be overridden: [OUT WAIT CODE]"},
		{"cmd override", func(out string) compute.VM {
			return vmFor(ref, out, map[string]string{KeyCmd: `["sh"]`})
		}, "CMD is not allowed to be overridden on this image"},
		{"log redirect on hardened debugonly image", func(out string) compute.VM {
			return vmFor(debugOnly, out, nil)
		}, "logging redirection only allowed on debug environment by image"},
		{"unknown image", func(out string) compute.VM {
			return vmFor(f.reg.Repository("primus", "missing")+":latest", out, nil)
		}, "pulling image"},
		{"bad restart policy", func(out string) compute.VM {
			return vmFor(ref, out, map[string]string{KeyRestartPolicy: "Sometimes"})
		}, "invalid restart policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			_, err := f.l.Launch(t.Context(), tt.vm(out))
			var le *LaunchError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), tt.errMsg) {
				t.Fatalf("launch error = %v, want a LaunchError containing %q", err, tt.errMsg)
			}
			if _, err := os.Stat(filepath.Join(out, "env")); err == nil {
				t.Error("the workload ran despite the refusal")
			}
		})
	}
}

func TestDebugFamilyAllowsDebugOnlyRedirect(t *testing.T) {
	f := newFixture(t)
	ref := pushImage(t, f.reg, map[string]string{LabelAllowEnvOverride: "OUT"})
	out := t.TempDir()
	vm := vmFor(ref, out, nil)
	vm.ImageFamily = compute.FamilyDebug
	w, err := f.l.Launch(t.Context(), vm)
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	if err := w.Wait(); err != nil {
		t.Fatal(err)
	}
	claims, err := f.issuer.Verify(readFile(t, filepath.Join(out, "token")), attest.DefaultAudience)
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
	w, err := f.l.Launch(t.Context(), vmFor(ref, t.TempDir(), map[string]string{"tee-env-CODE": "3"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Wait(); err == nil || !strings.Contains(err.Error(), "returned non-zero") {
		t.Errorf("wait = %v, want non-zero exit", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	out := t.TempDir()
	w, err = f.l.Launch(ctx, vmFor(ref, out, map[string]string{"tee-env-WAIT": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	waitFile(t, filepath.Join(out, "env"))
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

func socketClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
}

func waitFile(t *testing.T, p string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(p); err == nil {
			time.Sleep(20 * time.Millisecond) // let the writer finish
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func envValue(env, key string) string {
	for _, l := range strings.Split(env, "\n") {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			return v
		}
	}
	return ""
}
