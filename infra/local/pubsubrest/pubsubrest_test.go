package pubsubrest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

const (
	topic = "projects/p/topics/t"
	sub   = "projects/p/subscriptions/s"
)

type fixture struct {
	url  string
	pub  pubsubpb.PublisherClient
	sub  pubsubpb.SubscriberClient
	seen []string // methods the authorizer was asked about
	auth []string // authorization metadata it saw
}

func setup(t *testing.T, deny string) *fixture {
	t.Helper()
	ps := pstest.NewServer()
	t.Cleanup(func() { ps.Close() })
	conn, err := grpc.NewClient(ps.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f := &fixture{pub: pubsubpb.NewPublisherClient(conn), sub: pubsubpb.NewSubscriberClient(conn)}
	s, err := New(Options{Conn: conn, Authorize: func(ctx context.Context, method string, req proto.Message) error {
		f.seen = append(f.seen, method)
		md, _ := metadata.FromIncomingContext(ctx)
		f.auth = append(f.auth, strings.Join(md.Get("authorization"), ","))
		if method == deny {
			return errors.New("caller lacks pubsub.topics.publish on " + nameOf(req))
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	h := httptest.NewServer(s)
	t.Cleanup(h.Close)
	f.url = h.URL
	if _, err := f.pub.CreateTopic(t.Context(), &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) do(t *testing.T, method, path, body string, hdr ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, f.url+path, strings.NewReader(body))
	if len(hdr) > 0 {
		req.Header.Set("Authorization", hdr[0])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, path, b)
	}
	return resp.StatusCode, out
}

// TestRESTAndGRPCShareState publishes and pulls across the two surfaces in both directions.
func TestRESTAndGRPCShareState(t *testing.T) {
	f := setup(t, "")
	if code, out := f.do(t, "PUT", "/v1/"+sub, `{"topic":"`+topic+`","ackDeadlineSeconds":30}`); code != 200 || out["name"] != sub {
		t.Fatalf("create subscription: %d %v", code, out)
	}
	if code, out := f.do(t, "GET", "/v1/"+topic, ""); code != 200 || out["name"] != topic {
		t.Fatalf("get topic: %d %v", code, out)
	}
	data := base64.StdEncoding.EncodeToString([]byte("hello over REST"))
	code, out := f.do(t, "POST", "/v1/"+topic+":publish",
		`{"messages":[{"data":"`+data+`","attributes":{"kind":"record"}}]}`, "Bearer abc")
	if code != 200 || len(out["messageIds"].([]any)) != 1 {
		t.Fatalf("publish: %d %v", code, out)
	}
	// gRPC sees the REST message.
	pr, err := f.sub.Pull(t.Context(), &pubsubpb.PullRequest{Subscription: sub, MaxMessages: 10})
	if err != nil || len(pr.ReceivedMessages) != 1 {
		t.Fatalf("gRPC pull: %v, %d messages", err, len(pr.GetReceivedMessages()))
	}
	m := pr.ReceivedMessages[0].Message
	if string(m.Data) != "hello over REST" || m.Attributes["kind"] != "record" {
		t.Errorf("gRPC got %q %v", m.Data, m.Attributes)
	}
	if _, err := f.sub.Acknowledge(t.Context(), &pubsubpb.AcknowledgeRequest{Subscription: sub, AckIds: []string{pr.ReceivedMessages[0].AckId}}); err != nil {
		t.Fatal(err)
	}

	// REST sees a gRPC message; modifyAckDeadline 0 redelivers it; acknowledge removes it.
	if _, err := f.pub.Publish(t.Context(), &pubsubpb.PublishRequest{Topic: topic, Messages: []*pubsubpb.PubsubMessage{{Data: []byte("hello over gRPC")}}}); err != nil {
		t.Fatal(err)
	}
	pull := func() []any {
		code, out := f.do(t, "POST", "/v1/"+sub+":pull", `{"maxMessages":10}`)
		if code != 200 {
			t.Fatalf("pull: %d %v", code, out)
		}
		rm, _ := out["receivedMessages"].([]any)
		return rm
	}
	rm := pull()
	if len(rm) != 1 {
		t.Fatalf("REST pull got %d messages, want 1", len(rm))
	}
	first := rm[0].(map[string]any)
	msg := first["message"].(map[string]any)
	if got, _ := base64.StdEncoding.DecodeString(msg["data"].(string)); string(got) != "hello over gRPC" {
		t.Errorf("REST got data %q", got)
	}
	if msg["messageId"] == "" || msg["publishTime"] == nil {
		t.Errorf("message lacks id or publish time: %v", msg)
	}
	ack := first["ackId"].(string)
	if code, out := f.do(t, "POST", "/v1/"+sub+":modifyAckDeadline", `{"ackIds":["`+ack+`"],"ackDeadlineSeconds":0}`); code != 200 {
		t.Fatalf("modifyAckDeadline: %d %v", code, out)
	}
	rm = pull()
	if len(rm) != 1 {
		t.Fatalf("after nack, REST pull got %d messages, want the redelivery", len(rm))
	}
	ack = rm[0].(map[string]any)["ackId"].(string)
	if code, out := f.do(t, "POST", "/v1/"+sub+":acknowledge", `{"ackIds":["`+ack+`"]}`); code != 200 {
		t.Fatalf("acknowledge: %d %v", code, out)
	}
	if code, out := f.do(t, "DELETE", "/v1/"+sub, ""); code != 200 {
		t.Fatalf("delete subscription: %d %v", code, out)
	}
	if code, out := f.do(t, "GET", "/v1/"+sub, ""); code != 404 || out["error"].(map[string]any)["status"] != "NOT_FOUND" {
		t.Errorf("get deleted subscription: %d %v", code, out)
	}
	if f.auth[2] != "Bearer abc" {
		t.Errorf("the authorizer saw authorization %q for publish, want the caller's header", f.auth[2])
	}
}

func TestErrorsAreGoogleShaped(t *testing.T) {
	f := setup(t, mPublish)
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		status                   string
	}{
		{"publish refused by the authorizer", "POST", "/v1/" + topic + ":publish", `{"messages":[{"data":"eA=="}]}`, 403, "PERMISSION_DENIED"},
		{"unknown topic", "GET", "/v1/projects/p/topics/nope", "", 404, "NOT_FOUND"},
		{"subscription to a missing topic", "PUT", "/v1/" + sub, `{"topic":"projects/p/topics/nope"}`, 404, "NOT_FOUND"},
		{"duplicate topic", "PUT", "/v1/" + topic, "", 409, "ALREADY_EXISTS"},
		{"bad JSON", "POST", "/v1/" + sub + ":pull", `{"maxMessages":`, 400, "INVALID_ARGUMENT"},
		{"unsupported verb", "POST", "/v1/" + sub + ":seek", `{}`, 404, "NOT_FOUND"},
		{"not the v1 API", "GET", "/v2/" + topic, "", 404, "NOT_FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := f.do(t, tc.method, tc.path, tc.body)
			e, _ := out["error"].(map[string]any)
			if code != tc.code || e == nil || e["status"] != tc.status || e["code"] != float64(tc.code) || e["message"] == "" {
				t.Errorf("got %d %v, want %d %s", code, out, tc.code, tc.status)
			}
		})
	}
	// The refused publish never reached the topic.
	if _, err := f.sub.CreateSubscription(t.Context(), &pubsubpb.Subscription{Name: sub, Topic: topic}); err != nil {
		t.Fatal(err)
	}
	pr, err := f.sub.Pull(t.Context(), &pubsubpb.PullRequest{Subscription: sub, ReturnImmediately: true})
	if err != nil || len(pr.ReceivedMessages) != 0 {
		t.Errorf("pull after a refused publish: %v, %d messages", err, len(pr.GetReceivedMessages()))
	}
}

func TestBodyCannotRenameTheResource(t *testing.T) {
	f := setup(t, "")
	code, out := f.do(t, "PUT", "/v1/"+sub, `{"name":"projects/p/subscriptions/other","topic":"`+topic+`"}`)
	if code != 200 || out["name"] != sub {
		t.Fatalf("create: %d %v, want the URL's name", code, out)
	}
}
