// Package audit is the pin audit log: an append-only, hash-chained list of pin records on an
// object store (docs/contracts.md, "Pin record").
//
// Each record is stored content-addressed as pins/records/<sha256 of its bytes>.json and names
// the record before it in "previous". The head is pins/latest.json, replaced only with a
// generation precondition (created with DoesNotExist), so concurrent appenders never lose a
// record: the loser re-reads the head and tries again. Verify walks the chain from the head and
// checks every hash and link.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/policy"
)

// Object names in the audit bucket.
const (
	RecordsPrefix = "pins/records/"
	LatestObject  = "pins/latest.json"
	// RefusedPrefix holds refused pin requests (pins/refused/<sha256>.json), outside the chain.
	RefusedPrefix = "pins/refused/"
)

// Record is one pin: which digest was pinned, with which condition, and why.
type Record struct {
	// Previous is the sha256 (hex) of the previous record's bytes; "" for the first record.
	Previous string `json:"previous"`
	// Sequence is 1 for the first record and one more for each after it.
	Sequence int64 `json:"sequence"`
	// Digest is the pinned image digest, "sha256:<hex>".
	Digest string `json:"digest"`
	// ImageReference is REPOSITORY@Digest.
	ImageReference string `json:"image_reference"`
	// Condition is the attribute condition set on the provider.
	Condition string `json:"condition"`
	// Provider is the full resource name of the workload identity pool provider.
	Provider string `json:"provider,omitempty"`
	// PinnedAt is when the provider's condition was changed.
	PinnedAt time.Time `json:"pinned_at"`
	// PublishTime is when the event that caused the pin says it was published (informational).
	PublishTime time.Time `json:"publish_time,omitzero"`
	// OrderTime orders pins: the publish time, but never later than when the function received
	// the event (docs/contracts.md, "Pin ordering").
	OrderTime time.Time `json:"order_time,omitzero"`
	// Policy holds the typed values the condition was rendered from; CheckRecord renders it
	// again and compares.
	Policy *policy.Policy `json:"policy,omitempty"`
	// Break is set on the first record of a segment started over a corrupt log.
	Break *Break `json:"break,omitempty"`
	// EventID is the CloudEvent id of that event.
	EventID string `json:"event_id,omitempty"`
	// Tag is the tag the image was pushed with, informational only.
	Tag string `json:"tag,omitempty"`
}

// Ordering is the time pins are ordered by: OrderTime, or PublishTime for records written
// before OrderTime existed.
func (r Record) Ordering() time.Time {
	if !r.OrderTime.IsZero() {
		return r.OrderTime
	}
	return r.PublishTime
}

// Break records why a new segment was started: what was found where the head should have been.
type Break struct {
	// Reason is the verification error that made the old log untrusted.
	Reason string `json:"reason"`
	// HeadSHA256 is the sha256 (hex) of the pins/latest.json bytes replaced ("" if none).
	HeadSHA256 string `json:"head_sha256,omitempty"`
	// HeadGeneration is that object's generation (0 if none).
	HeadGeneration int64 `json:"head_generation,omitempty"`
}

// Refusal is a pin request that was refused (a digest not in the repository, an event dated
// in the future). Refusals are stored content-addressed beside the chain, never in it.
type Refusal struct {
	Digest         string    `json:"digest"`
	ImageReference string    `json:"image_reference"`
	Reason         string    `json:"reason"`
	EventID        string    `json:"event_id,omitempty"`
	PublishTime    time.Time `json:"publish_time,omitzero"`
	RefusedAt      time.Time `json:"refused_at"`
}

// Latest is the content of pins/latest.json: the head record's hash and its main fields.
type Latest struct {
	Record         string    `json:"record"`
	Sequence       int64     `json:"sequence"`
	Digest         string    `json:"digest"`
	ImageReference string    `json:"image_reference"`
	Condition      string    `json:"condition"`
	PinnedAt       time.Time `json:"pinned_at"`
	PublishTime    time.Time `json:"publish_time,omitzero"`
}

// Entry is a stored record with its hash.
type Entry struct {
	Hash   string
	Record Record
}

// ErrCorrupt means Verify found a broken chain: a missing record, a hash or link mismatch.
var ErrCorrupt = errors.New("audit log is corrupt")

// MaxAppendAttempts bounds how often Append re-reads the head after losing a race.
const MaxAppendAttempts = 8

// maxObject bounds how much of one audit object is read.
const maxObject = 1 << 20

// Log is the audit log in one bucket.
type Log struct {
	store  blob.Store
	bucket string
}

// New returns the audit log stored in bucket.
func New(store blob.Store, bucket string) *Log { return &Log{store: store, bucket: bucket} }

// Head returns the latest entry and the head object's generation; ok is false for an empty log.
func (l *Log) Head(ctx context.Context) (e Entry, generation int64, ok bool, err error) {
	b, a, err := blob.ReadAll(ctx, l.store, l.bucket, LatestObject, maxObject)
	if errors.Is(err, blob.ErrNotFound) {
		return Entry{}, 0, false, nil
	}
	if err != nil {
		return Entry{}, 0, false, fmt.Errorf("reading audit head: %w", err)
	}
	var head Latest
	if err := json.Unmarshal(b, &head); err != nil {
		return Entry{}, 0, false, fmt.Errorf("decoding gs://%s/%s: %w: %w", l.bucket, LatestObject, ErrCorrupt, err)
	}
	rec, err := l.Get(ctx, head.Record)
	if err != nil {
		return Entry{}, 0, false, err
	}
	if err := agrees(head, rec); err != nil {
		return Entry{}, 0, false, err
	}
	return Entry{Hash: head.Record, Record: rec}, a.Generation, true, nil
}

// agrees checks that pins/latest.json repeats the fields of the record it names: a head whose
// condition was overwritten is corrupt, whatever the record says.
func agrees(head Latest, rec Record) error {
	if rec.Digest != head.Digest || rec.Condition != head.Condition || rec.Sequence != head.Sequence ||
		rec.ImageReference != head.ImageReference {
		return fmt.Errorf("head disagrees with record %s: %w", head.Record, ErrCorrupt)
	}
	return nil
}

// Latest returns the latest entry; ok is false for an empty log.
func (l *Log) Latest(ctx context.Context) (Entry, bool, error) {
	e, _, ok, err := l.Head(ctx)
	return e, ok, err
}

// Get reads the record with the given hash and checks that its bytes hash to it.
func (l *Log) Get(ctx context.Context, hash string) (Record, error) {
	if !validHash(hash) {
		return Record{}, fmt.Errorf("record name %q: %w", hash, ErrCorrupt)
	}
	b, _, err := blob.ReadAll(ctx, l.store, l.bucket, recordName(hash), maxObject)
	if errors.Is(err, blob.ErrNotFound) {
		return Record{}, fmt.Errorf("record %s is missing: %w: %w", hash, ErrCorrupt, err)
	}
	if err != nil {
		return Record{}, fmt.Errorf("reading record %s: %w", hash, err)
	}
	if got := hashOf(b); got != hash {
		return Record{}, fmt.Errorf("record %s hashes to %s: %w", hash, got, ErrCorrupt)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, fmt.Errorf("decoding record %s: %w: %w", hash, ErrCorrupt, err)
	}
	return r, nil
}

// Append adds rec after the current head. Previous and Sequence are filled in. check, when not
// nil, is called with the head (nil for an empty log) before each attempt; an error from it
// stops Append and is returned as is, which lets a caller refuse to append after a newer pin.
// A lost race re-reads the head and tries again, at most MaxAppendAttempts times.
func (l *Log) Append(ctx context.Context, rec Record, check func(head *Entry) error) (Entry, error) {
	for range MaxAppendAttempts {
		head, gen, ok, err := l.Head(ctx)
		if err != nil {
			return Entry{}, err
		}
		var hp *Entry
		rec.Previous, rec.Sequence = "", 1
		if ok {
			hp = &head
			rec.Previous, rec.Sequence = head.Hash, head.Record.Sequence+1
		}
		if check != nil {
			if err := check(hp); err != nil {
				return Entry{}, err
			}
		}
		e, err := l.tryAppend(ctx, rec, gen)
		if errors.Is(err, blob.ErrPrecondition) {
			continue
		}
		return e, err
	}
	return Entry{}, fmt.Errorf("appending to the audit log: head moved %d times, giving up", MaxAppendAttempts)
}

func (l *Log) tryAppend(ctx context.Context, rec Record, headGen int64) (Entry, error) {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return Entry{}, fmt.Errorf("encoding audit record: %w", err)
	}
	b = append(b, '\n')
	h := hashOf(b)
	_, err = l.store.Write(ctx, l.bucket, recordName(h), blob.Object{Data: b, ContentType: "application/json"}, blob.Cond{DoesNotExist: true})
	if err != nil && !errors.Is(err, blob.ErrPrecondition) { // exists: same bytes, same name
		return Entry{}, fmt.Errorf("writing audit record %s: %w", h, err)
	}
	head, err := json.MarshalIndent(Latest{Record: h, Sequence: rec.Sequence, Digest: rec.Digest,
		ImageReference: rec.ImageReference, Condition: rec.Condition, PinnedAt: rec.PinnedAt, PublishTime: rec.PublishTime}, "", "  ")
	if err != nil {
		return Entry{}, fmt.Errorf("encoding audit head: %w", err)
	}
	cond := blob.Cond{DoesNotExist: true}
	if headGen != 0 {
		cond = blob.Cond{GenerationMatch: headGen}
	}
	if _, err := l.store.Write(ctx, l.bucket, LatestObject, blob.Object{Data: append(head, '\n'), ContentType: "application/json"}, cond); err != nil {
		return Entry{}, fmt.Errorf("moving audit head to %s: %w", h, err)
	}
	return Entry{Hash: h, Record: rec}, nil
}

// Verify walks the current segment from the head to its first record, checking every record's
// hash, that each names its predecessor, that sequences count down to 1, and that the head
// agrees with the record it names. It returns the number of records; an empty log verifies
// with 0.
func (l *Log) Verify(ctx context.Context) (int, error) {
	return l.Walk(ctx, nil)
}

// Walk is Verify that also calls check (when not nil) on every record, head first; an error
// from check stops the walk and is returned wrapped in ErrCorrupt.
func (l *Log) Walk(ctx context.Context, check func(Entry) error) (int, error) {
	b, _, err := blob.ReadAll(ctx, l.store, l.bucket, LatestObject, maxObject)
	if errors.Is(err, blob.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading audit head: %w", err)
	}
	var head Latest
	if err := json.Unmarshal(b, &head); err != nil {
		return 0, fmt.Errorf("decoding audit head: %w: %w", ErrCorrupt, err)
	}
	if !validHash(head.Record) {
		return 0, fmt.Errorf("audit head names record %q: %w", head.Record, ErrCorrupt)
	}
	hash, n := head.Record, 0
	for hash != "" {
		rec, err := l.Get(ctx, hash)
		if err != nil {
			return n, err
		}
		if n == 0 {
			if err := agrees(head, rec); err != nil {
				return n, err
			}
		}
		if check != nil {
			if err := check(Entry{Hash: hash, Record: rec}); err != nil {
				return n, fmt.Errorf("record %s: %w: %w", hash, ErrCorrupt, err)
			}
		}
		n++
		want := head.Sequence - int64(n) + 1
		if rec.Sequence != want {
			return n, fmt.Errorf("record %s has sequence %d, want %d: %w", hash, rec.Sequence, want, ErrCorrupt)
		}
		if (rec.Sequence == 1) != (rec.Previous == "") {
			return n, fmt.Errorf("record %s: sequence %d with previous %q: %w", hash, rec.Sequence, rec.Previous, ErrCorrupt)
		}
		if rec.Break != nil && rec.Sequence != 1 {
			return n, fmt.Errorf("record %s: a break in the middle of a segment: %w", hash, ErrCorrupt)
		}
		hash = rec.Previous
	}
	return n, nil
}

// StartSegment appends rec as the first record of a new segment over a log that did not verify:
// reason says why, and the Break records the hash and generation of the head object replaced.
// The head is replaced with a generation precondition, so a concurrent appender is not lost
// silently: the loser gets an error wrapping blob.ErrPrecondition (retry the event).
func (l *Log) StartSegment(ctx context.Context, rec Record, reason string) (Entry, error) {
	b, a, err := blob.ReadAll(ctx, l.store, l.bucket, LatestObject, maxObject)
	var gen int64
	brk := &Break{Reason: reason}
	switch {
	case errors.Is(err, blob.ErrNotFound):
	case err != nil && a.Generation == 0:
		return Entry{}, fmt.Errorf("reading audit head: %w", err)
	default: // read, or too large to read: record its generation either way
		gen = a.Generation
		brk.HeadGeneration = gen
		if err == nil {
			brk.HeadSHA256 = hashOf(b)
		}
	}
	rec.Previous, rec.Sequence, rec.Break = "", 1, brk
	return l.tryAppend(ctx, rec, gen)
}

// Refuse stores r under pins/refused/ and returns its hash. The same refusal twice is stored once.
func (l *Log) Refuse(ctx context.Context, r Refusal) (string, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encoding refusal: %w", err)
	}
	b = append(b, '\n')
	h := hashOf(b)
	_, err = l.store.Write(ctx, l.bucket, RefusedPrefix+h+".json", blob.Object{Data: b, ContentType: "application/json"}, blob.Cond{DoesNotExist: true})
	if err != nil && !errors.Is(err, blob.ErrPrecondition) {
		return "", fmt.Errorf("recording refusal %s: %w", h, err)
	}
	return h, nil
}

// CheckRecord checks that a record is what a pin writes: it holds its policy values, they name
// the record's digest and reference, and rendering them gives exactly the record's condition.
func CheckRecord(r Record) error {
	if r.Policy == nil {
		return errors.New("record holds no policy values to render its condition from")
	}
	if r.Policy.ImageDigest != r.Digest {
		return fmt.Errorf("policy digest %q differs from the record's %q", r.Policy.ImageDigest, r.Digest)
	}
	if r.ImageReference != r.Policy.ImageRepository+"@"+r.Digest {
		return fmt.Errorf("image reference %q is not the policy's repository at the digest", r.ImageReference)
	}
	cond, err := r.Policy.Render()
	if err != nil {
		return err
	}
	if cond != r.Condition {
		return errors.New("condition is not what its policy values render")
	}
	return nil
}

func recordName(hash string) string { return RecordsPrefix + hash + ".json" }

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func validHash(h string) bool {
	return len(h) == 64 && strings.Trim(h, "0123456789abcdef") == ""
}
