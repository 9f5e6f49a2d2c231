package stack

import (
	"context"
	"encoding/json"
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

// restorePin re-applies the condition of the latest pin kept in the audit bucket (a restart with
// a data dir): the provider is in memory, the audit log on disk, and PinWorkloadImage does not
// PATCH again for a digest the log already holds.
func (s *Stack) restorePin() error {
	obj, err := s.GCS.Fake().GetObject(AuditBucket, "pins/latest.json")
	if err != nil {
		return nil // nothing pinned yet
	}
	var latest struct {
		Condition string `json:"condition"`
	}
	if err := json.Unmarshal(obj.Content, &latest); err != nil || latest.Condition == "" {
		return fmt.Errorf("stack: reading the latest pin: %v", err)
	}
	p, ok := s.IAM.Provider(ProviderName())
	if !ok {
		return fmt.Errorf("stack: provider %s missing", ProviderName())
	}
	p.AttributeCondition = latest.Condition
	if err := s.IAM.AddProvider(p); err != nil {
		return fmt.Errorf("stack: restoring the latest pin: %w", err)
	}
	s.log.Info("restored the latest pin from the audit bucket")
	return nil
}
