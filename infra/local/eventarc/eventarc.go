// Package eventarc is the local stand-in for Eventarc: it subscribes to Pub/Sub topics on the
// local Pub/Sub (pstest) and delivers each message to an HTTP target as a CloudEvent in binary
// content mode, as Eventarc delivers to Cloud Functions.
//
// Two kinds of trigger exist:
//
//   - Storage: fake-gcs-server publishes bucket notifications (JSON_API_V1 payload, attributes
//     bucketId, objectId, eventType, …) to a topic; each OBJECT_FINALIZE of the trigger's bucket
//     becomes google.cloud.storage.object.v1.finalized with source
//     //storage.googleapis.com/projects/_/buckets/B, subject objects/NAME, and the object resource
//     as data (completed where fake-gcs-server's payload differs from Cloud Storage's: id
//     bucket/name/generation, metageneration "1").
//   - Pub/Sub: each message of a topic becomes google.cloud.pubsub.topic.v1.messagePublished with
//     source //pubsub.googleapis.com/projects/P/topics/T and the push envelope
//     {"message":{…},"subscription":…} as data.
//
// A non-2xx answer is retried the way Eventarc's Pub/Sub transport retries it: with exponential
// backoff up to a cap, for as long as the message is retained (Eventarc's default retention is
// 24 h, its backoff 10 s doubling to 600 s). Locally the backoff starts shorter (200 ms) and is
// capped lower (60 s), so an event that failed because the pipeline was not ready yet runs soon
// after it is; it is never retried for less long than on Google Cloud. Only an event still
// failing when its retention ends is dropped, with an ERROR line. Each message is acked as it
// arrives and its event queued in the trigger (deliveries in flight bounded by Concurrency); a
// failing event waits out its backoff off the workers, so it neither holds a delivery slot nor
// comes back as a second copy when a lease would lapse. Events still queued when the dispatcher
// closes are lost with the rest of the local Pub/Sub's state. Tests can ask for every event to be delivered more than once, the copies after a delay,
// to exercise idempotency.
//
// It is part of the local stack and must never be linked into a binary built for GCP.
package eventarc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
)

// CloudEvent types delivered.
const (
	TypeStorageFinalized = "google.cloud.storage.object.v1.finalized"
	TypePubSubPublished  = "google.cloud.pubsub.topic.v1.messagePublished"
)

// DeliveryTimeout is how long one delivery waits for the target's answer: Pub/Sub's longest ack
// deadline for a push subscription (600 s), longer than any function's own timeout (at most
// 540 s), so that it is the function's deadline, as on Google Cloud, that ends a slow invocation,
// never the dispatcher giving up and delivering the event again while it still runs.
const DeliveryTimeout = 10 * time.Minute

// Options configure a Dispatcher.
type Options struct {
	// Client talks to the local Pub/Sub. Required.
	Client *pubsub.Client
	// HTTP posts events; default a client with a DeliveryTimeout timeout.
	HTTP *http.Client
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Retention is how long after its publication an event is retried (default 24h, Eventarc's
	// message retention); InitialBackoff (default 200ms) doubles after each failure up to
	// MaxBackoff (default 60s).
	Retention      time.Duration
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// Copies delivers every event this many extra times (default 0), each copy CopyDelay after
	// the previous one, so tests see duplicate and delayed deliveries.
	Copies    int
	CopyDelay time.Duration
	// IDToken mints an OIDC ID token for a trigger's service account with the target URL as
	// audience; Eventarc sends it as a bearer token so the Cloud Run service can check
	// run.invoker. Nil sends no credentials.
	IDToken func(serviceAccount, audience string) (string, error)
	// Now is the clock that ages events (time.Now when nil).
	Now func() time.Time
	// Concurrency is how many deliveries of one trigger are in flight at once (default 32), as
	// the instances × concurrency of the function behind it.
	Concurrency int
}

// Trigger routes one topic's messages to one target.
type Trigger struct {
	// Name identifies the trigger; its subscription is projects/<Project>/subscriptions/eventarc-<Name>.
	Name string
	// Project owns the subscription; Topic is the full topic name projects/P/topics/T.
	Project, Topic string
	// Bucket makes this a storage trigger for finalize events of that bucket; empty: a Pub/Sub trigger.
	Bucket string
	// Target is the URL the events are POSTed to.
	Target string
	// ServiceAccount is the identity the trigger invokes Target as (email).
	ServiceAccount string
}

// Dispatcher runs triggers until Close.
type Dispatcher struct {
	opts   Options
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	tokenMu sync.Mutex
	tokens  map[[2]string]cachedToken // (service account, audience) → ID token

	mu        sync.Mutex
	delivered map[string]int   // trigger name → successful deliveries
	dropped   map[string]int   // trigger name → events dropped at the end of their retention
	attempts  map[string]int   // trigger name → delivery attempts started
	failed    map[string]int   // trigger name → attempts that ended without a 2xx
	stopped   map[string]error // trigger name → why its subscriber stopped before Close
}

// New returns a Dispatcher with no triggers.
func New(opts Options) (*Dispatcher, error) {
	if opts.Client == nil {
		return nil, errors.New("eventarc: a Pub/Sub client is required")
	}
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: DeliveryTimeout}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.InitialBackoff <= 0 {
		opts.InitialBackoff = 200 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 60 * time.Second
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.InitialBackoff)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 32
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Dispatcher{opts: opts, log: opts.Logger, ctx: ctx, cancel: cancel, tokens: map[[2]string]cachedToken{}, delivered: map[string]int{}, dropped: map[string]int{},
		attempts: map[string]int{}, failed: map[string]int{}, stopped: map[string]error{}}, nil
}

// Add creates the trigger's subscription (if missing) and starts delivering.
func (d *Dispatcher) Add(ctx context.Context, t Trigger) error {
	sub := fmt.Sprintf("projects/%s/subscriptions/eventarc-%s", t.Project, t.Name)
	_, err := d.opts.Client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: sub, Topic: t.Topic, AckDeadlineSeconds: 60,
	})
	if err != nil && !isAlreadyExists(err) {
		return fmt.Errorf("eventarc: creating subscription for trigger %s: %w", t.Name, err)
	}
	q := newQueue()
	for range d.opts.Concurrency {
		d.wg.Go(func() {
			for {
				j, ok := q.pop()
				if !ok {
					return
				}
				d.run(t, q, j)
			}
		})
	}
	s := d.opts.Client.Subscriber(sub)
	// pstest hands each stream at most one message per 10 ms delivery tick: several streams
	// keep up with a burst of uploads.
	s.ReceiveSettings.MaxOutstandingMessages = 1000
	s.ReceiveSettings.NumGoroutines = 8
	d.wg.Go(func() {
		defer q.close()
		err := s.Receive(d.ctx, func(ctx context.Context, m *pubsub.Message) {
			d.take(t, sub, q, m)
		})
		if d.ctx.Err() == nil {
			if err == nil {
				err = errors.New("the subscriber returned without an error")
			}
			d.log.Error("eventarc trigger stopped", "trigger", t.Name, "error", err.Error())
			d.mu.Lock()
			d.stopped[t.Name] = err
			d.mu.Unlock()
		}
	})
	return nil
}

// DefaultRetention is Eventarc's default message retention: how long a failing event is retried.
const DefaultRetention = 24 * time.Hour

// Delivered reports how many events the trigger's target accepted (2xx).
func (d *Dispatcher) Delivered(trigger string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.delivered[trigger]
}

// Dropped reports how many of the trigger's events were still failing when their retention
// ended.
func (d *Dispatcher) Dropped(trigger string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dropped[trigger]
}

// Attempts reports how many delivery attempts the trigger has started and how many of them ended
// without the target accepting the event; started minus accepted minus failed is how many are
// still waiting for their target's answer.
func (d *Dispatcher) Attempts(trigger string) (started, failed int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.attempts[trigger], d.failed[trigger]
}

// Stopped reports why the trigger's subscriber stopped receiving, or nil while it receives (or
// after Close): a stopped trigger delivers nothing more.
func (d *Dispatcher) Stopped(trigger string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stopped[trigger]
}

// Close stops every trigger and waits for in-flight deliveries.
func (d *Dispatcher) Close() {
	d.cancel()
	d.wg.Wait()
}

// take turns a message into the trigger's event, acks it and queues the event for delivery. The
// local Pub/Sub (pstest) scans every message a subscription holds on each of its 10 ms delivery
// ticks, under its one server lock; a backlog left there would make each tick cost as much as
// the backlog, so events wait in the trigger's own queue instead.
func (d *Dispatcher) take(t Trigger, sub string, q *queue, m *pubsub.Message) {
	ev, ok, err := buildEvent(t, sub, m)
	m.Ack()
	if err != nil {
		d.log.Error("eventarc: dropping malformed notification", "trigger", t.Name, "error", err.Error())
		return
	}
	if !ok {
		return
	}
	published := m.PublishTime
	if published.IsZero() {
		published = d.opts.Now()
	}
	q.push(job{ev: ev, published: published, copies: d.opts.Copies})
}

// job is one delivery of an event: its first, a retry, or a copy a test asked for.
type job struct {
	ev        event
	published time.Time
	failures  int // failed attempts so far
	copies    int // extra copies to deliver after this one succeeds
}

// run makes one attempt at j. A failure is queued again after its backoff, off the workers (a
// waiting event holds no worker), unless the event's retention would end first: then it is
// dropped with an ERROR line. The WARN lines thin out as the failures grow (1, 2, 4, 8, …).
func (d *Dispatcher) run(t Trigger, q *queue, j job) {
	reason := d.attempt(d.ctx, t, j.ev)
	if reason == "" {
		for i := 1; i <= j.copies; i++ {
			time.AfterFunc(time.Duration(i)*d.opts.CopyDelay, func() { q.push(job{ev: j.ev, published: j.published}) })
		}
		return
	}
	if d.ctx.Err() != nil {
		return
	}
	j.failures++
	wait := Backoff(j.failures, d.opts.InitialBackoff, d.opts.MaxBackoff)
	if age := d.opts.Now().Sub(j.published); age+wait > d.opts.Retention {
		d.log.Error("eventarc: dropping event: not delivered within the retention", "trigger", t.Name, "event_id", j.ev.id,
			"attempts", j.failures, "retention", d.opts.Retention.String(), "age", age.Round(time.Millisecond).String(), "error", reason)
		d.mu.Lock()
		d.dropped[t.Name]++
		d.mu.Unlock()
		return
	}
	if j.failures&(j.failures-1) == 0 {
		d.log.Warn("eventarc: delivery failed, retrying", "trigger", t.Name, "event_id", j.ev.id, "attempt", j.failures,
			"retry_in", wait.String(), "error", reason)
	}
	time.AfterFunc(wait, func() { q.push(j) })
}

// attempt POSTs ev once and returns why it failed, or "" when the target accepted it.
func (d *Dispatcher) attempt(ctx context.Context, t Trigger, ev event) string {
	d.mu.Lock()
	d.attempts[t.Name]++
	d.mu.Unlock()
	code, err := d.post(ctx, t, ev)
	if err == nil && code/100 == 2 {
		d.mu.Lock()
		d.delivered[t.Name]++
		d.mu.Unlock()
		return ""
	}
	d.mu.Lock()
	d.failed[t.Name]++
	d.mu.Unlock()
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("status %d", code)
}

// Backoff is the wait before redelivery after the n-th failed attempt (n ≥ 1): initial, doubled
// after each further failure, never more than limit.
func Backoff(n int, initial, limit time.Duration) time.Duration {
	b := initial
	for i := 1; i < n && b < limit; i++ {
		b *= 2
	}
	return min(b, limit)
}

func (d *Dispatcher) post(ctx context.Context, t Trigger, ev event) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.Target, bytes.NewReader(ev.data))
	if err != nil {
		return 0, err
	}
	if d.opts.IDToken != nil && t.ServiceAccount != "" {
		tok, err := d.idToken(t.ServiceAccount, t.Target)
		if err != nil {
			return 0, fmt.Errorf("minting the trigger's ID token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-id", ev.id)
	req.Header.Set("ce-type", ev.typ)
	req.Header.Set("ce-source", ev.source)
	if ev.subject != "" {
		req.Header.Set("ce-subject", ev.subject)
	}
	req.Header.Set("ce-time", ev.time.UTC().Format(time.RFC3339Nano))
	resp, err := d.opts.HTTP.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// event is one CloudEvent in binary mode.
type event struct {
	id, typ, source, subject string
	time                     time.Time
	data                     []byte
}

// buildEvent turns a message into the trigger's CloudEvent; ok is false for messages the trigger
// filters out (another bucket, another event type).
func buildEvent(t Trigger, sub string, m *pubsub.Message) (event, bool, error) {
	if t.Bucket == "" {
		env := map[string]any{
			"message": map[string]any{
				"data":        base64.StdEncoding.EncodeToString(m.Data),
				"messageId":   m.ID,
				"publishTime": m.PublishTime.UTC().Format(time.RFC3339Nano),
				"attributes":  m.Attributes,
			},
			"subscription": sub,
		}
		data, err := json.Marshal(env)
		if err != nil {
			return event{}, false, err
		}
		return event{id: m.ID, typ: TypePubSubPublished, source: "//pubsub.googleapis.com/" + t.Topic,
			time: m.PublishTime, data: data}, true, nil
	}
	a := m.Attributes
	if a["eventType"] != "OBJECT_FINALIZE" || a["bucketId"] != t.Bucket {
		return event{}, false, nil
	}
	if a["objectId"] == "" {
		return event{}, false, errors.New("storage notification without objectId")
	}
	ts := m.PublishTime
	if et, err := time.Parse(time.RFC3339Nano, a["eventTime"]); err == nil {
		ts = et
	}
	return event{id: m.ID, typ: TypeStorageFinalized,
		source: "//storage.googleapis.com/projects/_/buckets/" + t.Bucket, subject: "objects/" + a["objectId"],
		time: ts, data: storageData(m.Data)}, true, nil
}

// storageData completes fake-gcs-server's notification payload into the object resource that
// Cloud Storage sends as the event's data (StorageObjectData): the payload lacks metageneration,
// which a new generation always starts at 1 (so "1" on finalize), and its id is bucket/name
// where the resource's id is bucket/name/generation. The int64 fields stay JSON strings. Data
// that is not such an object passes unchanged.
func storageData(data []byte) []byte {
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil || obj == nil {
		return data
	}
	var bucket, name, gen string
	if json.Unmarshal(obj["bucket"], &bucket) != nil || json.Unmarshal(obj["name"], &name) != nil ||
		json.Unmarshal(obj["generation"], &gen) != nil || bucket == "" || name == "" || gen == "" {
		return data
	}
	if _, ok := obj["metageneration"]; !ok {
		obj["metageneration"] = json.RawMessage(`"1"`)
	}
	id, err := json.Marshal(bucket + "/" + name + "/" + gen)
	if err != nil {
		return data
	}
	obj["id"] = id
	out, err := json.Marshal(obj)
	if err != nil {
		return data
	}
	return out
}

// queue is a trigger's unbounded FIFO of jobs.
type queue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	jobs   []job
	closed bool
}

func newQueue() *queue {
	q := &queue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// push adds j; after close it does nothing.
func (q *queue) push(j job) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.jobs = append(q.jobs, j)
		q.cond.Signal()
	}
}

// pop waits for a job; ok is false once the queue is closed.
func (q *queue) pop() (job, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.jobs) == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return job{}, false
	}
	j := q.jobs[0]
	q.jobs[0] = job{}
	q.jobs = q.jobs[1:]
	return j, true
}

func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.jobs = nil
	q.cond.Broadcast()
}

// idTokenReuse is how long one minted ID token is sent (tokens are valid for an hour). Like the
// push of Google's Pub/Sub, the dispatcher does not sign a new token for every delivery: an RSA
// signature per event was a sixth of the stack's CPU during a burst of uploads.
const idTokenReuse = 10 * time.Minute

type cachedToken struct {
	token string
	until time.Time
}

// idToken returns an ID token for serviceAccount with audience, minting one when the last is
// older than idTokenReuse.
func (d *Dispatcher) idToken(serviceAccount, audience string) (string, error) {
	key := [2]string{serviceAccount, audience}
	d.tokenMu.Lock() // held while minting: concurrent deliveries wait for one token
	defer d.tokenMu.Unlock()
	now := d.opts.Now()
	if c, ok := d.tokens[key]; ok && now.Before(c.until) {
		return c.token, nil
	}
	tok, err := d.opts.IDToken(serviceAccount, audience)
	if err != nil {
		return "", err
	}
	d.tokens[key] = cachedToken{token: tok, until: now.Add(idTokenReuse)}
	return tok, nil
}
