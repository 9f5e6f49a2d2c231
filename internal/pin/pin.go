// Package pin is the core of PinWorkloadImage: given an Artifact Registry notification, decide
// whether it pins a new workload image digest into Primus's provider attribute condition, set
// the condition, and record the pin in the audit log.
//
// Rules:
//   - Only INSERT of the configured repository with a digest acts; everything else is ignored.
//   - The digest is parsed as a policy.Digest; tags are never pinned.
//   - The digest must exist in the repository: the registry is asked with the function's own
//     identity. A message for a digest that is not there is refused and the refusal recorded.
//   - An event dated more than MaxClockSkew after the function's clock is refused and recorded
//     (a forged event cannot claim the future). Pins are ordered by the event's publish time,
//     capped at the time the function received it, so no event can sort itself after a pin
//     that has not happened yet. An event ordered before the latest pin never replaces it
//     ("outdated"), and if the provider has drifted from the latest pin it is put back.
//   - The condition is rendered by policy.Policy from typed values only, and the audit record
//     holds those values; the latest record is trusted only if it renders to its condition.
//   - The same digest twice does no second PATCH (compared with the latest audit record and
//     the provider's current condition).
//   - The audit record is appended only after the provider's operation is done. When the log
//     does not verify, the pin starts a new segment recording the break instead of failing.
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
	ImageRepository  string
	ServiceAccounts  []string
	SupportAttribute string
	EnvOverrides     map[string]string
	// PinnedEndpoints are the endpoint settings the condition guards (policy.Policy).
	PinnedEndpoints       map[string]string
	RestartPolicy         string
	AllowDebugImageUnsafe bool
}

// Policy returns the policy that pins digest.
func (s Settings) Policy(digest policy.Digest) policy.Policy {
	return policy.Policy{
		ImageRepository: s.ImageRepository, ImageDigest: digest.String(), ServiceAccounts: s.ServiceAccounts,
		SupportAttribute: s.SupportAttribute, EnvOverrides: maps.Clone(s.EnvOverrides),
		PinnedEndpoints: maps.Clone(s.PinnedEndpoints), RestartPolicy: s.RestartPolicy, AllowDebugImageUnsafe: s.AllowDebugImageUnsafe,
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
	Refused       Outcome = "refused"        // not pinned, and recorded: see Reason
)

// MaxClockSkew is how far an event's publish time may lie ahead of the function's clock before
// the event is refused as forged.
const MaxClockSkew = 5 * time.Minute

// Result describes what Pin did.
type Result struct {
	Outcome Outcome
	// Reason explains an Ignored, Outdated or Refused outcome.
	Reason string
	// Break is set when the audit log did not verify and this pin started a new segment.
	Break string
	// Repaired is set when the provider had drifted from the latest pin and was PATCHed back.
	Repaired  bool
	Digest    string
	Condition string
	// Record is the hash of the audit record appended (Pinned) or found (AlreadyPinned), or of
	// the refusal recorded (Refused).
	Record string
}

// Deps are the Pinner's collaborators.
type Deps struct {
	Provider Provider
	Registry Registry
	Audit    *audit.Log
	// Now defaults to time.Now.
	Now func() time.Time
}

// Pinner pins digests. Build it with New.
type Pinner struct {
	s     Settings
	prov  Provider
	reg   Registry
	audit *audit.Log
	now   func() time.Time
}

// errRaced means a newer pin was recorded while this one was being made; the provider may now
// hold the older condition, so the event must be redelivered (and will repair it).
var errRaced = errors.New("a newer pin was recorded concurrently")

// New checks the settings by rendering a condition for a placeholder digest and returns a
// Pinner.
func New(s Settings, d Deps) (*Pinner, error) {
	placeholder, _ := policy.ParseDigest("sha256:" + fmt.Sprintf("%064d", 0))
	if _, err := s.Policy(placeholder).Render(); err != nil {
		return nil, fmt.Errorf("pin settings: %w", err)
	}
	if s.Provider == "" {
		return nil, errors.New("pin settings: provider resource name is empty")
	}
	if d.Provider == nil || d.Registry == nil || d.Audit == nil {
		return nil, errors.New("pin: Deps.Provider, Deps.Registry and Deps.Audit are required")
	}
	now := d.Now
	if now == nil {
		now = time.Now
	}
	return &Pinner{s: s, prov: d.Provider, reg: d.Registry, audit: d.Audit, now: now}, nil
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
	received := p.now().UTC()
	if n.PublishTime.After(received.Add(MaxClockSkew)) {
		return p.refuse(ctx, n, digest, eventID, fmt.Sprintf("the event is dated %s, more than %s after this function's clock (%s)",
			n.PublishTime.UTC().Format(time.RFC3339), MaxClockSkew, received.Format(time.RFC3339)))
	}
	order := n.PublishTime.UTC()
	if order.IsZero() || order.After(received) {
		order = received
	}
	if err := p.reg.Resolve(ctx, n.Repository, digest); err != nil {
		if errors.Is(err, ErrNotInRegistry) {
			return p.refuse(ctx, n, digest, eventID, "the digest is not in the repository: "+err.Error())
		}
		return Result{}, fmt.Errorf("pinning digest %s: %w", digest, err)
	}
	pol := p.s.Policy(digest)
	cond, err := pol.Render()
	if err != nil {
		return Result{}, errclass.Permanent(fmt.Errorf("pinning digest %s: %w", digest, err))
	}
	res := Result{Digest: digest.String(), Condition: cond}

	head, ok, broken, err := p.trustedHead(ctx, received)
	if err != nil {
		return Result{}, err
	}
	current, err := p.prov.Condition(ctx)
	if err != nil {
		return Result{}, err
	}
	if ok && head.Record.Ordering().After(order) {
		res.Outcome, res.Reason = Outdated, fmt.Sprintf("digest %s from an event ordered at %s is pinned",
			head.Record.Digest, head.Record.Ordering().UTC().Format(time.RFC3339Nano))
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
		Provider: p.s.Provider, PinnedAt: p.now().UTC(), PublishTime: n.PublishTime.UTC(), OrderTime: order,
		EventID: eventID, Tag: n.Tag, Policy: &pol}
	var e audit.Entry
	if broken != "" {
		e, err = p.audit.StartSegment(ctx, rec, broken)
		res.Break = broken
	} else {
		e, err = p.audit.Append(ctx, rec, func(h *audit.Entry) error {
			if h != nil && h.Record.Ordering().After(order) {
				return errRaced
			}
			return nil
		})
	}
	if err != nil {
		return Result{}, auditErr(fmt.Errorf("recording pin of digest %s: %w", digest, err))
	}
	res.Outcome, res.Record = Pinned, e.Hash
	return res, nil
}

// trustedHead returns the latest audit entry if the log's head verifies: its record is intact,
// the head agrees with it, its condition is what its policy values render, and it is not dated
// after now (plus the skew). broken is the reason when it does not verify (ok is then false):
// the pin then starts a new segment rather than failing forever.
func (p *Pinner) trustedHead(ctx context.Context, now time.Time) (head audit.Entry, ok bool, broken string, err error) {
	head, ok, err = p.audit.Latest(ctx)
	switch {
	case errors.Is(err, audit.ErrCorrupt):
		return audit.Entry{}, false, err.Error(), nil
	case err != nil:
		return audit.Entry{}, false, "", err
	case !ok:
		return audit.Entry{}, false, "", nil
	}
	if err := audit.CheckRecord(head.Record); err != nil {
		return audit.Entry{}, false, fmt.Sprintf("latest record %s: %v", head.Hash, err), nil
	}
	// A pin is ordered no later than it was received, and pinned after that: a record ordered
	// after its own pin time, or pinned in the future, was not written by a pin.
	if t := head.Record.Ordering(); t.After(head.Record.PinnedAt) || head.Record.PinnedAt.After(now.Add(MaxClockSkew)) {
		return audit.Entry{}, false, fmt.Sprintf("latest record %s is ordered at %s and pinned at %s: after its pin, or in the future",
			head.Hash, t.UTC().Format(time.RFC3339), head.Record.PinnedAt.UTC().Format(time.RFC3339)), nil
	}
	return head, true, "", nil
}

// refuse records a refused pin request beside the audit chain and reports it.
func (p *Pinner) refuse(ctx context.Context, n events.GCRNotification, digest policy.Digest, eventID, reason string) (Result, error) {
	h, err := p.audit.Refuse(ctx, audit.Refusal{Digest: digest.String(), ImageReference: n.Repository + "@" + digest.String(),
		Reason: reason, EventID: eventID, PublishTime: n.PublishTime.UTC(), RefusedAt: p.now().UTC()})
	if err != nil {
		return Result{}, err
	}
	return Result{Outcome: Refused, Reason: reason, Digest: digest.String(), Record: h}, nil
}

// auditErr classes audit log failures: a corrupt log will not heal by itself.
func auditErr(err error) error {
	if errors.Is(err, audit.ErrCorrupt) {
		return errclass.Permanent(err)
	}
	return err
}
