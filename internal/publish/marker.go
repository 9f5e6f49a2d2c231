package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/errclass"
)

// Marker is the content of a shard's published.json.
type Marker struct {
	SummaryGeneration int64     `json:"summary_generation"`
	Published         int       `json:"published"` // results.jsonl lines confirmed (published or skipped)
	SummaryPublished  bool      `json:"summary_published"`
	Done              bool      `json:"done"`
	Holder            string    `json:"holder,omitempty"`
	LeaseUntil        time.Time `json:"lease_until,omitzero"`
	UpdatedAt         time.Time `json:"updated_at"`
}

type marker struct {
	rec     Marker
	gen     int64
	release bool // write the marker without a lease
}

const maxMarker = 64 << 10

// errLostLease means another delivery took the shard over (this one was too slow).
var errLostLease = errors.New("lost the lease to another delivery")

// acquire reads or creates prefix's marker and takes its lease, unless it is done.
func (p *Publisher) acquire(ctx context.Context, prefix string, summaryGen int64) (marker, error) {
	name := prefix + MarkerFile
	token := newToken()
	for range 5 {
		b, a, err := blob.ReadAll(ctx, p.store, p.opt.ResultsBucket, name, maxMarker)
		if errors.Is(err, blob.ErrNotFound) {
			m := marker{rec: Marker{SummaryGeneration: summaryGen, Holder: token}}
			err := p.writeMarker(ctx, name, &m, blob.Cond{DoesNotExist: true})
			if errors.Is(err, blob.ErrPrecondition) {
				continue
			}
			return m, err
		}
		if err != nil {
			return marker{}, fmt.Errorf("reading %s: %w", name, err)
		}
		m := marker{gen: a.Generation}
		if err := json.Unmarshal(b, &m.rec); err != nil {
			return marker{}, errclass.Permanent(fmt.Errorf("%s is corrupt: %w", name, err))
		}
		if m.rec.Done {
			return m, nil
		}
		if p.opt.Now().Before(m.rec.LeaseUntil) {
			return marker{}, fmt.Errorf("%s: %w", prefix, ErrInProgress)
		}
		m.rec.Holder = token
		err = p.writeMarker(ctx, name, &m, blob.Cond{GenerationMatch: m.gen})
		if errors.Is(err, blob.ErrPrecondition) {
			continue
		}
		return m, err
	}
	return marker{}, fmt.Errorf("%s kept changing", name)
}

// saveMarker records progress under GenerationMatch, renewing the lease (or dropping it when done).
func (p *Publisher) saveMarker(ctx context.Context, prefix string, m *marker) error {
	err := p.writeMarker(ctx, prefix+MarkerFile, m, blob.Cond{GenerationMatch: m.gen})
	if errors.Is(err, blob.ErrPrecondition) {
		return fmt.Errorf("%s: %w: %w", prefix, errLostLease, err)
	}
	return err
}

// release gives up the lease after a failure so a redelivery resumes at once (best effort).
func (p *Publisher) release(ctx context.Context, prefix string, m *marker) error {
	m.release = true
	return p.writeMarker(ctx, prefix+MarkerFile, m, blob.Cond{GenerationMatch: m.gen})
}

func (p *Publisher) writeMarker(ctx context.Context, name string, m *marker, cond blob.Cond) error {
	now := p.opt.Now().UTC()
	m.rec.UpdatedAt = now
	if m.rec.Done || m.release {
		m.rec.Holder, m.rec.LeaseUntil = "", time.Time{}
	} else {
		m.rec.LeaseUntil = now.Add(p.opt.Lease)
	}
	b, err := json.Marshal(m.rec)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", name, err)
	}
	a, err := p.store.Write(ctx, p.opt.ResultsBucket, name, blob.Object{Data: b, ContentType: "application/json"}, cond)
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	m.gen = a.Generation
	return nil
}
