package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/storage"
	"cloud.google.com/go/workflows/executions/apiv1/executionspb"
	"github.com/cspipe/cspipe/infra/local/stack"
	"github.com/cspipe/cspipe/internal/receipt"
	"github.com/cspipe/cspipe/internal/records"
	"google.golang.org/api/iterator"
)

// TestFullScenario is the codelab as an event pipeline, with every event delivered twice (the
// copy 300ms later): a push is pinned by PinWorkloadImage, the model is registered, uploads
// spread over several seconds (whenever they happen: no clock alignment) become exactly one run, and the results topic carries one message per image and one
// summary, with a receipt that verifies. Then Secundus's own build is refused by STS.
func TestFullScenario(t *testing.T) {
	// Uploads 1s apart, a batch closes after 5s without uploads: one run on a loaded machine too.
	const quiet, gap = 5 * time.Second, time.Second
	e := newEnv(t, stack.Options{BatchQuiet: quiet, EventCopies: 1, EventCopyDelay: 300 * time.Millisecond})
	ctx := t.Context()

	// Subscribe before anything happens so every message is seen.
	var mu sync.Mutex
	var msgs []*pubsub.Message
	rctx, stopRecv := context.WithCancel(ctx)
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		sub := e.s.PubSub.Subscriber("projects/" + stack.Secundus.ID + "/subscriptions/" + stack.ResultsSub)
		_ = sub.Receive(rctx, func(_ context.Context, m *pubsub.Message) {
			m.Ack()
			mu.Lock()
			msgs = append(msgs, m)
			mu.Unlock()
		})
	}()

	ref := e.push(e.s.PrimusRepository(), "latest", nil)
	digest := ref[strings.Index(ref, "@")+1:]
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	if err := e.s.WaitPinned(wctx, digest); err != nil {
		t.Fatal(err)
	}
	cancel()
	e.uploadModel()
	for i, n := range []string{"photos/a.png", "photos/b.png"} {
		e.upload(e.secundus, stack.InputBucket, n, photo(i))
		time.Sleep(gap)
	}
	e.upload(e.secundus, stack.InputBucket, "photos/broken.jpg", []byte("\xff\xd8 this is not a JPEG"))

	var summary records.Summary
	deadline := time.Now().Add(90 * time.Second)
	for summary.RunID == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no run summary on the results topic after 90s; where the uploads are:\n%s",
				e.s.TraceUploads(t.Context(), []string{"photos/a.png", "photos/b.png", "photos/broken.jpg"}))
		}
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		for _, m := range msgs {
			if m.Attributes[records.AttrKind] == "summary" {
				if err := json.Unmarshal(m.Data, &summary); err != nil {
					t.Fatal(err)
				}
			}
		}
		mu.Unlock()
	}
	// Give duplicates time to arrive, then count.
	time.Sleep(3 * time.Second)
	stopRecv()
	<-recvDone
	images, summaries := map[string]int{}, 0
	for _, m := range msgs {
		if m.Attributes[records.AttrRunID] != summary.RunID {
			t.Errorf("message for another run %q", m.Attributes[records.AttrRunID])
		}
		switch m.Attributes[records.AttrKind] {
		case "summary":
			summaries++
		default:
			images[m.Attributes[records.AttrImage]]++
		}
	}
	if summaries != 1 || len(images) != 3 {
		t.Errorf("results topic: %d summaries, images %v; want 1 summary and 3 images", summaries, images)
	}
	for img, n := range images {
		if n != 1 {
			t.Errorf("image %s announced %d times", img, n)
		}
	}
	if summary.Status != records.StatusOK || summary.Succeeded != 2 || summary.Failed != 1 || summary.ImageDigest != digest {
		t.Errorf("summary = %+v", summary)
	}

	// One upload burst, one execution.
	ec, err := e.s.ExecutionsClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	it := ec.ListExecutions(ctx, &executionspb.ListExecutionsRequest{Parent: stack.WorkflowParent()})
	n := 0
	for {
		_, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("%d executions for one upload burst, want 1", n)
	}
	// One pin despite the duplicated gcr event.
	audit, err := e.s.StorageClient(ctx, "user:"+stack.PrimusAdmin)
	if err != nil {
		t.Fatal(err)
	}
	defer audit.Close()
	pins := 0
	oit := audit.Bucket(stack.AuditBucket).Objects(ctx, &storage.Query{Prefix: "pins/records/"})
	for {
		_, err := oit.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pins++
	}
	if pins != 1 {
		t.Errorf("%d pin records, want 1", pins)
	}

	// The receipt binds the results to the attested image.
	prefix := records.Prefix(summary.RunID, 0, 1)
	res := e.waitObject(e.secundus, stack.ResultsBucket, prefix+records.ResultsFile, time.Second)
	sum := e.waitObject(e.secundus, stack.ResultsBucket, prefix+records.SummaryFile, time.Second)
	tok := e.waitObject(e.secundus, stack.ResultsBucket, prefix+records.ReceiptFile, time.Second)
	keys, err := receipt.FetchKeys(ctx, http.DefaultClient, e.s.Issuer.URL())
	if err != nil {
		t.Fatal(err)
	}
	run, err := receipt.VerifyRun(res, sum, tok, keys, receipt.Options{Issuer: e.s.Issuer.URL()})
	if err != nil {
		t.Fatalf("receipt: %v", err)
	}
	if run.Claims.ImageDigest != digest {
		t.Errorf("receipt attests %s, want %s", run.Claims.ImageDigest, digest)
	}
	if _, err := receipt.VerifyRun(append(res, '\n'), sum, tok, keys, receipt.Options{Issuer: e.s.Issuer.URL()}); err == nil {
		t.Error("a tampered results file verified")
	}

	// The codelab's unauthorized workload: the same program, another digest, pushed to Secundus's
	// own repository and launched against Primus's model, is refused by STS.
	bad := e.push(e.s.SecundusRepository(), "latest", map[string]string{"org.cspipe.variant": "secundus"})
	if strings.HasSuffix(bad, "@"+digest) {
		t.Fatal("the unauthorized image has the pinned digest")
	}
	e.launch("run-unauth", bad, map[string]string{"CSPIPE_INPUT_PREFIX": "photos/"}, false)
	if s := e.summary("run-unauth", 10*time.Second); s.Status != records.StatusFailed || !strings.Contains(s.Error, rejected) {
		t.Errorf("unauthorized summary = %+v, want failed with the STS rejection", s)
	}
}
