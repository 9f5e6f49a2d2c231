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
)

// Object names in the audit bucket.
const (
	RecordsPrefix = "pins/records/"
	LatestObject  = "pins/latest.json"
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
	// PublishTime is when the registry published the event that caused the pin; pins follow it.
	PublishTime time.Time `json:"publish_time,omitzero"`
	// EventID is the CloudEvent id of that event.
	EventID string `json:"event_id,omitempty"`
	// Tag is the tag the image was pushed with, informational only.
	Tag string `json:"tag,omitempty"`
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
	return Entry{Hash: head.Record, Record: rec}, a.Generation, true, nil
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

// Verify walks the chain from the head to the first record, checking every record's hash, that
// each names its predecessor, that sequences count down to 1, and that the head agrees with the
// record it names. It returns the number of records; an empty log verifies with 0.
func (l *Log) Verify(ctx context.Context) (int, error) {
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
	hash, n := head.Record, 0
	for hash != "" {
		rec, err := l.Get(ctx, hash)
		if err != nil {
			return n, err
		}
		if n == 0 && (rec.Digest != head.Digest || rec.Condition != head.Condition || rec.Sequence != head.Sequence) {
			return n, fmt.Errorf("head disagrees with record %s: %w", hash, ErrCorrupt)
		}
		n++
		want := head.Sequence - int64(n) + 1
		if rec.Sequence != want {
			return n, fmt.Errorf("record %s has sequence %d, want %d: %w", hash, rec.Sequence, want, ErrCorrupt)
		}
		if (rec.Sequence == 1) != (rec.Previous == "") {
			return n, fmt.Errorf("record %s: sequence %d with previous %q: %w", hash, rec.Sequence, rec.Previous, ErrCorrupt)
		}
		hash = rec.Previous
	}
	return n, nil
}

func recordName(hash string) string { return RecordsPrefix + hash + ".json" }

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func validHash(h string) bool {
	return len(h) == 64 && strings.Trim(h, "0123456789abcdef") == ""
}
