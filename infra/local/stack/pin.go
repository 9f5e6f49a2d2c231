package stack

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cspipe/cspipe/internal/policy"
)

// PinDirect sets the provider's attribute condition for ref (REPO@sha256:…) the way
// PinWorkloadImage renders it, bypassing the function. The demo uses it only when the function
// is missing from the build (and says so); tests use it to set up a gate.
func (s *Stack) PinDirect(ref string, allowDebugImageUnsafe bool) (string, error) {
	repo, digest, ok := strings.Cut(ref, "@")
	if !ok {
		return "", fmt.Errorf("stack: %q is not pinned by digest", ref)
	}
	cond, err := policy.Policy{ImageRepository: repo, ImageDigest: digest, ServiceAccounts: []string{WorkloadSA},
		AllowDebugImageUnsafe: allowDebugImageUnsafe}.Render()
	if err != nil {
		return "", err
	}
	p, ok := s.IAM.Provider(ProviderName())
	if !ok {
		return "", fmt.Errorf("stack: provider %s missing", ProviderName())
	}
	p.AttributeCondition = cond
	return cond, s.IAM.AddProvider(p)
}

// Condition returns the provider's current attribute condition.
func (s *Stack) Condition() string {
	p, _ := s.IAM.Provider(ProviderName())
	return p.AttributeCondition
}

// WaitPinned waits until the provider's condition names digest.
func (s *Stack) WaitPinned(ctx context.Context, digest string) error {
	for !strings.Contains(s.Condition(), digest) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("stack: %s never pinned: %w", digest, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}
