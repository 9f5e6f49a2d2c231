package eventarc

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"github.com/google/go-cmp/cmp"
)

// TestTriggerSendsIDToken: a trigger with a service account sends an ID token minted for it
// with the target URL as audience (Cloud Run checks run.invoker on that identity).
func TestTriggerSendsIDToken(t *testing.T) {
	var mu sync.Mutex
	var minted [][2]string
	c, d := setup(t, Options{IDToken: func(sa, aud string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		minted = append(minted, [2]string{sa, aud})
		return "id-token-for-" + sa, nil
	}})
	var got []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	defer target.Close()
	if err := d.Add(t.Context(), Trigger{Name: "pin", Project: "p", Topic: "projects/p/topics/gcr", Target: target.URL + "/Pin", ServiceAccount: "trigger@p.iam.gserviceaccount.com"}); err != nil {
		t.Fatal(err)
	}
	pub := c.Publisher("gcr")
	defer pub.Stop()
	if _, err := pub.Publish(t.Context(), &pubsub.Message{Data: []byte(`{}`)}).Get(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return d.Delivered("pin") == 1 })
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "Bearer id-token-for-trigger@p.iam.gserviceaccount.com" {
		t.Errorf("Authorization headers %q", got)
	}
	if len(minted) != 1 || minted[0] != [2]string{"trigger@p.iam.gserviceaccount.com", target.URL + "/Pin"} {
		t.Errorf("minted %q, want one token for the trigger's account with the target as audience", minted)
	}
}

// TestIDTokenIsReusedThenRenewed: deliveries within idTokenReuse share one minted token (a
// signature per event was a sixth of the stack's CPU in a burst); a later one gets a new token,
// long before the hour a token is valid for.
func TestIDTokenIsReusedThenRenewed(t *testing.T) {
	var skew atomic.Int64
	var mu sync.Mutex
	minted := 0
	c, d := setup(t, Options{
		Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) },
		IDToken: func(sa, aud string) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			minted++
			return fmt.Sprintf("token-%d", minted), nil
		}})
	var got []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	defer target.Close()
	if err := d.Add(t.Context(), Trigger{Name: "pin", Project: "p", Topic: "projects/p/topics/gcr", Target: target.URL, ServiceAccount: "trigger@p.iam.gserviceaccount.com"}); err != nil {
		t.Fatal(err)
	}
	pub := c.Publisher("gcr")
	defer pub.Stop()
	publish := func() {
		if _, err := pub.Publish(t.Context(), &pubsub.Message{Data: []byte(`{}`)}).Get(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		publish()
	}
	waitFor(t, func() bool { return d.Delivered("pin") == 5 })
	skew.Store(int64(idTokenReuse + time.Second))
	publish()
	waitFor(t, func() bool { return d.Delivered("pin") == 6 })
	mu.Lock()
	defer mu.Unlock()
	want := []string{"Bearer token-1", "Bearer token-1", "Bearer token-1", "Bearer token-1", "Bearer token-1", "Bearer token-2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Authorization headers (-want +got):\n%s", diff)
	}
}
