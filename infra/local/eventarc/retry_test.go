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
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
)

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		name string
		n    int
		want time.Duration
	}{
		{"first retry waits the initial backoff", 1, 10 * time.Second},
		{"doubles", 2, 20 * time.Second},
		{"doubles again", 4, 80 * time.Second},
		{"reaches the cap", 7, 600 * time.Second},
		{"stays at the cap", 10_000, 600 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Backoff(c.n, 10*time.Second, 600*time.Second); got != c.want {
				t.Errorf("Backoff(%d, 10s, 600s) = %s, want %s", c.n, got, c.want)
			}
		})
	}
}

// flaky fails every request until failures reaches fail (counted per object, -1: forever) and
// records when each request came.
type flaky struct {
	mu    sync.Mutex
	fail  map[string]int // ce-subject -> failures to give
	calls map[string][]time.Time
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	subj := r.Header.Get("Ce-Subject")
	f.calls[subj] = append(f.calls[subj], time.Now())
	if n := f.fail[subj]; n != 0 && (n < 0 || len(f.calls[subj]) <= n) {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
}

func (f *flaky) count(subj string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls[subj])
}

func publishFinalize(t *testing.T, pub *pubsub.Publisher, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := pub.Publish(t.Context(), &pubsub.Message{Data: []byte(`{"name":"` + n + `"}`),
			Attributes: map[string]string{"eventType": "OBJECT_FINALIZE", "bucketId": "in", "objectId": n}}).Get(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}

// An event that keeps failing is retried well past the previous fixed budget of 8 attempts,
// with backoff that grows up to the cap, and is delivered once the target accepts it.
func TestFailingEventIsRetriedUntilAccepted(t *testing.T) {
	c, d := setup(t, Options{InitialBackoff: 2 * time.Millisecond, MaxBackoff: 8 * time.Millisecond})
	f := &flaky{fail: map[string]int{"objects/a.jpg": 40}, calls: map[string][]time.Time{}}
	target := httptest.NewServer(f)
	defer target.Close()
	if err := d.Add(t.Context(), Trigger{Name: "input", Project: "p", Topic: "projects/p/topics/gcs", Bucket: "in", Target: target.URL}); err != nil {
		t.Fatal(err)
	}
	pub := c.Publisher("gcs")
	defer pub.Stop()
	publishFinalize(t, pub, "a.jpg")
	waitFor(t, func() bool { return d.Delivered("input") == 1 })
	if n := f.count("objects/a.jpg"); n != 41 {
		t.Errorf("target called %d times, want 40 failures + 1 success", n)
	}
	if started, failed := d.Attempts("input"); started != 41 || failed != 40 {
		t.Errorf("Attempts: %d started, %d failed, want 41 and 40", started, failed)
	}
	f.mu.Lock()
	calls := f.calls["objects/a.jpg"]
	f.mu.Unlock()
	for i := 1; i < len(calls); i++ { // never sooner than the backoff says
		if gap, least := calls[i].Sub(calls[i-1]), Backoff(i, 2*time.Millisecond, 8*time.Millisecond); gap < least {
			t.Errorf("retry %d came %s after the previous attempt, want at least %s", i, gap, least)
		}
	}
	if d.Dropped("input") != 0 {
		t.Errorf("%d events dropped", d.Dropped("input"))
	}
}

// An event is dropped only when its retention since publication ends, not after a number of
// attempts; the clock is moved past the retention while the target still fails.
func TestFailingEventIsDroppedOnlyAfterItsRetention(t *testing.T) {
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	c, d := setup(t, Options{InitialBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, Retention: time.Hour, Now: now})
	f := &flaky{fail: map[string]int{"objects/bad.jpg": -1}, calls: map[string][]time.Time{}}
	target := httptest.NewServer(f)
	defer target.Close()
	if err := d.Add(t.Context(), Trigger{Name: "input", Project: "p", Topic: "projects/p/topics/gcs", Bucket: "in", Target: target.URL}); err != nil {
		t.Fatal(err)
	}
	pub := c.Publisher("gcs")
	defer pub.Stop()
	publishFinalize(t, pub, "bad.jpg")
	waitFor(t, func() bool { return f.count("objects/bad.jpg") >= 30 })
	if d.Dropped("input") != 0 {
		t.Fatalf("dropped after %d attempts within its retention", f.count("objects/bad.jpg"))
	}
	skew.Store(int64(time.Hour))
	waitFor(t, func() bool { return d.Dropped("input") == 1 })
	n := f.count("objects/bad.jpg")
	time.Sleep(50 * time.Millisecond)
	if m := f.count("objects/bad.jpg"); m != n || d.Delivered("input") != 0 {
		t.Errorf("after the drop: %d more attempts, %d delivered; want none", m-n, d.Delivered("input"))
	}
}

// Events that keep failing do not hold the trigger's delivery slots: a good event published
// after more failing events than the subscription lets out at once is still delivered.
func TestFailingEventsDoNotBlockOthers(t *testing.T) {
	c, d := setup(t, Options{InitialBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	f := &flaky{fail: map[string]int{}, calls: map[string][]time.Time{}}
	var bad []string
	for i := range 80 { // more than MaxOutstandingMessages (64)
		n := fmt.Sprintf("bad-%02d.jpg", i)
		bad = append(bad, n)
		f.fail["objects/"+n] = -1
	}
	target := httptest.NewServer(f)
	defer target.Close()
	if err := d.Add(t.Context(), Trigger{Name: "input", Project: "p", Topic: "projects/p/topics/gcs", Bucket: "in", Target: target.URL}); err != nil {
		t.Fatal(err)
	}
	pub := c.Publisher("gcs")
	defer pub.Stop()
	publishFinalize(t, pub, bad...)
	publishFinalize(t, pub, "good.jpg")
	waitFor(t, func() bool { return d.Delivered("input") == 1 })
	if f.count("objects/good.jpg") != 1 {
		t.Errorf("good event: %d requests, want 1", f.count("objects/good.jpg"))
	}
}

// A trigger whose subscriber stops (here: its subscription is deleted under it) says so through
// Stopped, which the stack's upload trace prints; a receiving trigger reports nil.
func TestStoppedTriggerIsReported(t *testing.T) {
	c, d := setup(t, Options{})
	target := httptest.NewServer(&flaky{fail: map[string]int{}, calls: map[string][]time.Time{}})
	defer target.Close()
	if err := d.Add(t.Context(), Trigger{Name: "input", Project: "p", Topic: "projects/p/topics/gcs", Bucket: "in", Target: target.URL}); err != nil {
		t.Fatal(err)
	}
	if err := d.Stopped("input"); err != nil {
		t.Fatalf("a receiving trigger reports %v", err)
	}
	if err := c.SubscriptionAdminClient.DeleteSubscription(t.Context(), &pubsubpb.DeleteSubscriptionRequest{Subscription: "projects/p/subscriptions/eventarc-input"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return d.Stopped("input") != nil })
}
