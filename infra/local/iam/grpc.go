package iam

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// GRPCAuth authenticates gRPC calls by their bearer token ("authorization" metadata) and checks
// the permission each call needs, for the local stand-ins of gRPC APIs (Workflows executions,
// Pub/Sub).
type GRPCAuth struct {
	IAM *Server
	// Anonymous is the principal of calls without credentials; empty refuses them with
	// UNAUTHENTICATED.
	Anonymous string
	// Rule returns the permission a call needs and the resource it is checked on; ok false
	// means the call needs only an authenticated caller.
	Rule func(method string, req any) (permission string, res Resource, ok bool)
	// Denied formats the PERMISSION_DENIED message (default: Google's common text).
	Denied func(principal, permission string, res Resource) string
}

// Unary is the interceptor for unary calls.
func (a GRPCAuth) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		p, err := a.caller(ctx)
		if err != nil {
			return nil, err
		}
		if err := a.check(p, info.FullMethod, req); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// Stream is the interceptor for streaming calls: the caller must be authenticated, and the
// first message the client sends (which names the resource, as StreamingPull's does) is checked
// by the rule before the handler sees it.
func (a GRPCAuth) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		p, err := a.caller(ss.Context())
		if err != nil {
			return err
		}
		return next(srv, &checkedStream{ServerStream: ss, check: func(m any) error { return a.check(p, info.FullMethod, m) }})
	}
}

// checkedStream checks the first received message.
type checkedStream struct {
	grpc.ServerStream
	check   func(any) error
	checked bool
}

func (c *checkedStream) RecvMsg(m any) error {
	if err := c.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if !c.checked {
		c.checked = true
		return c.check(m)
	}
	return nil
}

func (a GRPCAuth) caller(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 {
		if a.Anonymous != "" {
			return a.Anonymous, nil
		}
		return "", status.Error(codes.Unauthenticated, "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
	}
	const prefix = "Bearer "
	h := vals[0]
	if len(h) > len(prefix) && strings.EqualFold(h[:len(prefix)], prefix) {
		if p, ok := a.IAM.Principal(h[len(prefix):]); ok {
			return p, nil
		}
	}
	return "", status.Error(codes.Unauthenticated, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
}

func (a GRPCAuth) check(principal, method string, req any) error {
	if a.Rule == nil {
		return nil
	}
	perm, res, ok := a.Rule(method, req)
	if !ok || a.IAM.Check(principal, res, perm) {
		return nil
	}
	a.IAM.log.Info("grpc: permission denied", "method", method, "principal", principal, "permission", perm, "resource", res.Name)
	msg := "Permission '" + perm + "' denied on resource '" + res.Name + "' (or it may not exist)."
	if a.Denied != nil {
		msg = a.Denied(principal, perm, res)
	}
	return status.Error(codes.PermissionDenied, msg)
}
