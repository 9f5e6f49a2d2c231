package stack

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/google"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/cspipe/cspipe/functions/pinimage"
	"github.com/cspipe/cspipe/infra/local/iam"
	"github.com/cspipe/cspipe/internal/audit"
	"github.com/cspipe/cspipe/internal/pin"
	"github.com/cspipe/cspipe/internal/policy"
)

// pinConfig is PinWorkloadImage's configuration in the local stack: Primus's repository, the
// workload account, and the endpoints every local workload is given (a token whose workload
// overrode them to anything else is refused by the condition, as on Google Cloud).
func (s *Stack) pinConfig() pinimage.Config {
	return pinimage.Config{
		Provider: ProviderName(), ImageRepository: s.PrimusRepository(), ServiceAccounts: []string{WorkloadSA},
		SupportAttribute: "STABLE", AuditBucket: AuditBucket, IAMEndpoint: s.IAM.URL(), MaxEventAge: 24 * time.Hour,
		PinSTSEndpoint: s.IAM.URL(), PinIAMCredentialsEndpoint: s.IAM.URL(), PinStorageEndpoint: s.GCS.JSONEndpoint(),
	}
}

// pinSettings are pinConfig's settings for the pin core.
func (s *Stack) pinSettings() (pin.Settings, error) { return s.pinConfig().Settings() }

// pinRegistry resolves digests in the local registry as PinWorkloadImage's own account, with
// the credential form Artifact Registry takes (a bearer token as Basic password).
func (s *Stack) pinRegistry() pin.Registry {
	auth := google.NewTokenSourceAuthenticator(s.TokenSource(iam.ServiceAccount(PrimusFunctionsSA)))
	return pin.NewRemoteRegistry(remote.WithAuth(auth))
}

// PinDirect sets the provider's attribute condition for ref (REPO@sha256:…) the way
// PinWorkloadImage renders it, bypassing the function. The demo uses it only when the function
// is missing from the build (and says so); tests use it to set up a gate.
func (s *Stack) PinDirect(ref string, allowDebugImageUnsafe bool) (string, error) {
	repo, digest, ok := strings.Cut(ref, "@")
	if !ok {
		return "", fmt.Errorf("stack: %q is not pinned by digest", ref)
	}
	d, err := policy.ParseDigest(digest)
	if err != nil {
		return "", fmt.Errorf("stack: %w", err)
	}
	st, err := s.pinSettings()
	if err != nil {
		return "", err
	}
	st.ImageRepository, st.AllowDebugImageUnsafe = repo, allowDebugImageUnsafe
	cond, err := st.Policy(d).Render()
	if err != nil {
		return "", err
	}
	return cond, s.setCondition(cond)
}

func (s *Stack) setCondition(cond string) error {
	p, ok := s.IAM.Provider(ProviderName())
	if !ok {
		return fmt.Errorf("stack: provider %s missing", ProviderName())
	}
	p.AttributeCondition = cond
	return s.IAM.AddProvider(p)
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

// restorePin runs at start (a restart with a data dir: the provider is in memory, the audit
// log on disk). The audit log is verified, not trusted: every record of its current segment
// must hash to its name, link to its predecessor and render to its condition from its own
// policy values, and the head's policy must be this stack's pin policy except for the loopback
// ports, which change with every start. The condition applied is then rendered afresh from
// this stack's settings and the head's digest. If any of that fails the provider keeps its
// initial condition (no image has the all-zero digest: the gate is closed) and PinRestore says
// why; the next push repairs it (PinWorkloadImage starts a new audit segment over a broken log).
func (s *Stack) restorePin(ctx context.Context) error {
	log, err := s.auditLog(ctx)
	if err != nil {
		return err
	}
	msg, err := s.derivePin(ctx, log)
	if err != nil {
		s.PinRestore = "gate closed: " + err.Error()
		s.log.Warn("the audit log's latest pin was not restored; the gate stays closed until the next push", "reason", err.Error())
		return nil
	}
	s.PinRestore = msg
	if msg != "" {
		s.log.Info(msg)
	}
	return nil
}

// auditLog is the audit log as PinWorkloadImage's account reads and writes it.
func (s *Stack) auditLog(ctx context.Context) (*audit.Log, error) {
	store, err := s.storeFor(ctx, PrimusFunctionsSA)
	if err != nil {
		return nil, err
	}
	return audit.New(store, AuditBucket), nil
}

func (s *Stack) derivePin(ctx context.Context, log *audit.Log) (string, error) {
	n, err := log.Walk(ctx, func(e audit.Entry) error { return audit.CheckRecord(e.Record) })
	if err != nil {
		return "", fmt.Errorf("the audit log does not verify: %w", err)
	}
	if n == 0 {
		return "", nil
	}
	head, _, err := log.Latest(ctx)
	if err != nil {
		return "", fmt.Errorf("the audit log does not verify: %w", err)
	}
	d, err := policy.ParseDigest(head.Record.Digest)
	if err != nil {
		return "", err
	}
	st, err := s.pinSettings()
	if err != nil {
		return "", err
	}
	want := st.Policy(d)
	if got := *head.Record.Policy; !reflect.DeepEqual(withoutPorts(got), withoutPorts(want)) {
		return "", errors.New("the latest pin's policy is not this stack's pin policy (repository, accounts, support, endpoints or debug differ)")
	}
	cond, err := want.Render()
	if err != nil {
		return "", err
	}
	if err := s.setCondition(cond); err != nil {
		return "", fmt.Errorf("restoring the latest pin: %w", err)
	}
	return fmt.Sprintf("restored the pin of %s from %d verified audit records", d, n), nil
}

// withoutPorts blanks what a restart changes: the loopback host:port of the registry in the
// repository and of the endpoints (their names, and whether they are pinned, stay).
func withoutPorts(p policy.Policy) policy.Policy {
	if _, path, ok := strings.Cut(p.ImageRepository, "/"); ok && strings.HasPrefix(p.ImageRepository, "127.0.0.1:") {
		p.ImageRepository = "127.0.0.1/" + path
	}
	eps := map[string]string{}
	for k, v := range p.PinnedEndpoints {
		if rest, ok := strings.CutPrefix(v, "http://127.0.0.1:"); ok {
			_, path, _ := strings.Cut(rest, "/")
			v = "http://127.0.0.1/" + path
		}
		eps[k] = v
	}
	p.PinnedEndpoints = eps
	return p
}
