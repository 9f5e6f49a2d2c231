package pin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"google.golang.org/api/googleapi"
	iam "google.golang.org/api/iam/v1"

	"github.com/cspipe/cspipe/internal/errclass"
)

// Provider is the workload identity pool provider whose attribute condition is the gate.
type Provider interface {
	// Condition returns the provider's current attribute condition.
	Condition(ctx context.Context) (string, error)
	// SetCondition replaces it and returns once the change is done.
	SetCondition(ctx context.Context, condition string) error
}

// IAMProvider is a Provider over the IAM REST API (google.golang.org/api/iam/v1).
type IAMProvider struct {
	svc  *iam.Service
	name string
	// PollInterval is the first wait between operation polls (doubling up to 5 s).
	PollInterval time.Duration
	// Timeout bounds the wait for the PATCH's operation.
	Timeout time.Duration
}

var _ Provider = (*IAMProvider)(nil)

// NewIAMProvider returns the provider with the full resource name
// projects/P/locations/global/workloadIdentityPools/POOL/providers/PROV, reached through svc.
func NewIAMProvider(svc *iam.Service, name string) *IAMProvider {
	return &IAMProvider{svc: svc, name: name, PollInterval: 500 * time.Millisecond, Timeout: 2 * time.Minute}
}

// Condition implements Provider.
func (p *IAMProvider) Condition(ctx context.Context) (string, error) {
	pr, err := p.svc.Projects.Locations.WorkloadIdentityPools.Providers.Get(p.name).Context(ctx).Do()
	if err != nil {
		return "", classify(fmt.Errorf("getting provider %s: %w", p.name, err))
	}
	return pr.AttributeCondition, nil
}

// SetCondition implements Provider: PATCH with updateMask=attributeCondition, then poll the
// operation until it is done, fails, or Timeout passes.
func (p *IAMProvider) SetCondition(ctx context.Context, condition string) error {
	op, err := p.svc.Projects.Locations.WorkloadIdentityPools.Providers.
		Patch(p.name, &iam.WorkloadIdentityPoolProvider{AttributeCondition: condition}).
		UpdateMask("attributeCondition").Context(ctx).Do()
	if err != nil {
		return classify(fmt.Errorf("patching provider %s: %w", p.name, err))
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	wait := p.PollInterval
	for !op.Done {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for operation %s: %w", op.Name, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
		op, err = p.svc.Projects.Locations.WorkloadIdentityPools.Providers.Operations.Get(op.Name).Context(ctx).Do()
		if err != nil {
			return classify(fmt.Errorf("polling operation: %w", err))
		}
	}
	if op.Error != nil {
		err := fmt.Errorf("operation %s failed: code %d: %s", op.Name, op.Error.Code, op.Error.Message)
		switch op.Error.Code {
		case 3, 5, 9: // INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION
			return errclass.Permanent(err)
		}
		return err
	}
	return nil
}

// classify marks client errors that a retry cannot fix (a bad request, a missing provider) as
// permanent. Authorization failures stay retryable: a missing IAM binding is fixed by an
// operator, and the redelivered event should then succeed.
func classify(err error) error {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		switch ge.Code {
		case http.StatusBadRequest, http.StatusNotFound:
			return errclass.Permanent(err)
		}
	}
	return err
}
