package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/errclass"
)

// Item is a batch item object's content (docs/contracts.md, "Batches").
type Item struct {
	Bucket     string `json:"bucket"`
	Name       string `json:"name"`
	Generation int64  `json:"generation"`
}

// claimRecord is a claim object's content: the batch an object version belongs to.
type claimRecord struct {
	BatchID    string    `json:"batch_id"`
	Bucket     string    `json:"bucket"`
	Name       string    `json:"name"`
	Generation int64     `json:"generation"`
	ClaimedAt  time.Time `json:"claimed_at"`
	MovedFrom  []string  `json:"moved_from,omitempty"`
}

// claimState is a claim as read or written, with the generation to compare-and-swap it.
type claimState struct {
	rec   claimRecord
	gen   int64
	fresh bool // this call created the claim
	moved bool // this call moved the claim to a later batch
}

const jsonType = "application/json"

// maxStateObject bounds reads of the scheduler's own state objects.
const maxStateObject = 64 << 10

// claim creates obj's claim for the current window, or reads the existing one.
func (s *Scheduler) claim(ctx context.Context, obj Object, key string) (claimState, error) {
	now := s.now()
	rec := claimRecord{BatchID: BatchID(now, s.opt.Window), Bucket: obj.Bucket, Name: obj.Name,
		Generation: obj.Generation, ClaimedAt: now.UTC()}
	b, err := json.Marshal(rec)
	if err != nil {
		return claimState{}, fmt.Errorf("encoding claim: %w", err)
	}
	a, err := s.store.Write(ctx, s.opt.InputBucket, claimName(key), blob.Object{Data: b, ContentType: jsonType}, blob.Cond{DoesNotExist: true})
	switch {
	case err == nil:
		return claimState{rec: rec, gen: a.Generation, fresh: true}, nil
	case errors.Is(err, blob.ErrPrecondition):
		return s.readClaim(ctx, key)
	default:
		return claimState{}, fmt.Errorf("claiming %s: %w", key, err)
	}
}

func (s *Scheduler) readClaim(ctx context.Context, key string) (claimState, error) {
	b, a, err := blob.ReadAll(ctx, s.store, s.opt.InputBucket, claimName(key), maxStateObject)
	if err != nil {
		return claimState{}, fmt.Errorf("reading claim %s: %w", key, err)
	}
	var rec claimRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return claimState{}, errclass.Permanent(fmt.Errorf("claim %s is corrupt: %w", key, err))
	}
	if _, err := windowOf(rec.BatchID); err != nil {
		return claimState{}, errclass.Permanent(fmt.Errorf("claim %s: %w", key, err))
	}
	return claimState{rec: rec, gen: a.Generation}, nil
}

// ensureItem makes sure obj is an item of its claimed batch, moving the claim to the current
// window's batch when the claimed batch no longer accepts items (see the package doc).
func (s *Scheduler) ensureItem(ctx context.Context, obj Object, key string, c claimState) (claimState, error) {
	item, err := json.Marshal(Item{Bucket: obj.Bucket, Name: obj.Name, Generation: obj.Generation})
	if err != nil {
		return c, fmt.Errorf("encoding item: %w", err)
	}
	for range 5 {
		deadline, err := s.itemDeadline(c.rec.BatchID)
		if err != nil {
			return c, errclass.Permanent(err)
		}
		name := itemName(c.rec.BatchID, key)
		if s.now().Before(deadline) {
			_, err := s.store.Write(ctx, s.opt.InputBucket, name, blob.Object{Data: item, ContentType: jsonType}, blob.Cond{DoesNotExist: true})
			if err != nil && !errors.Is(err, blob.ErrPrecondition) {
				return c, fmt.Errorf("writing item %s: %w", name, err)
			}
			return c, nil
		}
		// Past the deadline: the item counts only if it is already there.
		_, err = s.store.Attrs(ctx, s.opt.InputBucket, name)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, blob.ErrNotFound) {
			return c, fmt.Errorf("checking item %s: %w", name, err)
		}
		if c, err = s.moveClaim(ctx, key, c); err != nil {
			return c, err
		}
	}
	return c, fmt.Errorf("claim %s kept changing while adding its item", key)
}

// moveClaim reassigns a claim to the current window's batch under GenerationMatch. If another
// delivery changed the claim first, the claim is re-read and the caller looks again.
func (s *Scheduler) moveClaim(ctx context.Context, key string, c claimState) (claimState, error) {
	rec := c.rec
	rec.MovedFrom = append(append([]string(nil), rec.MovedFrom...), rec.BatchID)
	rec.BatchID = BatchID(s.now(), s.opt.Window)
	b, err := json.Marshal(rec)
	if err != nil {
		return c, fmt.Errorf("encoding claim: %w", err)
	}
	a, err := s.store.Write(ctx, s.opt.InputBucket, claimName(key), blob.Object{Data: b, ContentType: jsonType}, blob.Cond{GenerationMatch: c.gen})
	switch {
	case err == nil:
		return claimState{rec: rec, gen: a.Generation, fresh: c.fresh, moved: true}, nil
	case errors.Is(err, blob.ErrPrecondition):
		nc, err := s.readClaim(ctx, key)
		nc.fresh, nc.moved = c.fresh, nc.rec.BatchID != c.rec.BatchID || c.moved
		return nc, err
	default:
		return c, fmt.Errorf("moving claim %s: %w", key, err)
	}
}
