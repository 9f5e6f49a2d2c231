package clients

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/cspipe/cspipe/infra/local/stack"
)

// pythonUpload uploads argv[2:] into bucket argv[1] under the prefix argv[2] with Google's Python
// storage client, constructed with no arguments: STORAGE_EMULATOR_HOST and GOOGLE_CLOUD_PROJECT
// are all it gets, as the ready block's Python line.
const pythonUpload = `
import os, sys
from google.cloud import storage
bucket, prefix, files = sys.argv[1], sys.argv[2], sys.argv[3:]
b = storage.Client().bucket(bucket)
for f in files:
    b.blob(prefix + os.path.basename(f)).upload_from_filename(f, content_type="image/jpeg")
print("uploaded", len(files))
`

// pythonWithStorage returns a python that imports google.cloud.storage: python3 on PATH, or the
// one gcloud bundles (gcloud info names it), or "" with what was tried.
func pythonWithStorage(ctx context.Context) (string, string) {
	var cands []string
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	if _, err := exec.LookPath("gcloud"); err == nil {
		if out, err := exec.CommandContext(ctx, "gcloud", "info", "--format=value(basic.python_location)").Output(); err == nil {
			if p := strings.TrimSpace(string(out)); p != "" {
				cands = append(cands, p)
			}
		}
	}
	for _, p := range cands {
		if exec.CommandContext(ctx, p, "-c", "import google.cloud.storage").Run() == nil {
			return p, ""
		}
	}
	return "", strings.Join(cands, ", ")
}

// TestPythonStorageClient uploads with google-cloud-storage for Python (no arguments, the ready
// block's environment only) and reads the results with the Go Pub/Sub client. It is skipped only
// when no python with google-cloud-storage is installed (gcloud's bundled python carries the
// Pub/Sub library but not the storage one).
func TestPythonStorageClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	py, tried := pythonWithStorage(ctx)
	if py == "" {
		t.Skipf("no python with google-cloud-storage is installed (tried: %s); pip install google-cloud-storage to run this check", tried)
	}
	needStack(t)
	pc, err := pubsub.NewClient(ctx, stack.Secundus.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	subName := "projects/" + stack.Secundus.ID + "/subscriptions/python-test"
	if _, err := pc.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: subName, Topic: "projects/" + stack.Secundus.ID + "/topics/" + stack.ResultsTopic, AckDeadlineSeconds: 60,
	}); err != nil {
		t.Fatal(err)
	}
	files := photos(t)
	const prefix = "python/"
	run(t, ctx, py, append([]string{"-c", pythonUpload, stack.InputBucket, prefix}, files...)...)
	tl := newTally(prefix, files)
	receiveAll(t, ctx, pc, subName, tl)
	tl.check(t)
}
