package stack

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/cspipe/cspipe/infra/local/iam"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// startPubSub serves pstest's Pub/Sub behind IAM. pstest's own listener is retired once it
// serves, so its state is reachable only through two authorizing fronts: the advertised TCP
// address (PubSubServer.Addr; callers without credentials are the local operator) and a unix
// socket in a private directory for fake-gcs-server's notifier, which sends no credentials and
// stands for the Cloud Storage service agent. The process's PUBSUB_EMULATOR_HOST names the socket.
// The socket's front publishes only the notifications of buckets that have a notification
// configuration on Google Cloud (notifiedBuckets).
func (s *Stack) startPubSub(ctx context.Context, port int) error {
	ps := pstest.NewServerWithAddress("127.0.0.1:0")
	s.PubSubServer = ps
	s.defer_(func() { ps.Close() })
	if err := retireListener(ctx, ps); err != nil {
		return err
	}
	serve := func(lis net.Listener, anonymous string, extra ...grpc.UnaryServerInterceptor) {
		auth := iam.GRPCAuth{IAM: s.IAM, Anonymous: anonymous, Rule: pubsubRule, Denied: pubsubDenied}
		g := pubsubFront(ps, append([]grpc.UnaryServerInterceptor{auth.Unary()}, extra...), auth.Stream())
		go func() { _ = g.Serve(lis) }()
		s.defer_(g.Stop)
	}
	lis, err := listen("Pub/Sub (gRPC)", port)
	if err != nil {
		return err
	}
	serve(lis, iam.User(LocalOperator))
	ps.Addr = lis.Addr().String()

	dir, err := os.MkdirTemp("", "cspipe-ps-")
	if err != nil {
		return err
	}
	s.defer_(func() { _ = os.RemoveAll(dir) })
	sock := filepath.Join(dir, "notify.sock")
	ul, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("stack: pubsub socket: %w", err)
	}
	serve(ul, iam.ServiceAccount(GCSServiceAgent), notificationsOnlyFor(notifiedBuckets))
	if err := os.Setenv("PUBSUB_EMULATOR_HOST", "unix://"+sock); err != nil {
		return err
	}

	if s.PubSub, err = s.pubsubAs(ctx, iam.User(adminPrincipal)); err != nil {
		return err
	}
	s.gcrPublishers = map[string]*pubsub.Client{}
	for _, p := range []Project{Primus, Secundus} {
		if s.gcrPublishers[p.ID], err = s.pubsubAs(ctx, iam.ServiceAccount(ArtifactRegistryAgent(p))); err != nil {
			return err
		}
	}
	return nil
}

// pubsubFront is a gRPC server for pstest's Pub/Sub state: the unary interceptors (authorization
// first), then Pub/Sub's publish limits; the stream interceptor, then the front's ping answers;
// and a receive limit that lets a 10 MiB publish through, as Google's does.
func pubsubFront(ps *pstest.Server, unary []grpc.UnaryServerInterceptor, stream grpc.StreamServerInterceptor) *grpc.Server {
	streams := []grpc.StreamServerInterceptor{answerPings()}
	if stream != nil {
		streams = append([]grpc.StreamServerInterceptor{stream}, streams...)
	}
	g := grpc.NewServer(grpc.ChainUnaryInterceptor(append(unary, publishLimits())...),
		grpc.ChainStreamInterceptor(streams...), grpc.MaxRecvMsgSize(pubsubMaxRecv))
	pubsubpb.RegisterPublisherServer(g, &ps.GServer)
	pubsubpb.RegisterSubscriberServer(g, &ps.GServer)
	pubsubpb.RegisterSchemaServiceServer(g, &ps.GServer)
	return g
}

// answerPings answers StreamingPull's keepalive pings at the front instead of passing them to
// pstest, which answers a ping while holding its one server lock and blocks until the stream's
// send loop takes the answer. When the stream ends first (the client closed it: Receive stopped,
// or the client's own keepalive check gave up on a slow answer and reopened it), the send loop is
// gone, the lock is never released, and every publish, ack and delivery of the whole emulator
// waits for good: uploads are stored but no event reaches a function and no result is published.
// Google's Pub/Sub answers a ping (an empty request on a stream opened with protocol version 1 or
// later) with an empty response and nothing else, which is what the front does, one send at a
// time with pstest's own sends on the stream.
func answerPings() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		if info.FullMethod != pubsubpb.Subscriber_StreamingPull_FullMethodName {
			return next(srv, ss)
		}
		return next(srv, &pingAnswerer{ServerStream: ss})
	}
}

// pingAnswerer is a StreamingPull stream whose pings the front answers itself.
type pingAnswerer struct {
	grpc.ServerStream
	sendMu  sync.Mutex // the front's answers and pstest's sends go out one at a time
	opened  bool       // the first request (which names the subscription) was received
	answers bool       // the client speaks protocol version 1 or later: pings get an answer
}

func (p *pingAnswerer) SendMsg(m any) error {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	return p.ServerStream.SendMsg(m)
}

func (p *pingAnswerer) RecvMsg(m any) error {
	for {
		if err := p.ServerStream.RecvMsg(m); err != nil {
			return err
		}
		req, ok := m.(*pubsubpb.StreamingPullRequest)
		if !ok {
			return nil
		}
		if !p.opened {
			p.opened, p.answers = true, req.GetProtocolVersion() >= 1
			return nil
		}
		if len(req.GetAckIds()) > 0 || len(req.GetModifyDeadlineAckIds()) > 0 {
			return nil
		}
		// A ping: pstest does nothing with it but answer (a new stream ack deadline on a
		// ping is ignored there too), so it never sees it.
		if p.answers {
			if err := p.SendMsg(&pubsubpb.StreamingPullResponse{}); err != nil {
				return err
			}
		}
	}
}

// retireListener waits until pstest serves (so stopping it does not race its Serve) and then
// stops its gRPC server and listener; the GServer state stays usable.
func retireListener(ctx context.Context, ps *pstest.Server) error {
	conn, err := grpc.NewClient(ps.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("stack: dialing pstest: %w", err)
	}
	defer conn.Close()
	if _, err := pubsubpb.NewPublisherClient(conn).ListTopics(ctx, &pubsubpb.ListTopicsRequest{Project: "projects/" + Secundus.ID}); err != nil {
		return fmt.Errorf("stack: pstest not serving: %w", err)
	}
	return ps.Close()
}

// pubsubAs returns a Pub/Sub client on the advertised front acting as principal.
func (s *Stack) pubsubAs(ctx context.Context, principal string) (*pubsub.Client, error) {
	conn, err := grpc.NewClient(s.PubSubServer.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()), s.grpcAs(principal))
	if err != nil {
		return nil, fmt.Errorf("stack: dialing pubsub: %w", err)
	}
	c, err := pubsub.NewClient(ctx, Secundus.ID, option.WithGRPCConn(conn))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("stack: pubsub client: %w", err)
	}
	s.defer_(func() { c.Close() })
	return c, nil
}
