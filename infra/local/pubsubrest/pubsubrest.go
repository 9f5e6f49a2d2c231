// Package pubsubrest is the local Pub/Sub's REST surface: the v1 JSON API (pubsub.googleapis.com
// /v1/…) for `gcloud pubsub` and REST users, next to the gRPC stand-in (pstest) it forwards to.
// Every call becomes the same gRPC call on the same server, so both surfaces see one state:
// a message published over REST is pulled over gRPC and the other way round.
//
// Supported: topics create/get/delete/list and publish; subscriptions create/get/delete/list,
// pull, acknowledge and modifyAckDeadline. Anything else answers 404 in Google's error shape.
//
// The caller's Authorization header travels to the gRPC server as the `authorization` metadata
// key, and Options.Authorize (when set) is asked first with the same context, gRPC method name and
// request the gRPC side sees, so one check decides for both surfaces.
//
// It is part of the local stack and must never be linked into a binary built for GCP.
package pubsubrest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Authorizer decides a call before it is forwarded. ctx carries the caller's `authorization`
// as incoming gRPC metadata (absent for anonymous callers); method is the full gRPC method
// (e.g. "/google.pubsub.v1.Publisher/Publish"); req is the request as the gRPC side receives it.
// A gRPC status error keeps its code; any other error is a 403.
type Authorizer func(ctx context.Context, method string, req proto.Message) error

// Options configure a Server.
type Options struct {
	// Conn reaches the gRPC Pub/Sub server (required).
	Conn grpc.ClientConnInterface
	// Authorize, when set, is asked before every call.
	Authorize Authorizer
	// MaxBodyBytes bounds a request body; default 10 MiB (Pub/Sub's publish request limit).
	MaxBodyBytes int64
}

// Server serves the REST surface. Use Handler, or Start for its own listener.
type Server struct {
	opts Options
	pub  pubsubpb.PublisherClient
	sub  pubsubpb.SubscriberClient
	lis  net.Listener
	srv  *http.Server
}

// New returns a Server forwarding to opts.Conn.
func New(opts Options) (*Server, error) {
	if opts.Conn == nil {
		return nil, errors.New("pubsubrest: no gRPC connection")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 10 << 20
	}
	return &Server{opts: opts, pub: pubsubpb.NewPublisherClient(opts.Conn), sub: pubsubpb.NewSubscriberClient(opts.Conn)}, nil
}

// Serve serves the handler on lis until Close.
func (s *Server) Serve(lis net.Listener) {
	s.lis = lis
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(lis) }()
}

// URL is the base URL when serving (http://HOST:PORT); the API is under /v1/.
func (s *Server) URL() string { return "http://" + s.lis.Addr().String() }

// Close stops serving.
func (s *Server) Close() {
	if s.srv != nil {
		_ = s.srv.Close()
	}
}

const (
	mPublish          = "/google.pubsub.v1.Publisher/Publish"
	mCreateTopic      = "/google.pubsub.v1.Publisher/CreateTopic"
	mGetTopic         = "/google.pubsub.v1.Publisher/GetTopic"
	mDeleteTopic      = "/google.pubsub.v1.Publisher/DeleteTopic"
	mListTopics       = "/google.pubsub.v1.Publisher/ListTopics"
	mCreateSub        = "/google.pubsub.v1.Subscriber/CreateSubscription"
	mGetSub           = "/google.pubsub.v1.Subscriber/GetSubscription"
	mDeleteSub        = "/google.pubsub.v1.Subscriber/DeleteSubscription"
	mListSubs         = "/google.pubsub.v1.Subscriber/ListSubscriptions"
	mPull             = "/google.pubsub.v1.Subscriber/Pull"
	mAcknowledge      = "/google.pubsub.v1.Subscriber/Acknowledge"
	mModifyAckDeadine = "/google.pubsub.v1.Subscriber/ModifyAckDeadline"
)

// call is one routed request: the gRPC method, a request to fill, and how to run it.
type call struct {
	method string
	req    proto.Message
	body   bool // the request body is decoded into req
	run    func(ctx context.Context) (proto.Message, error)
}

// ServeHTTP routes a REST call to its gRPC counterpart.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := s.route(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if c.body {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
		if err != nil {
			writeError(w, status.Errorf(codes.InvalidArgument, "reading the request body: %v", err))
			return
		}
		if len(strings.TrimSpace(string(b))) > 0 {
			name := nameOf(c.req)
			if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, c.req); err != nil {
				writeError(w, status.Errorf(codes.InvalidArgument, "Invalid JSON payload received. %v", err))
				return
			}
			setName(c.req, name) // the URL names the resource, not the body
		}
	}
	ctx := r.Context()
	if a := r.Header.Get("Authorization"); a != "" {
		ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs("authorization", a))
	}
	if s.opts.Authorize != nil {
		in := metadata.MD{}
		if a := r.Header.Get("Authorization"); a != "" {
			in.Set("authorization", a)
		}
		if err := s.opts.Authorize(metadata.NewIncomingContext(r.Context(), in), c.method, c.req); err != nil {
			if _, ok := status.FromError(err); !ok {
				err = status.Error(codes.PermissionDenied, err.Error())
			}
			writeError(w, err)
			return
		}
	}
	resp, err := c.run(ctx)
	if err != nil {
		writeError(w, err)
		return
	}
	b, err := protojson.MarshalOptions{}.Marshal(resp)
	if err != nil {
		writeError(w, status.Errorf(codes.Internal, "encoding the response: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(b)
}

// route maps METHOD /v1/projects/P/{topics|subscriptions}[/NAME][:verb] to a call.
func (s *Server) route(r *http.Request) (*call, error) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	if !ok {
		return nil, notFound(r)
	}
	path, verb, _ := strings.Cut(rest, ":")
	seg := strings.Split(path, "/")
	if len(seg) < 3 || seg[0] != "projects" || seg[1] == "" {
		return nil, notFound(r)
	}
	project := "projects/" + seg[1]
	m := r.Method
	switch {
	case len(seg) == 3 && seg[2] == "topics" && verb == "" && m == http.MethodGet:
		req := &pubsubpb.ListTopicsRequest{Project: project, PageToken: r.URL.Query().Get("pageToken")}
		return &call{method: mListTopics, req: req, run: func(ctx context.Context) (proto.Message, error) { return s.pub.ListTopics(ctx, req) }}, nil
	case len(seg) == 3 && seg[2] == "subscriptions" && verb == "" && m == http.MethodGet:
		req := &pubsubpb.ListSubscriptionsRequest{Project: project, PageToken: r.URL.Query().Get("pageToken")}
		return &call{method: mListSubs, req: req, run: func(ctx context.Context) (proto.Message, error) { return s.sub.ListSubscriptions(ctx, req) }}, nil
	case len(seg) != 4 || seg[3] == "":
		return nil, notFound(r)
	}
	name := project + "/" + seg[2] + "/" + seg[3]
	switch seg[2] + " " + verb + " " + m {
	case "topics  PUT":
		req := &pubsubpb.Topic{Name: name}
		return &call{method: mCreateTopic, req: req, body: true, run: func(ctx context.Context) (proto.Message, error) { return s.pub.CreateTopic(ctx, req) }}, nil
	case "topics  GET":
		req := &pubsubpb.GetTopicRequest{Topic: name}
		return &call{method: mGetTopic, req: req, run: func(ctx context.Context) (proto.Message, error) { return s.pub.GetTopic(ctx, req) }}, nil
	case "topics  DELETE":
		req := &pubsubpb.DeleteTopicRequest{Topic: name}
		return &call{method: mDeleteTopic, req: req, run: func(ctx context.Context) (proto.Message, error) { return s.pub.DeleteTopic(ctx, req) }}, nil
	case "topics publish POST":
		req := &pubsubpb.PublishRequest{Topic: name}
		return &call{method: mPublish, req: req, body: true, run: func(ctx context.Context) (proto.Message, error) { return s.pub.Publish(ctx, req) }}, nil
	case "subscriptions  PUT":
		req := &pubsubpb.Subscription{Name: name}
		return &call{method: mCreateSub, req: req, body: true, run: func(ctx context.Context) (proto.Message, error) { return s.sub.CreateSubscription(ctx, req) }}, nil
	case "subscriptions  GET":
		req := &pubsubpb.GetSubscriptionRequest{Subscription: name}
		return &call{method: mGetSub, req: req, run: func(ctx context.Context) (proto.Message, error) { return s.sub.GetSubscription(ctx, req) }}, nil
	case "subscriptions  DELETE":
		req := &pubsubpb.DeleteSubscriptionRequest{Subscription: name}
		return &call{method: mDeleteSub, req: req, run: func(ctx context.Context) (proto.Message, error) { return empty(s.sub.DeleteSubscription(ctx, req)) }}, nil
	case "subscriptions pull POST":
		req := &pubsubpb.PullRequest{Subscription: name}
		return &call{method: mPull, req: req, body: true, run: func(ctx context.Context) (proto.Message, error) { return s.sub.Pull(ctx, req) }}, nil
	case "subscriptions acknowledge POST":
		req := &pubsubpb.AcknowledgeRequest{Subscription: name}
		return &call{method: mAcknowledge, req: req, body: true, run: func(ctx context.Context) (proto.Message, error) { return empty(s.sub.Acknowledge(ctx, req)) }}, nil
	case "subscriptions modifyAckDeadline POST":
		req := &pubsubpb.ModifyAckDeadlineRequest{Subscription: name}
		return &call{method: mModifyAckDeadine, req: req, body: true, run: func(ctx context.Context) (proto.Message, error) {
			return empty(s.sub.ModifyAckDeadline(ctx, req))
		}}, nil
	}
	return nil, notFound(r)
}

func empty(e *emptypb.Empty, err error) (proto.Message, error) {
	if err != nil {
		return nil, err
	}
	return e, nil
}

// nameOf and setName keep the resource named by the URL when a body also names one.
func nameOf(m proto.Message) string {
	switch v := m.(type) {
	case *pubsubpb.Topic:
		return v.Name
	case *pubsubpb.Subscription:
		return v.Name
	case *pubsubpb.PublishRequest:
		return v.Topic
	case *pubsubpb.PullRequest:
		return v.Subscription
	case *pubsubpb.AcknowledgeRequest:
		return v.Subscription
	case *pubsubpb.ModifyAckDeadlineRequest:
		return v.Subscription
	}
	return ""
}

func setName(m proto.Message, name string) {
	switch v := m.(type) {
	case *pubsubpb.Topic:
		v.Name = name
	case *pubsubpb.Subscription:
		v.Name = name
	case *pubsubpb.PublishRequest:
		v.Topic = name
	case *pubsubpb.PullRequest:
		v.Subscription = name
	case *pubsubpb.AcknowledgeRequest:
		v.Subscription = name
	case *pubsubpb.ModifyAckDeadlineRequest:
		v.Subscription = name
	}
}

func notFound(r *http.Request) error {
	return status.Errorf(codes.NotFound, "The requested URL %s was not found on this server (the local Pub/Sub REST surface serves topics, publish, subscriptions, pull, acknowledge and modifyAckDeadline).", r.URL.Path)
}

// httpStatus maps gRPC codes to HTTP statuses as Google's REST front does.
var httpStatus = map[codes.Code]int{
	codes.OK: 200, codes.Canceled: 499, codes.Unknown: 500, codes.InvalidArgument: 400,
	codes.DeadlineExceeded: 504, codes.NotFound: 404, codes.AlreadyExists: 409,
	codes.PermissionDenied: 403, codes.ResourceExhausted: 429, codes.FailedPrecondition: 400,
	codes.Aborted: 409, codes.OutOfRange: 400, codes.Unimplemented: 501, codes.Internal: 500,
	codes.Unavailable: 503, codes.DataLoss: 500, codes.Unauthenticated: 401,
}

// writeError writes Google's JSON error shape: {"error":{"code","message","status"}}.
func writeError(w http.ResponseWriter, err error) {
	st, ok := status.FromError(err)
	if !ok {
		st = status.New(codes.Internal, err.Error())
	}
	code, ok := httpStatus[st.Code()]
	if !ok {
		code = http.StatusInternalServerError
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code": code, "message": st.Message(), "status": codeName(st.Code()),
	}})
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// codeName is the canonical upper-snake name of a gRPC code (NOT_FOUND, PERMISSION_DENIED, …).
func codeName(c codes.Code) string {
	if c == codes.Canceled {
		return "CANCELLED"
	}
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}
