package stack

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/cspipe/cspipe/internal/demophotos"
	"github.com/cspipe/cspipe/internal/imagebuild"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/records"
	"github.com/cspipe/cspipe/internal/testutil"
	"github.com/fsouza/fake-gcs-server/fakestorage"
)

// TestUploadBeforePinSaysWhyThenRuns drops a photo into a stack with a model but no pin: the
// progress output says why nothing runs yet, and once Provision pins the image, the waiting
// upload runs and its summary is written.
func TestUploadBeforePinSaysWhyThenRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the workload image; skipped under -short")
	}
	wd, _ := os.Getwd()
	root, err := ModuleRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	// Built before the upload: the wait below must fit in Eventarc's retries.
	img, err := imagebuild.Build(ctx, imagebuild.Options{ModuleDir: root})
	if err != nil {
		t.Fatal(err)
	}
	var progress testutil.SyncBuffer
	s, err := Start(ctx, Options{Logger: slog.New(NewProgressHandler(&progress)), BatchQuiet: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The model is registered first (a small one: quick under -race), so only the pin is missing.
	arc, err := SyntheticModel(modelgen.Config{Arch: "v1", Width: 0.25, Size: 96, Classes: 10, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	var p Provisioned
	if err := s.registerModel(ctx, arc, &p, func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	c, err := s.StorageClient(ctx, iam.User(LocalOperator))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	photo := demophotos.All()[0]
	w := c.Bucket(InputBucket).Object("early/" + photo.Name).NewWriter(ctx)
	w.Write(photo.Data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(progress.String(), "no workload image pinned yet") {
		if ctx.Err() != nil {
			t.Fatalf("nothing says why the upload waits:\n%s", progress.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Eventarc retries for about 20 s; the push and pin fit well inside.
	if _, err := s.Provision(ctx, ProvisionOptions{Image: img, Model: arc}); err != nil {
		t.Fatal(err)
	}
	for {
		objs, _, _ := s.GCS.Fake().ListObjectsWithOptions(ResultsBucket, fakestorage.ListOptions{Prefix: records.RunsPrefix})
		for _, o := range objs {
			if _, _, ok := records.ParseSummaryName(o.Name); ok {
				return // the waiting upload ran
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("the upload never ran after the pin; progress:\n%s", progress.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
