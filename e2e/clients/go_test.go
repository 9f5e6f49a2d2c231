package clients

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/storage"

	"github.com/cspipe/cspipe/infra/local/stack"
)

// TestGoClients uses cloud.google.com/go/storage and pubsub with no options at all: the
// environment (STORAGE_EMULATOR_HOST with its scheme, PUBSUB_EMULATOR_HOST) is all they get.
func TestGoClients(t *testing.T) {
	needStack(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	sc, err := storage.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	pc, err := pubsub.NewClient(ctx, stack.Secundus.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	subName := "projects/" + stack.Secundus.ID + "/subscriptions/go-client-test"
	if _, err := pc.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: subName, Topic: "projects/" + stack.Secundus.ID + "/topics/" + stack.ResultsTopic, AckDeadlineSeconds: 60,
	}); err != nil {
		t.Fatalf("creating a subscription as the local operator: %v", err)
	}

	files := photos(t)
	const prefix = "go/"
	tl := newTally(prefix, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		w := sc.Bucket(stack.InputBucket).Object(prefix + filepath.Base(f)).NewWriter(ctx)
		w.ContentType = "image/jpeg"
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("uploading with the Go client (anonymous, emulator env only): %v", err)
		}
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	var mu sync.Mutex
	var done time.Time
	err = pc.Subscriber(subName).Receive(rctx, func(_ context.Context, m *pubsub.Message) {
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
	tl.check(t)

	// `cspipe local status` lists the runs with their states.
	st, err := stack.FetchStatus(ctx, shared.FunctionsURL())
	if err != nil {
		t.Fatal(err)
	}
	for run := range tl.runs {
		found := false
		for _, r := range st.Runs {
			if r.RunID == run {
				found = true
				if r.State != "ok" || r.Images == 0 {
					t.Errorf("status of run %s: %+v, want state ok with its images", run, r)
				}
			}
		}
		if !found {
			t.Errorf("status lacks run %s: %+v", run, st.Runs)
		}
	}
	if st.Pin == nil || !st.Pin.Active || !st.Pin.InRegistry {
		t.Errorf("status pin = %+v", st.Pin)
	}
}
