package stack

import (
	"context"
	"fmt"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// TestPubSubSurvivesPingsOnClosingStreams opens StreamingPull streams on the stack's Pub/Sub
// front that send keepalive pings (as the Go client does every 30 s) and are closed before the
// pings are answered, while messages keep arriving, as a stopping Receive or a client that
// reopens a stream does. pstest answered such a ping under its server lock and waited for the
// closed stream's send loop for good, so that every later publish, ack and delivery of the whole
// emulator hung: uploads were stored but nothing reached a function or the results topic (what an
// e2e/clients wait ending with "0 of 5 records, summaries map[]" looks like). Each round must
// leave the emulator answering a publish within seconds.
func TestPubSubSurvivesPingsOnClosingStreams(t *testing.T) {
	s, err := Start(t.Context(), Options{})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	hung := false
	defer func() {
		if !hung { // a hung emulator would hang Close too
			s.Close()
		}
	}()
	ctx := t.Context()
	topic := "projects/" + Secundus.ID + "/topics/" + ResultsTopic
	sub := "projects/" + Secundus.ID + "/subscriptions/ping-test"
	if _, err := s.PubSub.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: sub, Topic: topic, AckDeadlineSeconds: 60}); err != nil {
		t.Fatal(err)
	}
	// The local operator's plain connection, as a client with only PUBSUB_EMULATOR_HOST has.
	conn, err := grpc.NewClient(s.PubSubServer.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	subs := pubsubpb.NewSubscriberClient(conn)
	publish := func(round int) error {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := s.PubSub.TopicAdminClient.Publish(pctx, &pubsubpb.PublishRequest{Topic: topic,
			Messages: []*pubsubpb.PubsubMessage{{Data: fmt.Appendf(nil, "round %d", round)}}})
		return err
	}
	const rounds = 300
	for i := range rounds {
		if err := publish(i); err != nil {
			hung = true
			t.Fatalf("after %d streams closed with pings pending, the emulator no longer answers a publish within 5s: %v", i, err)
		}
		sctx, cancel := context.WithCancel(ctx)
		st, err := subs.StreamingPull(sctx)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		err = st.Send(&pubsubpb.StreamingPullRequest{Subscription: sub, StreamAckDeadlineSeconds: 60, ProtocolVersion: 1})
		for range 20 {
			if err == nil {
				err = st.Send(&pubsubpb.StreamingPullRequest{}) // a keepalive ping; the answers are never read
			}
		}
		time.Sleep(time.Duration(i%5) * time.Millisecond)
		cancel()
		if err != nil {
			t.Fatalf("stream %d: %v", i, err)
		}
	}
	// A stream that stays open gets its ping answered (empty response), as before.
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := subs.StreamingPull(sctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&pubsubpb.StreamingPullRequest{Subscription: sub, StreamAckDeadlineSeconds: 60, ProtocolVersion: 1}); err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&pubsubpb.StreamingPullRequest{}); err != nil {
		t.Fatal(err)
	}
	for {
		resp, err := st.Recv()
		if err != nil {
			t.Fatalf("no answer to a ping on an open stream: %v", err)
		}
		if len(resp.GetReceivedMessages()) == 0 {
			break // the ping's answer (messages of the rounds may come first)
		}
	}
}
