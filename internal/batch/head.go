package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/errclass"
)

// Head states.
const (
	HeadOpen   = "open"   // uploads join the batch
	HeadSealed = "sealed" // the batch takes no more uploads; the next upload opens a new one
)

// Head is head.json in the state bucket: the batch uploads currently join, and the batches whose
// runs the sweeper still watches. It changes only under generation preconditions, and rarely:
// when a batch opens (the first upload after a seal), when it is sealed (by its workflow or the
// sweeper), and when the sweeper retires finished runs.
type Head struct {
	BatchID    string    `json:"batch_id"`
	Seq        int64     `json:"seq"`
	State      string    `json:"state"`
	OpenedAt   time.Time `json:"opened_at"`
	SealedAt   string    `json:"sealed_at,omitempty"` // written by the workflow (its own clock) or the sweeper
	SealReason string    `json:"seal_reason,omitempty"`
	// Unfinished are the batches (this one included) whose runs are not yet finished or failed.
	Unfinished []string `json:"unfinished,omitempty"`
}

func (h *Head) open() bool { return h != nil && h.State == HeadOpen }

// readHead returns the head and its generation, or nil if no batch was ever opened.
func (s *Scheduler) readHead(ctx context.Context) (*Head, int64, error) {
	b, a, err := blob.ReadAll(ctx, s.store, s.opt.StateBucket, headName, maxStateObject)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading the batch head: %w", err)
	}
	var h Head
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, 0, errclass.Permanent(fmt.Errorf("the batch head gs://%s/%s is corrupt: %w", s.opt.StateBucket, headName, err))
	}
	if !validBatchID(h.BatchID) || (h.State != HeadOpen && h.State != HeadSealed) {
		return nil, 0, errclass.Permanent(fmt.Errorf("the batch head gs://%s/%s names batch %q in state %q",
			s.opt.StateBucket, headName, h.BatchID, h.State))
	}
	return &h, a.Generation, nil
}

// writeHead replaces the head if its generation is still gen (0: only if there is none).
func (s *Scheduler) writeHead(ctx context.Context, h *Head, gen int64) (int64, error) {
	b, err := json.Marshal(h)
	if err != nil {
		return 0, fmt.Errorf("encoding the batch head: %w", err)
	}
	cond := blob.Cond{GenerationMatch: gen}
	if gen == 0 {
		cond = blob.Cond{DoesNotExist: true}
	}
	a, err := s.store.Write(ctx, s.opt.StateBucket, headName, blob.Object{Data: b, ContentType: jsonType}, cond)
	if err != nil {
		return 0, fmt.Errorf("writing the batch head: %w", err)
	}
	return a.Generation, nil
}

// openBatch moves the head (cur at generation gen; nil if none) to a new open batch. It fails
// with blob.ErrPrecondition when another caller changed the head first; the caller re-reads.
func (s *Scheduler) openBatch(ctx context.Context, cur *Head, gen int64) (*Head, int64, error) {
	now := s.now()
	next := &Head{State: HeadOpen, OpenedAt: now.UTC()}
	if cur != nil {
		next.Seq = cur.Seq
		next.Unfinished = slices.Clone(cur.Unfinished)
	}
	next.Seq++
	next.BatchID = newBatchID(now, next.Seq)
	next.Unfinished = append(next.Unfinished, next.BatchID)
	g, err := s.writeHead(ctx, next, gen)
	if err != nil {
		return nil, 0, err
	}
	return next, g, nil
}

// Seal closes batchID to new uploads, if the head still has it open, and reports whether this
// call sealed it. The workflow seals its batch itself (launch.yaml, wait_batch) with the same
// precondition; the sweeper uses this to close the batch of a run that died before sealing.
func (s *Scheduler) Seal(ctx context.Context, batchID, reason string) (bool, error) {
	for range 8 {
		h, gen, err := s.readHead(ctx)
		if err != nil {
			return false, err
		}
		if h == nil || h.BatchID != batchID || !h.open() {
			return false, nil
		}
		h.State, h.SealedAt, h.SealReason = HeadSealed, s.now().UTC().Format(time.RFC3339), reason
		_, err = s.writeHead(ctx, h, gen)
		if errors.Is(err, blob.ErrPrecondition) {
			continue
		}
		return err == nil, err
	}
	return false, fmt.Errorf("the batch head kept changing while sealing %s", batchID)
}
