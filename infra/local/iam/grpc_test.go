package iam

import (
	"context"
	"log/slog"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestGRPCAuth(t *testing.T) {
	s, err := New(WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	topic := "projects/p/topics/results"
	publisher := ServiceAccount("fn@p.iam.gserviceaccount.com")
	operator := User("operator@p.example")
	must(t, s.Grant(topic, publisher, "roles/pubsub.publisher"))
	must(t, s.Grant(Project("p"), operator, "roles/pubsub.subscriber"))
	rule := func(_ string, req any) (string, Resource, bool) {
		if req == nil {
			return "", Resource{}, false
		}
		return PermTopicsPublish, TopicResource(req.(string)), true
	}
	call := func(a GRPCAuth, authz string) error {
		ctx := context.Background()
		if authz != "" {
			ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", authz))
		}
		_, err := a.Unary()(ctx, topic, &grpc.UnaryServerInfo{FullMethod: "/google.pubsub.v1.Publisher/Publish"},
			func(context.Context, any) (any, error) { return "ok", nil })
		return err
	}
	strict := GRPCAuth{IAM: s, Rule: rule}
	emulator := GRPCAuth{IAM: s, Rule: rule, Anonymous: operator, Denied: func(string, string, Resource) string { return "User not authorized to perform this action." }}
	tests := []struct {
		name  string
		a     GRPCAuth
		authz string
		code  codes.Code
		msg   string
	}{
		{"publisher", strict, "Bearer " + s.MintAccessToken(publisher), codes.OK, ""},
		{"anonymous refused", strict, "", codes.Unauthenticated, "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential."},
		{"forged token", strict, "Bearer ya29.forged", codes.Unauthenticated, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential."},
		{"operator lacks publish", strict, "Bearer " + s.MintAccessToken(operator), codes.PermissionDenied,
			"Permission 'pubsub.topics.publish' denied on resource 'projects/p/topics/results' (or it may not exist)."},
		{"anonymous is the operator", emulator, "", codes.PermissionDenied, "User not authorized to perform this action."},
	}
	for _, tt := range tests {
		err := call(tt.a, tt.authz)
		if status.Code(err) != tt.code || (tt.msg != "" && status.Convert(err).Message() != tt.msg) {
			t.Errorf("%s: %v, want %s %q", tt.name, err, tt.code, tt.msg)
		}
	}
}
