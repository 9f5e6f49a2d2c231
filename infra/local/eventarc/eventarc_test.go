package eventarc

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/google/go-cmp/cmp"
	"github.com/googleapis/google-cloudevents-go/cloud/storagedata"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
)

type received struct {
	Headers map[string]string
	Body    []byte
}

// sink records deliveries and answers 500 to the first failFirst requests.
type sink struct {
	mu        sync.Mutex
	got       []received
	failFirst int
	calls     int
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.calls <= s.failFirst {
		http.Error(w, "try again", http.StatusInternalServerError)
		return
	}
	h := map[string]string{}
	for _, k := range []string{"Ce-Specversion", "Ce-Type", "Ce-Source", "Ce-Subject", "Content-Type"} {
		h[k] = r.Header.Get(k)
	}
	h["has-id"] = boolStr(r.Header.Get("Ce-Id") != "")
	h["has-time"] = boolStr(r.Header.Get("Ce-Time") != "")
	b, _ := io.ReadAll(r.Body)
	s.got = append(s.got, received{h, b})
}

func (s *sink) snapshot() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

func boolStr(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func setup(t *testing.T, opts Options) (*pubsub.Client, *Dispatcher) {
	t.Helper()
	srv := pstest.NewServerWithAddress("127.0.0.1:0")
	t.Cleanup(func() { srv.Close() })
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := pubsub.NewClient(t.Context(), "p", option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for _, topic := range []string{"gcs", "gcr"} {
		if _, err := c.TopicAdminClient.CreateTopic(t.Context(), &pubsubpb.Topic{Name: "projects/p/topics/" + topic}); err != nil {
			t.Fatal(err)
		}
	}
	opts.Client = c
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if opts.InitialBackoff == 0 {
		opts.InitialBackoff = 10 * time.Millisecond
	}
	d, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return c, d
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStorageTriggerRetriesAndFilters(t *testing.T) {
	c, d := setup(t, Options{})
	s := &sink{failFirst: 2}
	target := httptest.NewServer(s)
	defer target.Close()
	if err := d.Add(t.Context(), Trigger{Name: "input", Project: "p", Topic: "projects/p/topics/gcs", Bucket: "in", Target: target.URL}); err != nil {
		t.Fatal(err)
	}
	pub := c.Publisher("gcs")
	defer pub.Stop()
	// fake-gcs-server's payload: id without the generation, no metageneration.
	obj := `{"kind":"storage#object","id":"in/a/cat.jpg","bucket":"in","name":"a/cat.jpg","generation":"17"}`
	// Cloud Storage's object resource, as Eventarc delivers it.
	wantData := `{"bucket":"in","generation":"17","id":"in/a/cat.jpg/17","kind":"storage#object","metageneration":"1","name":"a/cat.jpg"}`
	for _, m := range []*pubsub.Message{
		{Data: []byte(`{}`), Attributes: map[string]string{"eventType": "OBJECT_DELETE", "bucketId": "in", "objectId": "x"}},
		{Data: []byte(`{}`), Attributes: map[string]string{"eventType": "OBJECT_FINALIZE", "bucketId": "other", "objectId": "x"}},
		{Data: []byte(obj), Attributes: map[string]string{"eventType": "OBJECT_FINALIZE", "bucketId": "in", "objectId": "a/cat.jpg",
			"eventTime": "2026-11-28T21:00:00.5Z"}},
	} {
		if _, err := pub.Publish(t.Context(), m).Get(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return d.Delivered("input") == 1 })
	time.Sleep(100 * time.Millisecond) // nothing else arrives
	got := s.snapshot()
	want := []received{{Headers: map[string]string{
		"Ce-Specversion": "1.0", "Ce-Type": TypeStorageFinalized, "Ce-Source": "//storage.googleapis.com/projects/_/buckets/in",
		"Ce-Subject": "objects/a/cat.jpg", "Content-Type": "application/json; charset=utf-8", "has-id": "yes", "has-time": "yes",
	}, Body: []byte(wantData)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	if s.calls != 3 {
		t.Errorf("target called %d times, want 2 failures + 1 success", s.calls)
	}
}

func TestPubSubTriggerEnvelopeAndCopies(t *testing.T) {
	c, d := setup(t, Options{Copies: 2, CopyDelay: 20 * time.Millisecond})
	s := &sink{}
	target := httptest.NewServer(s)
	defer target.Close()
	if err := d.Add(t.Context(), Trigger{Name: "pin", Project: "p", Topic: "projects/p/topics/gcr", Target: target.URL}); err != nil {
		t.Fatal(err)
	}
	pub := c.Publisher("gcr")
	defer pub.Stop()
	id, err := pub.Publish(t.Context(), &pubsub.Message{Data: []byte(`{"action":"INSERT"}`), Attributes: map[string]string{"k": "v"}}).Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return d.Delivered("pin") == 3 })
	got := s.snapshot()
	for i, r := range got {
		if r.Headers["Ce-Type"] != TypePubSubPublished || r.Headers["Ce-Source"] != "//pubsub.googleapis.com/projects/p/topics/gcr" {
			t.Errorf("delivery %d headers %v", i, r.Headers)
		}
		var env struct {
			Message struct {
				Data       string            `json:"data"`
				MessageID  string            `json:"messageId"`
				Attributes map[string]string `json:"attributes"`
			} `json:"message"`
			Subscription string `json:"subscription"`
		}
		if err := json.Unmarshal(r.Body, &env); err != nil {
			t.Fatal(err)
		}
		data, _ := base64.StdEncoding.DecodeString(env.Message.Data)
		if string(data) != `{"action":"INSERT"}` || env.Message.MessageID != id || env.Message.Attributes["k"] != "v" ||
			env.Subscription != "projects/p/subscriptions/eventarc-pin" {
			t.Errorf("delivery %d envelope %+v", i, env)
		}
	}
}

// The finalized event's data is Cloud Storage's object resource (StorageObjectData): its id is
// bucket/name/generation and a new generation has metageneration 1, as JSON strings; the local
// notification payload (fake-gcs-server's) lacks metageneration and names bucket/name as id.
func TestStorageDataIsTheObjectResource(t *testing.T) {
	in := `{"kind":"storage#object","id":"in/photos/a b.jpg","name":"photos/a b.jpg","bucket":"in","generation":"1764362400123456",` +
		`"contentType":"image/jpeg","storageClass":"STANDARD","size":"13","md5Hash":"x","crc32c":"y","metadata":{"k":"v"}}`
	var d storagedata.StorageObjectData
	if err := protojson.Unmarshal(storageData([]byte(in)), &d); err != nil {
		t.Fatal(err)
	}
	if d.GetId() != "in/photos/a b.jpg/1764362400123456" || d.GetMetageneration() != 1 || d.GetGeneration() != 1764362400123456 ||
		d.GetSize() != 13 || d.GetMetadata()["k"] != "v" {
		t.Errorf("data = %v", &d)
	}
	var raw map[string]any
	if err := json.Unmarshal(storageData([]byte(in)), &raw); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"generation", "metageneration", "size"} {
		if _, ok := raw[f].(string); !ok {
			t.Errorf("%s is %T, want a JSON string (int64 in the JSON API)", f, raw[f])
		}
	}
	for _, other := range []string{`{}`, `not json`, `{"bucket":"in","name":"x"}`} {
		if got := string(storageData([]byte(other))); got != other {
			t.Errorf("storageData(%s) = %s, want it unchanged", other, got)
		}
	}
}
