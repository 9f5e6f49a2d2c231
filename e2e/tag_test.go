package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"github.com/cspipe/cspipe/infra/local/registry"
	"github.com/cspipe/cspipe/infra/local/stack"
)

// TestTagIsNeverPinned sends PinWorkloadImage tag-only notifications (one with a crafted tag) and
// launches the workflow with a tag: nothing is pinned and no VM is created.
func TestTagIsNeverPinned(t *testing.T) {
	e := newEnv(t, stack.Options{})
	before := e.s.Condition()
	repo := e.s.PrimusRepository()
	pub := e.s.PubSub.Publisher("projects/" + stack.Primus.ID + "/topics/" + stack.GCRTopic)
	defer pub.Stop()
	for _, tag := range []string{repo + ":latest", repo + ":x' || true || '"} {
		data, _ := json.Marshal(registry.Notification{Action: "INSERT", Tag: tag})
		if _, err := pub.Publish(t.Context(), &pubsub.Message{Data: data}).Get(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for e.s.Eventarc.Delivered("pin-workload-image") < 2 {
		if time.Now().After(deadline) {
			t.Fatal("PinWorkloadImage never acked the notifications")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := e.s.Condition(); got != before {
		t.Errorf("a tag changed the condition:\n%s", got)
	}

	state := e.launch("run-tag", repo+":latest", nil, false)
	if !strings.HasPrefix(state, "FAILED") || !strings.Contains(state, "pinned by digest") {
		t.Errorf("launching a tag: %s, want a failed execution naming the digest rule", state)
	}
	if n := len(e.s.Compute.Instances()); n != 0 {
		t.Errorf("%d VM(s) created for a tag", n)
	}
}
