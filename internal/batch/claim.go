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

// placement is where Schedule put an object.
type placement struct {
	claim  claimState
	opened bool // this call opened the batch
	head   *Head
}

const jsonType = "application/json"

// maxStateObject bounds reads of the scheduler's own state objects.
const maxStateObject = 256 << 10

// maxPlaceRounds bounds the compare-and-swap loop of one event.
const maxPlaceRounds = 8

// place makes obj an item of exactly one batch: the open batch when it is first claimed, and
// the batch its claim names ever after, unless that batch was sealed before the item was
// written, in which case the claim moves to the batch open now (see the package doc, "Sealing").
func (s *Scheduler) place(ctx context.Context, obj Object, key string) (placement, error) {
	item, err := json.Marshal(Item{Bucket: obj.Bucket, Name: obj.Name, Generation: obj.Generation})
	if err != nil {
		return placement{}, fmt.Errorf("encoding item: %w", err)
	}
	var p placement
	known := false // p.claim holds the object's claim
	for range maxPlaceRounds {
		t0 := s.now() // before the head is read: a seal seen later happened after t0
		h, hgen, err := s.readHead(ctx)
		if err != nil {
			return p, err
		}
		p.head = h
		if !known && h.open() {
			if p.claim, err = s.claim(ctx, obj, key, h.BatchID); err != nil {
				return p, err
			}
			known = true
		}
		if !known {
			// No open batch. Only a new upload may open one: a duplicate of an old event must
			// not start an empty batch, so look for its claim first.
			if p.claim, known, err = s.readClaim(ctx, key); err != nil {
				return p, err
			}
			if !known {
				nh, _, err := s.openBatch(ctx, h, hgen)
				if errors.Is(err, blob.ErrPrecondition) {
					continue // someone else opened (or sealed) first: look again
				}
				if err != nil {
					return p, err
				}
				p.head, p.opened = nh, true
				if p.claim, err = s.claim(ctx, obj, key, nh.BatchID); err != nil {
					return p, err
				}
				known, h = true, nh
			}
		}
		batchID := p.claim.rec.BatchID
		if h.open() && h.BatchID == batchID {
			if s.now().Sub(t0) >= s.joinLimit() {
				continue // too slow to be sure the item lands before the seal's listing: look again
			}
			_, err := s.store.Write(ctx, s.opt.StateBucket, itemName(batchID, key), blob.Object{Data: item, ContentType: jsonType}, blob.Cond{DoesNotExist: true})
			if err != nil && !errors.Is(err, blob.ErrPrecondition) {
				return p, fmt.Errorf("writing item %s of batch %s: %w", key, batchID, err)
			}
			return p, nil
		}
		// The claimed batch is sealed (or older than the open one): the item counts only if an
		// earlier delivery wrote it in time.
		_, err = s.store.Attrs(ctx, s.opt.StateBucket, itemName(batchID, key))
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, blob.ErrNotFound) {
			return p, fmt.Errorf("checking item %s of batch %s: %w", key, batchID, err)
		}
		if !h.open() {
			nh, _, err := s.openBatch(ctx, h, hgen)
			if errors.Is(err, blob.ErrPrecondition) {
				continue
			}
			if err != nil {
				return p, err
			}
			p.opened, h = true, nh
		}
		if p.claim, err = s.moveClaim(ctx, key, p.claim, h.BatchID); err != nil {
			return p, err
		}
	}
	return p, fmt.Errorf("the batch head or the claim of %s kept changing", key)
}

// claim creates obj's claim naming batchID, or reads the existing one.
func (s *Scheduler) claim(ctx context.Context, obj Object, key, batchID string) (claimState, error) {
	rec := claimRecord{BatchID: batchID, Bucket: obj.Bucket, Name: obj.Name, Generation: obj.Generation, ClaimedAt: s.now().UTC()}
	b, err := json.Marshal(rec)
	if err != nil {
		return claimState{}, fmt.Errorf("encoding claim: %w", err)
	}
	a, err := s.store.Write(ctx, s.opt.StateBucket, claimName(key), blob.Object{Data: b, ContentType: jsonType}, blob.Cond{DoesNotExist: true})
	switch {
	case err == nil:
		return claimState{rec: rec, gen: a.Generation, fresh: true}, nil
	case errors.Is(err, blob.ErrPrecondition):
		c, ok, err := s.readClaim(ctx, key)
		if err == nil && !ok {
			err = fmt.Errorf("claim %s vanished", key)
		}
		return c, err
	default:
		return claimState{}, fmt.Errorf("claiming %s: %w", key, err)
	}
}

// readClaim reads key's claim; ok is false if there is none.
func (s *Scheduler) readClaim(ctx context.Context, key string) (claimState, bool, error) {
	b, a, err := blob.ReadAll(ctx, s.store, s.opt.StateBucket, claimName(key), maxStateObject)
	if errors.Is(err, blob.ErrNotFound) {
		return claimState{}, false, nil
	}
	if err != nil {
		return claimState{}, false, fmt.Errorf("reading claim %s: %w", key, err)
	}
	var rec claimRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return claimState{}, false, errclass.Permanent(fmt.Errorf("claim %s is corrupt: %w", key, err))
	}
	if !validBatchID(rec.BatchID) {
		return claimState{}, false, errclass.Permanent(fmt.Errorf("claim %s: %w", key, errBatchID(rec.BatchID)))
	}
	return claimState{rec: rec, gen: a.Generation}, true, nil
}

// moveClaim reassigns a claim to batchID under GenerationMatch. If another delivery changed the
// claim first, the claim is re-read and the caller looks again.
func (s *Scheduler) moveClaim(ctx context.Context, key string, c claimState, batchID string) (claimState, error) {
	rec := c.rec
	rec.MovedFrom = append(append([]string(nil), rec.MovedFrom...), rec.BatchID)
	rec.BatchID = batchID
	b, err := json.Marshal(rec)
	if err != nil {
		return c, fmt.Errorf("encoding claim: %w", err)
	}
	a, err := s.store.Write(ctx, s.opt.StateBucket, claimName(key), blob.Object{Data: b, ContentType: jsonType}, blob.Cond{GenerationMatch: c.gen})
	switch {
	case err == nil:
		return claimState{rec: rec, gen: a.Generation, fresh: c.fresh, moved: true}, nil
	case errors.Is(err, blob.ErrPrecondition):
		nc, ok, err := s.readClaim(ctx, key)
		if err == nil && !ok {
			err = fmt.Errorf("claim %s vanished", key)
		}
		nc.fresh, nc.moved = c.fresh, nc.rec.BatchID != c.rec.BatchID || c.moved
		return nc, err
	default:
		return c, fmt.Errorf("moving claim %s: %w", key, err)
	}
}
