package clients

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/cspipe/cspipe/infra/local/stack"
)

// TestGcloud uploads with `gcloud storage cp` and reads with `gcloud pubsub subscriptions
// create/pull` (the Pub/Sub REST surface), configured only by the CLOUDSDK_* variables the ready
// block prints. It is skipped only when gcloud is not installed.
func TestGcloud(t *testing.T) {
	if _, err := exec.LookPath("gcloud"); err != nil {
		t.Skip("gcloud is not installed: the gcloud storage / gcloud pubsub checks need the Google Cloud SDK")
	}
	needStack(t)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	cfg := t.TempDir()
	gcloud := func(args ...string) []byte {
		t.Helper()
		return run(t, ctx, "gcloud", append(args, "--configuration=default", "--quiet", "--verbosity=error")...)
	}
	env = append(env, "CLOUDSDK_CONFIG="+cfg) // a fresh gcloud configuration: nothing of the machine's
	defer func() { env = env[:len(env)-1] }()

	gcloud("pubsub", "subscriptions", "create", "gcloud-test", "--topic", "projects/"+stack.Secundus.ID+"/topics/"+stack.ResultsTopic)
	files := photos(t)
	const prefix = "gcloud/"
	gcloud(append(append([]string{"storage", "cp"}, files...), "gs://"+stack.InputBucket+"/"+prefix)...)

	tl := newTally(prefix, files)
	start := time.Now()
	deadline := start.Add(3 * time.Minute)
	for !tl.complete() {
		if time.Now().After(deadline) {
			tl.incomplete(t, time.Since(start), errors.New("gave up pulling"))
		}
		var msgs []struct {
			Message struct {
				Data       string            `json:"data"`
				Attributes map[string]string `json:"attributes"`
			} `json:"message"`
		}
		out := gcloud("pubsub", "subscriptions", "pull", "gcloud-test", "--auto-ack", "--limit", "100", "--format", "json")
		if err := json.Unmarshal(out, &msgs); err != nil {
			t.Fatalf("gcloud pull printed %q: %v", out, err)
		}
		for _, m := range msgs {
			data, err := base64.StdEncoding.DecodeString(m.Message.Data)
			if err != nil {
				t.Fatalf("message data is not base64: %v", err)
			}
			tl.add(m.Message.Attributes, data)
		}
		if len(msgs) == 0 {
			time.Sleep(500 * time.Millisecond)
		}
	}
	// Anything left would be a duplicate.
	var rest []json.RawMessage
	if err := json.Unmarshal(gcloud("pubsub", "subscriptions", "pull", "gcloud-test", "--auto-ack", "--limit", "100", "--format", "json"), &rest); err == nil && len(rest) > 0 {
		t.Errorf("%d more messages after every result arrived", len(rest))
	}
	tl.check(t)
	gcloud("pubsub", "subscriptions", "delete", "gcloud-test")
}
