// Package e2e runs cspipe end to end on the embedded local stack: the real workload binary in
// the local Confidential Space launcher, the deployed launch workflow on the local engine, the
// functions behind Eventarc, and the real Google client libraries against the stand-ins.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/cspipe/cspipe/infra/local/stack"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/records"
	"github.com/cspipe/cspipe/internal/testutil"
)

// workloadBinary is built once per test process.
var (
	buildOnce sync.Once
	binary    []byte
	buildErr  error
)

func workload(t *testing.T) []byte {
	t.Helper()
	buildOnce.Do(func() {
		wd, err := os.Getwd()
		if err != nil {
			buildErr = err
			return
		}
		root, err := stack.ModuleRoot(wd)
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "cspipe-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "workload")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if buildErr = stack.BuildWorkloadBinary(ctx, root, out); buildErr != nil {
			return
		}
		binary, buildErr = os.ReadFile(out)
	})
	if buildErr != nil {
		t.Fatalf("building the workload: %v", buildErr)
	}
	return binary
}

type env struct {
	t        *testing.T
	s        *stack.Stack
	logs     *testutil.SyncBuffer
	primus   *storage.Client
	secundus *storage.Client
}

func newEnv(t *testing.T, opts stack.Options) *env {
	t.Helper()
	logs := &testutil.SyncBuffer{}
	opts.WorkloadLogs = logs
	s, err := stack.Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("starting the stack: %v", err)
	}
	e := &env{t: t, s: s, logs: logs}
	t.Cleanup(func() {
		s.Close()
		if t.Failed() {
			t.Logf("workload logs:\n%s", logs.String())
		}
		if n := len(s.Compute.Instances()); n != 0 {
			t.Errorf("%d VM(s) left after Close", n)
		}
	})
	if e.primus, err = s.StorageClient(t.Context(), iam.User(stack.PrimusAdmin)); err != nil {
		t.Fatal(err)
	}
	if e.secundus, err = s.StorageClient(t.Context(), iam.User(stack.SecundusAdmin)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.primus.Close(); e.secundus.Close() })
	return e
}

// push builds an image of the workload (labels change its digest) and pushes it to repo.
func (e *env) push(repo, tag string, labels map[string]string) string {
	e.t.Helper()
	img, err := stack.WorkloadImage(workload(e.t), labels)
	if err != nil {
		e.t.Fatal(err)
	}
	ref, err := e.s.Push(e.t.Context(), img, repo, tag)
	if err != nil {
		e.t.Fatal(err)
	}
	return ref
}

// pinned waits until PinWorkloadImage (gcr topic → function → provider PATCH) has pinned ref.
func (e *env) pinned(ref string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), 30*time.Second)
	defer cancel()
	if err := e.s.WaitPinned(ctx, ref[strings.Index(ref, "@")+1:]); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) upload(c *storage.Client, bucket, name string, data []byte) {
	e.t.Helper()
	w := c.Bucket(bucket).Object(name).NewWriter(e.t.Context())
	if _, err := w.Write(data); err != nil {
		e.t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		e.t.Fatalf("uploading gs://%s/%s: %v", bucket, name, err)
	}
}

// waitObject polls for an object and returns its bytes.
func (e *env) waitObject(c *storage.Client, bucket, name string, timeout time.Duration) []byte {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r, err := c.Bucket(bucket).Object(name).NewReader(e.t.Context())
		if err == nil {
			b, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				e.t.Fatal(err)
			}
			return b
		}
		if !errors.Is(err, storage.ErrObjectNotExist) {
			e.t.Fatalf("reading gs://%s/%s: %v", bucket, name, err)
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("gs://%s/%s never appeared", bucket, name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// uploadModel puts a tiny synthetic model in Primus's bucket and waits for its accepted manifest.
func (e *env) uploadModel() records.Manifest {
	e.t.Helper()
	arc, err := stack.SyntheticModel(modelgen.Config{Arch: "v1", Width: 0.25, Size: 32, Classes: 10, Seed: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	e.upload(e.primus, stack.ModelBucket, stack.ModelObject, arc)
	b := e.waitObject(e.primus, stack.ModelBucket, stack.ModelObject+records.ManifestSuffix, 30*time.Second)
	var m records.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		e.t.Fatal(err)
	}
	if m.Status != records.ManifestAccepted {
		e.t.Fatalf("model manifest = %+v, want accepted", m)
	}
	return m
}

// photo is a small PNG.
func photo(seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for y := range 30 {
		for x := range 40 {
			img.Set(x, y, color.RGBA{uint8(x*6 + seed), uint8(y * 8), uint8(seed * 40), 255})
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// summary reads and decodes a run's summary.json, waiting for it.
func (e *env) summary(runID string, timeout time.Duration) records.Summary {
	e.t.Helper()
	b := e.waitObject(e.secundus, stack.ResultsBucket, records.Prefix(runID, 0, 1)+records.SummaryFile, timeout)
	var s records.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		e.t.Fatalf("summary: %v", err)
	}
	return s
}

// launch starts the launch workflow for runID and waits for the execution to end.
func (e *env) launch(runID, ref string, env map[string]string, debug bool) string {
	e.t.Helper()
	arg := e.s.NewLaunchArgument(runID, ref, env)
	arg.Debug = debug
	ex, err := e.s.StartLaunch(e.t.Context(), arg)
	if err != nil {
		e.t.Fatalf("starting the launch workflow: %v", err)
	}
	ctx, cancel := context.WithTimeout(e.t.Context(), 90*time.Second)
	defer cancel()
	done, err := e.s.Executions.Wait(ctx, ex.GetName())
	if err != nil {
		e.t.Fatalf("waiting for %s: %v", ex.GetName(), err)
	}
	return fmt.Sprintf("%s %s %s", done.GetState(), done.GetResult(), done.GetError().GetPayload())
}
