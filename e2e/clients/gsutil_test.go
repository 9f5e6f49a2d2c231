package clients

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/cspipe/cspipe/infra/local/stack"
)

// TestGsutil uploads with gsutil exactly as the ready block prints it (XML API over http, -o
// overrides only, with the ready block's environment and no boto file of the machine's), then
// reads the results with the Go Pub/Sub client. It is skipped only when gsutil is not installed.
func TestGsutil(t *testing.T) {
	if _, err := exec.LookPath("gsutil"); err != nil {
		t.Skip("gsutil is not installed: the gsutil check needs the Google Cloud SDK's gsutil")
	}
	needStack(t)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	pc, err := pubsub.NewClient(ctx, stack.Secundus.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	subName := "projects/" + stack.Secundus.ID + "/subscriptions/gsutil-test"
	if _, err := pc.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: subName, Topic: "projects/" + stack.Secundus.ID + "/topics/" + stack.ResultsTopic, AckDeadlineSeconds: 60,
	}); err != nil {
		t.Fatal(err)
	}

	saved := env
	env = append(append([]string(nil), env...), "CLOUDSDK_CONFIG="+t.TempDir(), "BOTO_CONFIG="+os.DevNull)
	defer func() { env = saved }()
	files := photos(t)
	const prefix = "gsutil/"
	args := append(strings.Fields(stack.GsutilCommand(shared.GCS.Host()))[1:], "-o", "Boto:num_retries=0", "-m", "cp")
	run(t, ctx, "gsutil", append(append(args, files...), "gs://"+stack.InputBucket+"/"+prefix)...)

	// gsutil is the local operator too: Primus's model bucket stays closed to it.
	cmd := exec.CommandContext(ctx, "gsutil", append(strings.Fields(stack.GsutilCommand(shared.GCS.Host()))[1:], "-o", "Boto:num_retries=0", "cp", files[0], "gs://"+stack.ModelBucket+"/gsutil.jpg")...)
	cmd.Env = env
	// (gsutil words a 403 to a caller without credentials as "protected data with no configured
	// credentials".)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "attempting to access protected data") {
		t.Errorf("gsutil writing Primus's model bucket: %v\n%s\nwant gsutil's refusal of a 403", err, out)
	}
	if _, err := shared.GCS.Fake().GetObject(stack.ModelBucket, "gsutil.jpg"); err == nil {
		t.Errorf("gsutil wrote gs://%s/gsutil.jpg", stack.ModelBucket)
	}

	tl := newTally(prefix, files)
	receiveAll(t, ctx, pc, subName, tl)
	tl.check(t)
}

// receiveAll receives on subName until tl is complete (and a second more, for late duplicates).
func receiveAll(t *testing.T, ctx context.Context, pc *pubsub.Client, subName string, tl *tally) {
	t.Helper()
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	var mu sync.Mutex
	var done time.Time
	err := pc.Subscriber(subName).Receive(rctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		mu.Lock()
		defer mu.Unlock()
		tl.add(m.Attributes, m.Data)
		if tl.complete() && done.IsZero() {
			done = time.Now()
			time.AfterFunc(time.Second, stop) // late duplicates would arrive meanwhile
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if done.IsZero() {
		tl.incomplete(t, time.Since(start), ctx.Err())
	}
}
