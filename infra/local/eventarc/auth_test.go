package eventarc

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"cloud.google.com/go/pubsub/v2"
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
