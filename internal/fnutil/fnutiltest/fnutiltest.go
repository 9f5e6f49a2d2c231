// Package fnutiltest helps the integration tests of the function adapters: it starts
// fake-gcs-server on loopback with a real storage client, serves a CloudEvent handler over
// HTTP the way the Functions Framework does, and sends events in binary content mode (as
// Eventarc does) with the CloudEvents SDK client. It is for tests only.
package fnutiltest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/api/option"
)

// FakeGCS starts fake-gcs-server on a loopback port with the given buckets and returns it with
// a real storage client pointed at it (JSON API reads). Both are closed when the test ends.
func FakeGCS(t testing.TB, buckets ...string) (*fakestorage.Server, *storage.Client) {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http", Host: "127.0.0.1", Writer: io.Discard,
	})
	if err != nil {
		t.Fatalf("starting fake-gcs-server: %v", err)
	}
	t.Cleanup(srv.Stop)
	for _, b := range buckets {
		srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: b, VersioningEnabled: false})
	}
	c, err := storage.NewClient(context.Background(), option.WithEndpoint(srv.URL()+"/storage/v1/"),
		option.WithoutAuthentication(), storage.WithJSONReads())
	if err != nil {
		t.Fatalf("storage client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return srv, c
}

// Serve serves fn over HTTP as a CloudEvent function (binary and structured mode) on loopback
// and returns its URL. A nil result answers 2xx (ack); an error answers 5xx (redeliver).
func Serve(t testing.TB, fn func(context.Context, event.Event) error) string {
	t.Helper()
	p, err := cloudevents.NewHTTP()
	if err != nil {
		t.Fatalf("cloudevents protocol: %v", err)
	}
	h, err := cloudevents.NewHTTPReceiveHandler(context.Background(), p, fn)
	if err != nil {
		t.Fatalf("receive handler: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// Send posts e to url in binary content mode and returns nil when the function acked it,
// or an error carrying the HTTP status when it asked for redelivery.
func Send(ctx context.Context, url string, e event.Event) error {
	c, err := cloudevents.NewClientHTTP()
	if err != nil {
		return err
	}
	ctx = cloudevents.ContextWithTarget(ctx, url)
	ctx = cloudevents.WithEncodingBinary(ctx)
	res := c.Send(ctx, e)
	if cloudevents.IsACK(res) {
		return nil
	}
	var hr *cehttp.Result
	if cloudevents.ResultAs(res, &hr) {
		return fmt.Errorf("function answered HTTP %d: %w", hr.StatusCode, res)
	}
	return res
}

// StorageEvent builds a google.cloud.storage.object.v1.finalized event for an object whose
// attributes the caller read from the store, with the payload shaped as fake-gcs-server sends
// it (int64 fields as JSON numbers).
func StorageEvent(id, bucket, name string, generation, size int64, at time.Time) event.Event {
	e := event.New()
	e.SetID(id)
	e.SetType("google.cloud.storage.object.v1.finalized")
	e.SetSource("//storage.googleapis.com/projects/_/buckets/" + bucket)
	e.SetSubject("objects/" + name)
	e.SetTime(at)
	data, _ := json.Marshal(map[string]any{
		"kind": "storage#object", "bucket": bucket, "name": name, "generation": generation,
		"metageneration": 1, "size": size, "timeCreated": at.UTC().Format(time.RFC3339Nano),
		"updated": at.UTC().Format(time.RFC3339Nano),
	})
	_ = e.SetData(cloudevents.ApplicationJSON, data)
	return e
}

// PubSubEvent builds a google.cloud.pubsub.topic.v1.messagePublished event whose envelope
// carries data, as Eventarc delivers a Pub/Sub message.
func PubSubEvent(id, topic string, data []byte, publishTime time.Time) event.Event {
	e := event.New()
	e.SetID(id)
	e.SetType("google.cloud.pubsub.topic.v1.messagePublished")
	e.SetSource("//pubsub.googleapis.com/" + topic)
	e.SetTime(publishTime)
	env, _ := json.Marshal(map[string]any{
		"message": map[string]any{
			"data": base64.StdEncoding.EncodeToString(data), "messageId": id,
			"publishTime": publishTime.UTC().Format(time.RFC3339Nano), "attributes": map[string]string{},
		},
		"subscription": "projects/test/subscriptions/eventarc-" + id,
	})
	_ = e.SetData(cloudevents.ApplicationJSON, env)
	return e
}
