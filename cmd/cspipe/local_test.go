package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cspipe/cspipe/infra/local/stack"
	"github.com/cspipe/cspipe/internal/imagebuild"
	"github.com/cspipe/cspipe/internal/testutil"
)

// upUntilReady runs `cspipe local up args…` until its ready block is printed to the end: the
// "source" line and, with --data-dir, the line after it. (Waiting only for "ready." let a test
// read the block while its later lines were still being written.)
func upUntilReady(t *testing.T, ctx context.Context, args ...string) (stdout, stderr *testutil.SyncBuffer, done chan int) {
	t.Helper()
	stdout, stderr = &testutil.SyncBuffer{}, &testutil.SyncBuffer{}
	done = make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"local", "up"}, args...), stdout, stderr) }()
	printed := func() bool {
		out := stdout.String()
		end := "\n  source "
		if slices.Contains(args, "--data-dir") {
			end = "\nstate persists in "
		}
		return strings.Contains(out, "\nready.\n") && strings.Contains(out, end)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for !printed() {
		select {
		case code := <-done:
			t.Fatalf("local up exited %d before ready; stdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("local up not ready; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return stdout, stderr, done
}

func stop(t *testing.T, cancel func(), done chan int, stderr *testutil.SyncBuffer) {
	t.Helper()
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("local up exited %d; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("local up did not stop after its context was cancelled")
	}
}

func TestLocalUpEmptyWritesEnvFileAndStops(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	stdout, stderr, done := upUntilReady(t, ctx, "--data-dir", dir, "--port-base", "0", "--empty")
	envFile := filepath.Join(dir, "cspipe-local.env")
	if !strings.Contains(stdout.String(), "source "+envFile) {
		t.Errorf("the ready block does not name the env file:\n%s", stdout.String())
	}
	st, err := os.Stat(envFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("env file mode %v, want 0600 (it holds tokens)", st.Mode().Perm())
	}
	env, _ := os.ReadFile(envFile)
	for _, want := range []string{`export STORAGE_EMULATOR_HOST="http://127.0.0.1:`, "export PUBSUB_EMULATOR_HOST=",
		"export CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE=", "export CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB=",
		"export CSPIPE_PRIMUS_TOKEN=", "export CSPIPE_SECUNDUS_TOKEN="} {
		if !bytes.Contains(env, []byte(want)) {
			t.Errorf("env file lacks %q", want)
		}
	}
	for _, line := range strings.Split(string(env), "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok && strings.HasSuffix(k, "_TOKEN") {
			if strings.Contains(stdout.String(), strings.Trim(v, `"`)) {
				t.Errorf("%s was printed to the terminal", k)
			}
		}
	}
	for _, want := range []string{"drop images into  gs://" + stack.InputBucket, "gcloud storage cp", "gcloud pubsub subscriptions pull",
		"curl ", "Go:", "Node:", "Python:", "nothing pinned or registered (--empty)"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the ready block lacks %q:\n%s", want, stdout.String())
		}
	}
	stop(t, cancel, done, stderr)
}

// TestLocalUpRestartKeepsPortsPinAndImage provisions a stack on a data dir, stops it and starts
// it again: the same ports, the pin still active, its image still served by the registry, the
// model still registered.
func TestLocalUpRestartKeepsPortsPinAndImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the workload image; skipped under -short")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	stdout, stderr, done := upUntilReady(t, ctx, "--data-dir", dir, "--port-base", "0")
	if !strings.Contains(stdout.String(), "pinned image      ") || !strings.Contains(stdout.String(), "model             gs://") {
		t.Errorf("the ready block lacks the pinned image or the model:\n%s", stdout.String())
	}
	ports1, err := stack.LoadPorts(dir)
	if err != nil {
		t.Fatal(err)
	}
	var st1 bytes.Buffer
	if code := run(t.Context(), []string{"local", "status", "--data-dir", dir}, &st1, &st1); code != 0 {
		t.Fatalf("local status: exit %d\n%s", code, st1.String())
	}
	if !strings.Contains(st1.String(), "(active;") || !strings.Contains(st1.String(), " accepted sha256 ") {
		t.Errorf("local status before the restart:\n%s", st1.String())
	}
	stop(t, cancel, done, stderr)

	ctx, cancel = context.WithCancel(t.Context())
	_, stderr, done = upUntilReady(t, ctx, "--data-dir", dir)
	defer stop(t, cancel, done, stderr)
	ports2, err := stack.LoadPorts(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ports1 != ports2 {
		t.Errorf("ports changed across the restart: %+v, then %+v", ports1, ports2)
	}
	sctx, scancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer scancel()
	st, err := stack.FetchStatus(sctx, "http://127.0.0.1:"+itoa(ports2.Functions))
	if err != nil {
		t.Fatal(err)
	}
	if st.Pin == nil || !st.Pin.Active || !st.Pin.InRegistry {
		t.Errorf("after the restart the pin is %+v, want active and served by the registry", st.Pin)
	}
	if len(st.Models) != 1 || st.Models[0].Status != "accepted" {
		t.Errorf("after the restart the models are %+v", st.Models)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestLocalUpCtrlCWithClosedStdout runs the real binary with its stdout a pipe whose reader has
// gone, interrupts it, and checks that it exits cleanly and leaves nothing in its TMPDIR.
func TestLocalUpCtrlCWithClosedStdout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the cspipe binary; skipped under -short")
	}
	// With the workload's build configuration (internal/imagebuild), which vet and `make run`
	// share: the packages come from the build cache, and the linked binary from imagebuild's
	// binary cache while no input of it changed.
	cli, err := imagebuild.CompileBinary(t.Context(), imagebuild.Options{ModuleDir: "../..", Package: "./cmd/cspipe", GOARCH: runtime.GOARCH})
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "cspipe")
	if err := os.WriteFile(bin, cli.Bytes, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	cmd := exec.Command(bin, "local", "up", "--empty", "--port-base", "0")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // nobody will ever read stdout
	cmd.Stdout = w
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	// Ready once its environment file exists in TMPDIR.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		m, _ := filepath.Glob(filepath.Join(tmp, "cspipe-local-*", "cspipe-local.env"))
		if len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("local up never wrote its environment file; stderr:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("local up after Ctrl-C with a closed stdout: %v (want a clean exit, not death by SIGPIPE); stderr:\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("local up did not stop after SIGINT")
	}
	left, _ := os.ReadDir(tmp)
	for _, e := range left {
		t.Errorf("left behind in TMPDIR: %s", e.Name())
	}
}
