package pin

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/cspipe/cspipe/internal/policy"
)

// Registry answers whether the workload repository holds a manifest with a digest. The pin
// asks it with the function's own identity before pinning, so a `gcr` message is a hint to
// look, never the evidence.
type Registry interface {
	// Resolve returns nil when repository holds a manifest with digest, an error wrapping
	// ErrNotInRegistry when the registry says it does not, and any other error when it could
	// not tell (the event is then redelivered).
	Resolve(ctx context.Context, repository string, digest policy.Digest) error
}

// ErrNotInRegistry means the registry answered that the repository has no such manifest.
var ErrNotInRegistry = errors.New("no manifest with this digest in the repository")

// RemoteRegistry is a Registry over the OCI distribution API (go-containerregistry's remote),
// authenticated by the given options: remote.WithAuthFromKeychain(google.Keychain) on Google
// Cloud (the function's service account, which needs roles/artifactregistry.reader on the
// repository), a token authenticator for the local registry.
type RemoteRegistry struct{ opts []remote.Option }

var _ Registry = (*RemoteRegistry)(nil)

// NewRemoteRegistry returns a RemoteRegistry using opts for every request.
func NewRemoteRegistry(opts ...remote.Option) *RemoteRegistry { return &RemoteRegistry{opts: opts} }

// Resolve implements Registry with a HEAD of the manifest by digest.
func (r *RemoteRegistry) Resolve(ctx context.Context, repository string, digest policy.Digest) error {
	ref, err := name.NewDigest(repository+"@"+digest.String(), name.StrictValidation)
	if err != nil {
		return fmt.Errorf("resolving %s@%s: %w", repository, digest, err)
	}
	desc, err := remote.Head(ref, append([]remote.Option{remote.WithContext(ctx)}, r.opts...)...)
	var te *transport.Error
	switch {
	case errors.As(err, &te) && te.StatusCode == http.StatusNotFound:
		return fmt.Errorf("resolving %s: %w", ref, ErrNotInRegistry)
	case err != nil:
		return fmt.Errorf("resolving %s: %w", ref, err)
	case desc.Digest.String() != digest.String():
		return fmt.Errorf("resolving %s: the registry answered digest %s: %w", ref, desc.Digest, ErrNotInRegistry)
	}
	return nil
}

// RegistryFunc adapts a function to Registry.
type RegistryFunc func(ctx context.Context, repository string, digest policy.Digest) error

// Resolve implements Registry.
func (f RegistryFunc) Resolve(ctx context.Context, repository string, digest policy.Digest) error {
	return f(ctx, repository, digest)
}
