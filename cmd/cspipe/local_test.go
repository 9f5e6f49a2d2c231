package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/testutil"
)

func TestLocalUpWritesEnvFileAndStops(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	var stdout, stderr testutil.SyncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"local", "up", "--data-dir", dir}, &stdout, &stderr) }()

	envFile := filepath.Join(dir, "cspipe-local.env")
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stdout.String(), "source "+envFile) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("local up did not come up; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	st, err := os.Stat(envFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("env file mode %v, want 0600 (it holds tokens)", st.Mode().Perm())
	}
	env, _ := os.ReadFile(envFile)
	for _, want := range []string{"export STORAGE_EMULATOR_HOST=", "export PUBSUB_EMULATOR_HOST=", "export CSPIPE_PRIMUS_TOKEN=", "export CSPIPE_SECUNDUS_TOKEN="} {
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
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("local up exited %d; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("local up did not stop after its context was cancelled")
	}
}
