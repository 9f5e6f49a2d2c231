package events

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/cspipe/cspipe/internal/errclass"
)

// Artifact Registry notification actions.
const (
	ActionInsert = "INSERT"
	ActionDelete = "DELETE"
)

// PubSubMessage is the message inside a messagePublished envelope, with data already
// base64-decoded.
type PubSubMessage struct {
	Data         []byte
	Attributes   map[string]string
	MessageID    string
	PublishTime  time.Time
	Subscription string
}

type pushEnvelope struct {
	Message *struct {
		Data        string            `json:"data"`
		Attributes  map[string]string `json:"attributes"`
		MessageID   string            `json:"messageId"`
		MessageID2  string            `json:"message_id"`
		PublishTime string            `json:"publishTime"`
	} `json:"message"`
	Subscription string `json:"subscription"`
}

// MessagePublished decodes a google.cloud.pubsub.topic.v1.messagePublished CloudEvent. Any
// other event type is a permanent error.
func MessagePublished(e event.Event) (PubSubMessage, error) {
	if e.Type() != TypeMessagePublished {
		return PubSubMessage{}, errclass.Permanent(fmt.Errorf("event type %q: want %q", e.Type(), TypeMessagePublished))
	}
	return ParsePubSubEnvelope(e.Data())
}

// ParsePubSubEnvelope decodes a Pub/Sub push envelope
// {"message":{"data":b64,"attributes":{…},"messageId":…,"publishTime":…},"subscription":…}.
func ParsePubSubEnvelope(data []byte) (PubSubMessage, error) {
	if len(data) > MaxPayload {
		return PubSubMessage{}, errclass.Permanent(fmt.Errorf("pubsub envelope: %d bytes, limit %d", len(data), MaxPayload))
	}
	if !isJSONObject(data) {
		return PubSubMessage{}, errclass.Permanent(fmt.Errorf("pubsub envelope: not a JSON object"))
	}
	var env pushEnvelope
	if err := json.Unmarshal(data, &env); err != nil {
		return PubSubMessage{}, errclass.Permanent(fmt.Errorf("pubsub envelope: %w", err))
	}
	if env.Message == nil {
		return PubSubMessage{}, errclass.Permanent(fmt.Errorf("pubsub envelope: field message is missing"))
	}
	m := PubSubMessage{
		Attributes:   env.Message.Attributes,
		MessageID:    env.Message.MessageID,
		Subscription: env.Subscription,
	}
	if m.MessageID == "" {
		m.MessageID = env.Message.MessageID2
	}
	b, err := base64.StdEncoding.DecodeString(env.Message.Data)
	if err != nil {
		return PubSubMessage{}, errclass.Permanent(fmt.Errorf("pubsub envelope: field message.data is not base64: %w", err))
	}
	m.Data = b
	if env.Message.PublishTime != "" {
		t, err := time.Parse(time.RFC3339Nano, env.Message.PublishTime)
		if err != nil {
			return PubSubMessage{}, errclass.Permanent(fmt.Errorf("pubsub envelope: field message.publishTime %q: %w", truncate(env.Message.PublishTime), err))
		}
		m.PublishTime = t
	}
	return m, nil
}

// GCRNotification is one Artifact Registry notification on the `gcr` topic, validated.
type GCRNotification struct {
	// Action is ActionInsert or ActionDelete.
	Action string
	// Repository is the image's repository, HOST/PROJECT/REPO/IMAGE (no tag, no digest).
	Repository string
	// Digest is "sha256:" + 64 lower-case hex, or "" when the message names only a tag.
	Digest string
	// Tag is the bare tag ("v1"), or "" for a digest-only push.
	Tag string
	// MessageID and PublishTime come from the Pub/Sub envelope; PublishTime orders pins.
	MessageID   string
	PublishTime time.Time
}

// Reference is Repository@Digest, or "" without a digest.
func (n GCRNotification) Reference() string {
	if n.Digest == "" {
		return ""
	}
	return n.Repository + "@" + n.Digest
}

// GCRFromEvent decodes a messagePublished CloudEvent carrying a `gcr` notification. The
// publish time falls back to the event's ce-time when the envelope has none.
func GCRFromEvent(e event.Event) (GCRNotification, error) {
	m, err := MessagePublished(e)
	if err != nil {
		return GCRNotification{}, err
	}
	n, err := ParseGCRNotification(m.Data)
	if err != nil {
		return GCRNotification{}, err
	}
	n.MessageID = m.MessageID
	n.PublishTime = m.PublishTime
	if n.PublishTime.IsZero() {
		n.PublishTime = e.Time()
	}
	return n, nil
}

var (
	// hostRe: a registry host, optionally with a port (127.0.0.1:5000, us-docker.pkg.dev).
	hostRe = `[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?`
	// pathRe: lower-case path components as the OCI distribution spec defines them.
	pathRe    = `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*`
	repoRe    = regexp.MustCompile(`^` + hostRe + `/` + pathRe + `$`)
	digestRe  = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	tagNameRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

type gcrMessage struct {
	Action string `json:"action"`
	Digest string `json:"digest"`
	Tag    string `json:"tag"`
}

// ParseGCRNotification decodes and validates the JSON of a `gcr` message:
// {"action":"INSERT","digest":"HOST/P/REPO/IMG@sha256:…","tag":"HOST/P/REPO/IMG:t"}. The digest
// must be REPOSITORY@sha256:<64 hex>; the tag must be REPOSITORY:<tag> with a tag of at most 128
// characters from [A-Za-z0-9_.-]; when both are present they must name the same repository.
// Anything else — quotes, spaces, control characters, a second '@' — is refused naming the field.
func ParseGCRNotification(data []byte) (GCRNotification, error) {
	if len(data) > MaxPayload {
		return GCRNotification{}, errclass.Permanent(fmt.Errorf("gcr message: %d bytes, limit %d", len(data), MaxPayload))
	}
	if !isJSONObject(data) {
		return GCRNotification{}, errclass.Permanent(fmt.Errorf("gcr message: not a JSON object"))
	}
	var msg gcrMessage
	if err := json.Unmarshal(data, &msg); err != nil {
		return GCRNotification{}, errclass.Permanent(fmt.Errorf("gcr message: %w", err))
	}
	n, err := msg.validate()
	if err != nil {
		return GCRNotification{}, errclass.Permanent(fmt.Errorf("gcr message: %w", err))
	}
	return n, nil
}

func (m gcrMessage) validate() (GCRNotification, error) {
	var n GCRNotification
	switch m.Action {
	case ActionInsert, ActionDelete:
		n.Action = m.Action
	case "":
		return n, fmt.Errorf("field action is missing")
	default:
		return n, fmt.Errorf("field action %q: want %s or %s", truncate(m.Action), ActionInsert, ActionDelete)
	}
	if m.Digest == "" && m.Tag == "" {
		return n, fmt.Errorf("fields digest and tag are both missing")
	}
	if m.Digest != "" {
		repo, d, ok := strings.Cut(m.Digest, "@")
		if !ok || !repoRe.MatchString(repo) || !digestRe.MatchString(d) {
			return n, fmt.Errorf("field digest %q: want REPOSITORY@sha256:<64 hex>", truncate(m.Digest))
		}
		n.Repository, n.Digest = repo, d
	}
	if m.Tag != "" {
		i := strings.LastIndexByte(m.Tag, ':')
		if i < 0 || strings.Contains(m.Tag[i:], "/") {
			return n, fmt.Errorf("field tag %q: want REPOSITORY:TAG", truncate(m.Tag))
		}
		repo, tag := m.Tag[:i], m.Tag[i+1:]
		if !repoRe.MatchString(repo) || !tagNameRe.MatchString(tag) {
			return n, fmt.Errorf("field tag %q: want REPOSITORY:TAG with TAG of [A-Za-z0-9_.-]", truncate(m.Tag))
		}
		if n.Repository != "" && n.Repository != repo {
			return n, fmt.Errorf("field tag %q names another repository than field digest %q", truncate(m.Tag), truncate(m.Digest))
		}
		n.Repository, n.Tag = repo, tag
	}
	return n, nil
}
