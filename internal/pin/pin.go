// Package pin is the core of PinWorkloadImage: given an Artifact Registry notification, decide
// whether it pins a new workload image digest into Primus's provider attribute condition, set
// the condition, and record the pin in the audit log.
//
// Rules:
//   - Only INSERT of the configured repository with a digest acts; everything else is ignored.
//   - The digest is parsed as a policy.Digest; tags are never pinned.
//   - The condition is rendered by policy.Policy from typed values only.
//   - Pins follow the registry's publish time: an event published before the latest pin's
//     event never replaces it (out-of-order delivery is "outdated"), and if the provider has
//     drifted from the latest pin it is put back.
//   - The same digest twice does no second PATCH (compared with the latest audit record and
//     the provider's current condition).
//   - The audit record is appended only after the provider's operation is done.
package pin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/cspipe/cspipe/internal/audit"
	"github.com/cspipe/cspipe/internal/errclass"
	"github.com/cspipe/cspipe/internal/events"
	"github.com/cspipe/cspipe/internal/policy"
)

// Settings are what the pin needs to know about the gate besides the digest.
type Settings struct {
	// Provider is the provider's full resource name (recorded in the audit log).
	Provider string
	// ImageRepository is HOST/PROJECT/REPO/IMAGE; notifications for others are ignored.
	ImageRepository       string
	ServiceAccounts       []string
	SupportAttribute      string
	EnvOverrides          map[string]string
	RestartPolicy         string
	AllowDebugImageUnsafe bool
}

// Policy returns the policy that pins digest.
func (s Settings) Policy(digest policy.Digest) policy.Policy {
	return policy.Policy{
		ImageRepository: s.ImageRepository, ImageDigest: digest.String(), ServiceAccounts: s.ServiceAccounts,
		SupportAttribute: s.SupportAttribute, EnvOverrides: maps.Clone(s.EnvOverrides),
		RestartPolicy: s.RestartPolicy, AllowDebugImageUnsafe: s.AllowDebugImageUnsafe,
	}
}

// Outcome says what Pin did.
type Outcome string

// Outcomes of Pin.
const (
	Pinned        Outcome = "pinned"         // the condition now pins this digest; a record was appended
	AlreadyPinned Outcome = "already_pinned" // this digest was pinned already; no PATCH
	Outdated      Outcome = "outdated"       // a newer event's digest is pinned; this one is not
	Ignored       Outcome = "ignored"        // not an INSERT of the configured image with a digest
)

// Result describes what Pin did.
type Result struct {
	Outcome Outcome
	// Reason explains an Ignored or Outdated outcome.
	Reason string
	// Repaired is set when the provider had drifted from the latest pin and was PATCHed back.
	Repaired  bool
	Digest    string
	Condition string
	// Record is the hash of the audit record appended (Pinned) or found (AlreadyPinned).
	Record string
}

// Pinner pins digests. Build it with New.
type Pinner struct {
	s     Settings
	prov  Provider
	audit *audit.Log
	now   func() time.Time
}

// errRaced means a newer pin was recorded while this one was being made; the provider may now
// hold the older condition, so the event must be redelivered (and will repair it).
var errRaced = errors.New("a newer pin was recorded concurrently")

// New checks the settings by rendering a condition for a placeholder digest and returns a
// Pinner. A nil now means time.Now.
func New(s Settings, prov Provider, log *audit.Log, now func() time.Time) (*Pinner, error) {
	placeholder, _ := policy.ParseDigest("sha256:" + fmt.Sprintf("%064d", 0))
	if _, err := s.Policy(placeholder).Render(); err != nil {
		return nil, fmt.Errorf("pin settings: %w", err)
	}
	if s.Provider == "" {
		return nil, errors.New("pin settings: provider resource name is empty")
	}
	if now == nil {
		now = time.Now
	}
	return &Pinner{s: s, prov: prov, audit: log, now: now}, nil
}

// Pin handles one notification. eventID is recorded in the audit record.
func (p *Pinner) Pin(ctx context.Context, n events.GCRNotification, eventID string) (Result, error) {
	switch {
	case n.Action != events.ActionInsert:
		return Result{Outcome: Ignored, Reason: "action " + n.Action}, nil
	case n.Repository != p.s.ImageRepository:
		return Result{Outcome: Ignored, Reason: "repository " + n.Repository + " is not the workload image"}, nil
	case n.Digest == "":
		return Result{Outcome: Ignored, Reason: "no digest (tag-only notification)"}, nil
	}
	digest, err := policy.ParseDigest(n.Digest)
	if err != nil {
		return Result{}, errclass.Permanent(fmt.Errorf("pinning: %w", err))
	}
	cond, err := p.s.Policy(digest).Render()
	if err != nil {
		return Result{}, errclass.Permanent(fmt.Errorf("pinning digest %s: %w", digest, err))
	}
	res := Result{Digest: digest.String(), Condition: cond}

	head, ok, err := p.audit.Latest(ctx)
	if err != nil {
		return Result{}, auditErr(err)
	}
	current, err := p.prov.Condition(ctx)
	if err != nil {
		return Result{}, err
	}
	if ok && head.Record.PublishTime.After(n.PublishTime) {
		res.Outcome, res.Reason = Outdated, fmt.Sprintf("digest %s from an event published at %s is pinned",
			head.Record.Digest, head.Record.PublishTime.UTC().Format(time.RFC3339Nano))
		if current != head.Record.Condition {
			if err := p.prov.SetCondition(ctx, head.Record.Condition); err != nil {
				return Result{}, fmt.Errorf("restoring the latest pin %s: %w", head.Record.Digest, err)
			}
			res.Repaired = true
		}
		return res, nil
	}
	if ok && head.Record.Digest == digest.String() && head.Record.Condition == cond {
		res.Outcome, res.Record = AlreadyPinned, head.Hash
		if current != cond {
			if err := p.prov.SetCondition(ctx, cond); err != nil {
				return Result{}, fmt.Errorf("restoring pin of digest %s: %w", digest, err)
			}
			res.Repaired = true
		}
		return res, nil
	}
	if current != cond {
		if err := p.prov.SetCondition(ctx, cond); err != nil {
			return Result{}, fmt.Errorf("pinning digest %s: %w", digest, err)
		}
	}
	rec := audit.Record{Digest: digest.String(), ImageReference: n.Repository + "@" + digest.String(), Condition: cond,
		Provider: p.s.Provider, PinnedAt: p.now().UTC(), PublishTime: n.PublishTime.UTC(), EventID: eventID, Tag: n.Tag}
	e, err := p.audit.Append(ctx, rec, func(h *audit.Entry) error {
		if h != nil && h.Record.PublishTime.After(n.PublishTime) {
			return errRaced
		}
		return nil
	})
	if err != nil {
		return Result{}, auditErr(fmt.Errorf("recording pin of digest %s: %w", digest, err))
	}
	res.Outcome, res.Record = Pinned, e.Hash
	return res, nil
}

// auditErr classes audit log failures: a corrupt log will not heal by itself.
func auditErr(err error) error {
	if errors.Is(err, audit.ErrCorrupt) {
		return errclass.Permanent(err)
	}
	return err
}
