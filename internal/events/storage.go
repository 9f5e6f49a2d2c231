// Package events decodes the two kinds of event cspipe's functions receive: Cloud Storage
// "object finalized" CloudEvents (data = StorageObjectData) and Pub/Sub "message published"
// CloudEvents carrying Artifact Registry `gcr` notifications. It is pure: no network, no cloud
// SDK beyond the event payload types. Every malformed input yields an errclass.Permanent error
// that names the field and the offending value, because redelivering it cannot help.
package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/googleapis/google-cloudevents-go/cloud/storagedata"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/cspipe/cspipe/internal/errclass"
)

// Event types this package decodes.
const (
	TypeObjectFinalized  = "google.cloud.storage.object.v1.finalized"
	TypeMessagePublished = "google.cloud.pubsub.topic.v1.messagePublished"
)

// MaxPayload bounds the size of an event's data that the decoders accept.
const MaxPayload = 1 << 20

// StorageObject is the part of a finalized object's description the pipeline uses.
type StorageObject struct {
	Bucket         string
	Name           string
	Generation     int64
	Metageneration int64
	Size           int64
	ContentType    string
	TimeCreated    time.Time
	Updated        time.Time
	Metadata       map[string]string
}

// ObjectFinalized decodes a google.cloud.storage.object.v1.finalized CloudEvent. Any other
// event type is a permanent error.
func ObjectFinalized(e event.Event) (StorageObject, error) {
	if e.Type() != TypeObjectFinalized {
		return StorageObject{}, errclass.Permanent(fmt.Errorf("event type %q: want %q", e.Type(), TypeObjectFinalized))
	}
	return ParseStorageObject(e.Data())
}

// ParseStorageObject decodes StorageObjectData JSON. The int64 fields (generation,
// metageneration, size) may be JSON strings, as Cloud Storage sends them, or JSON numbers, as
// fake-gcs-server sends them. Bucket and name must be present, the generation positive, and the
// name a valid Cloud Storage object name.
func ParseStorageObject(data []byte) (StorageObject, error) {
	if len(data) == 0 {
		return StorageObject{}, errclass.Permanent(fmt.Errorf("storage event: empty data"))
	}
	if len(data) > MaxPayload {
		return StorageObject{}, errclass.Permanent(fmt.Errorf("storage event: data is %d bytes, limit %d", len(data), MaxPayload))
	}
	var d storagedata.StorageObjectData
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &d); err != nil {
		return StorageObject{}, errclass.Permanent(fmt.Errorf("storage event: decoding StorageObjectData: %w", err))
	}
	o := StorageObject{
		Bucket:         d.GetBucket(),
		Name:           d.GetName(),
		Generation:     d.GetGeneration(),
		Metageneration: d.GetMetageneration(),
		Size:           d.GetSize(),
		ContentType:    d.GetContentType(),
		Metadata:       d.GetMetadata(),
	}
	if t := d.GetTimeCreated(); t != nil {
		o.TimeCreated = t.AsTime()
	}
	if t := d.GetUpdated(); t != nil {
		o.Updated = t.AsTime()
	}
	if err := o.validate(); err != nil {
		return StorageObject{}, errclass.Permanent(fmt.Errorf("storage event: %w", err))
	}
	return o, nil
}

func (o StorageObject) validate() error {
	switch {
	case o.Bucket == "":
		return fmt.Errorf("field bucket is missing")
	case !validBucket(o.Bucket):
		return fmt.Errorf("field bucket %q is not a bucket name", truncate(o.Bucket))
	case o.Name == "":
		return fmt.Errorf("field name is missing")
	case len(o.Name) > 1024 || !utf8.ValidString(o.Name) || strings.ContainsAny(o.Name, "\r\n\x00"):
		return fmt.Errorf("field name %q is not a valid object name", truncate(o.Name))
	case o.Generation <= 0:
		return fmt.Errorf("field generation %d: want a positive number", o.Generation)
	case o.Size < 0:
		return fmt.Errorf("field size %d is negative", o.Size)
	}
	return nil
}

// validBucket accepts Cloud Storage bucket names: 3-222 characters of lower-case letters,
// digits, '-', '_' and '.', starting and ending with a letter or digit.
func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 222 {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && !(c == '-' || c == '_' || c == '.') {
			return false
		}
		if (i == 0 || i == len(b)-1) && !alnum {
			return false
		}
	}
	return true
}

// truncate shortens a value quoted in an error so a hostile payload cannot flood the logs.
func truncate(s string) string {
	const n = 80
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// isJSONObject reports whether data is (after white space) a JSON object.
func isJSONObject(data []byte) bool {
	data = bytes.TrimSpace(data)
	return len(data) > 0 && data[0] == '{' && json.Valid(data)
}
