package publish

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/errclass"
	"github.com/cspipe/cspipe/internal/records"
)

// Message is one Pub/Sub message to publish.
type Message struct {
	Data        []byte
	Attributes  map[string]string
	OrderingKey string
}

// Topic publishes messages. The production implementation wraps a pubsub/v2 Publisher with
// message ordering enabled (package pubsubtopic).
type Topic interface {
	// Publish sends msgs in order and returns once the server confirmed all of them, or an error
	// if any failed (then some may have been published).
	Publish(ctx context.Context, msgs []Message) error
}

// Attribute values this package adds beyond records.Attr*.
const (
	// AttrIndex is the record's 0-based line in results.jsonl, or "summary".
	AttrIndex = "index"
	KindImage = "image"
	// KindSummary is the AttrKind of the run summary message.
	KindSummary = "summary"
	// MarkerFile is the progress marker's name inside a shard's prefix.
	MarkerFile = "published.json"
)

// Options configure a Publisher.
type Options struct {
	// ResultsBucket is the bucket whose summary.json finalizes are acted on.
	ResultsBucket string
	// Chunk is how many messages are confirmed between marker updates (default 100).
	Chunk int
	// Lease is how long a delivery owns a shard's publication without progress (default 2m).
	Lease time.Duration
	// MaxLine bounds one results.jsonl line (default 1 MiB); a longer one is a permanent error.
	MaxLine int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Publisher announces a shard's results.
type Publisher struct {
	store blob.Store
	topic Topic
	opt   Options
}

// New returns a Publisher; zero options get their defaults.
func New(store blob.Store, topic Topic, opt Options) (*Publisher, error) {
	if store == nil || topic == nil {
		return nil, errors.New("publish: store and topic are required")
	}
	if opt.ResultsBucket == "" {
		return nil, errors.New("publish: results bucket is empty")
	}
	if opt.Chunk <= 0 {
		opt.Chunk = 100
	}
	if opt.Lease <= 0 {
		opt.Lease = 2 * time.Minute
	}
	if opt.MaxLine <= 0 {
		opt.MaxLine = 1 << 20
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Publisher{store: store, topic: topic, opt: opt}, nil
}

// Object is the part of a finalize event the publisher needs.
type Object struct {
	Bucket     string
	Name       string
	Generation int64
}

// Result describes what Publish did.
type Result struct {
	Ignored   bool   // not a summary.json of the results bucket (Reason says why)
	Reason    string //
	RunID     string
	Shard     int
	Duplicate bool // the shard had been published already: nothing was sent
	Resumed   int  // lines skipped because an earlier delivery had published them
	Images    int  // image messages sent by this call
	Skipped   int  // lines that were not a valid record (not published)
	Summary   bool // this call sent the summary message
	// MissingResults is set when the summary reports images but results.jsonl is missing: the
	// summary was published as failed, naming the missing file (ErrResultsMissing).
	MissingResults bool
}

// ErrResultsMissing is the error a summary is published with when it reports images (status ok)
// but its results.jsonl does not exist: the subscribers hear that the shard's images are lost,
// rather than nothing at all.
var ErrResultsMissing = errors.New("results_missing")

// maxSummary bounds summary.json.
const maxSummary = 1 << 20

// ErrInProgress is returned (retryable) when another delivery holds a fresh lease on the shard.
var ErrInProgress = errors.New("another delivery is publishing this shard")

// Publish handles one finalize event of the results bucket.
func (p *Publisher) Publish(ctx context.Context, obj Object) (Result, error) {
	if obj.Bucket != p.opt.ResultsBucket {
		return Result{Ignored: true, Reason: "not the results bucket"}, nil
	}
	prefix, runID, ok := records.ParseSummaryName(obj.Name)
	if !ok {
		return Result{Ignored: true, Reason: "not a summary"}, nil
	}
	raw, sa, err := blob.ReadAll(ctx, p.store, obj.Bucket, obj.Name, maxSummary)
	if errors.Is(err, blob.ErrNotFound) {
		return Result{Ignored: true, Reason: "summary no longer exists", RunID: runID}, nil
	}
	if err != nil {
		return Result{RunID: runID}, fmt.Errorf("reading summary: %w", err)
	}
	var sum records.Summary
	if err := json.Unmarshal(raw, &sum); err != nil {
		return Result{RunID: runID}, errclass.Permanent(fmt.Errorf("gs://%s/%s is not a summary: %w", obj.Bucket, obj.Name, err))
	}
	if sum.RunID != runID {
		return Result{RunID: runID}, errclass.Permanent(fmt.Errorf("gs://%s/%s names run %q, not %q", obj.Bucket, obj.Name, sum.RunID, runID))
	}
	res := Result{RunID: runID, Shard: sum.Shard}
	m, err := p.acquire(ctx, prefix, sa.Generation)
	if err != nil || m.rec.Done {
		res.Duplicate = err == nil
		return res, err
	}
	res.Resumed = m.rec.Published
	res, err = p.publishShard(ctx, prefix, runID, raw, sum, &m, res)
	if err != nil && !errors.Is(err, errLostLease) {
		if rerr := p.release(ctx, prefix, &m); rerr != nil {
			err = errors.Join(err, fmt.Errorf("releasing the lease: %w", rerr))
		}
	}
	return res, err
}

// publishShard publishes the records after the marker's count, then the summary, and marks the
// marker done.
func (p *Publisher) publishShard(ctx context.Context, prefix, runID string, raw []byte, sum records.Summary, m *marker, res Result) (Result, error) {
	err := p.publishRecords(ctx, prefix, runID, m, &res, sum)
	if errors.Is(err, ErrResultsMissing) {
		// Acking this event would leave Secundus in silence about the shard: announce the
		// summary as failed, with the error named in it (the file is never coming back).
		res.MissingResults = true
		sum.Status = records.StatusFailed
		sum.Error = err.Error()
		if raw, err = json.Marshal(sum); err != nil {
			return res, errclass.Permanent(fmt.Errorf("encoding the summary of %s: %w", prefix, err))
		}
	} else if err != nil {
		return res, err
	}
	if !m.rec.SummaryPublished {
		msg := Message{Data: raw, OrderingKey: runID, Attributes: map[string]string{
			records.AttrRunID: runID, records.AttrKind: KindSummary, records.AttrStatus: sum.Status,
			records.AttrShard: strconv.Itoa(sum.Shard), AttrIndex: KindSummary,
		}}
		if err := p.topic.Publish(ctx, []Message{msg}); err != nil {
			return res, fmt.Errorf("publishing the summary of %s: %w", prefix, stripPermanent(err))
		}
		res.Summary = true
	}
	m.rec.SummaryPublished, m.rec.Done = true, true
	return res, p.saveMarker(ctx, prefix, m)
}

// publishRecords streams results.jsonl from the marker's count on, publishing in chunks.
func (p *Publisher) publishRecords(ctx context.Context, prefix, runID string, m *marker, res *Result, sum records.Summary) error {
	name := prefix + records.ResultsFile
	r, _, err := p.store.NewReader(ctx, p.opt.ResultsBucket, name)
	if errors.Is(err, blob.ErrNotFound) {
		if sum.Status == records.StatusFailed || sum.Images == 0 {
			return nil // nothing ran: only the summary is announced
		}
		return fmt.Errorf("%w: summary.json reports %d images (status %s), but %s%s does not exist; "+
			"no image message was published for this shard", ErrResultsMissing, sum.Images, sum.Status, prefix, records.ResultsFile)
	}
	if err != nil {
		return fmt.Errorf("opening %s: %w", name, err)
	}
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, min(64<<10, p.opt.MaxLine)), p.opt.MaxLine)
	chunk := make([]Message, 0, p.opt.Chunk)
	line, pending := 0, 0 // lines read; lines read since the marker was saved
	flush := func() error {
		if pending == 0 {
			return nil
		}
		if len(chunk) > 0 {
			if err := p.topic.Publish(ctx, chunk); err != nil {
				return fmt.Errorf("publishing results of %s: %w", prefix, stripPermanent(err))
			}
			res.Images += len(chunk)
		}
		m.rec.Published += pending
		chunk, pending = chunk[:0], 0
		return p.saveMarker(ctx, prefix, m)
	}
	for sc.Scan() {
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		idx := line
		line++
		if idx < m.rec.Published {
			continue
		}
		pending++
		msg, ok := recordMessage(b, runID, idx)
		if !ok {
			res.Skipped++
		} else {
			chunk = append(chunk, msg)
		}
		if pending == p.opt.Chunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return errclass.Permanent(fmt.Errorf("%s line %d is longer than %d bytes", name, line+1, p.opt.MaxLine))
		}
		return fmt.Errorf("reading %s: %w", name, err)
	}
	return flush()
}

// recordMessage builds the message for one results.jsonl line; ok is false if it is not a record.
func recordMessage(line []byte, runID string, idx int) (Message, bool) {
	var rec records.Record
	if err := json.Unmarshal(line, &rec); err != nil || rec.Image == "" {
		return Message{}, false
	}
	attrs := map[string]string{
		records.AttrRunID: runID, records.AttrKind: KindImage, records.AttrImage: clip(rec.Image),
		records.AttrStatus: rec.Status, records.AttrShard: strconv.Itoa(rec.Shard), AttrIndex: strconv.Itoa(idx),
	}
	if rec.PredictedClass != nil {
		attrs[records.AttrPredictedClass] = strconv.Itoa(*rec.PredictedClass)
	}
	if rec.Label != "" {
		attrs[records.AttrLabel] = clip(rec.Label)
	}
	return Message{Data: append([]byte(nil), line...), Attributes: attrs, OrderingKey: runID}, true
}

// maxAttr is Pub/Sub's limit on an attribute value, in bytes.
const maxAttr = 1024

// clip shortens s to at most maxAttr bytes without splitting a UTF-8 sequence.
func clip(s string) string {
	if len(s) <= maxAttr {
		return s
	}
	s = s[:maxAttr]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func newToken() string {
	var b [12]byte
	_, _ = io.ReadFull(rand.Reader, b[:])
	return hex.EncodeToString(b[:])
}

func stripPermanent(err error) error {
	if errclass.IsPermanent(err) {
		return errors.New(err.Error())
	}
	return err
}
