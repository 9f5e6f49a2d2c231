// Package fnutil holds the few things every Cloud Function adapter in cspipe does the same way:
// a JSON slog logger with the project's fixed keys, dropping events older than a cutoff, and
// mapping a core error to "ack" (return nil) or "redeliver" (return the error).
//
// An adapter looks like this:
//
//	func (f *Function) Handle(ctx context.Context, e event.Event) error {
//		return fnutil.Handle(ctx, f.log, e, f.cfg.MaxEventAge, func(ctx context.Context, log *slog.Logger) error {
//			obj, err := events.DecodeStorageObject(e)
//			if err != nil {
//				return err // already errclass.Permanent: logged and acked
//			}
//			log = log.With(fnutil.KeyBucket, obj.Bucket, fnutil.KeyObject, obj.Name)
//			return f.core.Do(ctx, obj) // retryable errors are returned for redelivery
//		})
//	}
package fnutil

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/cspipe/cspipe/internal/errclass"
)

// Fixed log keys (STYLE.md). Use these names, not ad-hoc ones, so logs can be joined.
const (
	KeyEventID     = "event_id"
	KeyBucket      = "bucket"
	KeyObject      = "object"
	KeyGeneration  = "generation"
	KeyImageDigest = "image_digest"
	KeyRunID       = "run_id"
)

// NewLogger returns a JSON slog logger writing to w (os.Stderr in a deployed function) that
// adds component=name to every line. level is the minimum level logged.
func NewLogger(w io.Writer, name string, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})).With("component", name)
}

// DiscardLogger returns a logger that drops everything (for tests and tools that do not log).
func DiscardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TooOld reports whether an event with CloudEvents time t is older than maxAge at now. A zero
// t (the producer set no time) or a maxAge <= 0 never counts as too old.
func TooOld(t time.Time, maxAge time.Duration, now time.Time) bool {
	if t.IsZero() || maxAge <= 0 {
		return false
	}
	return now.Sub(t) > maxAge
}

// Handle runs fn for the event e with a logger that carries the event's id, after dropping e if
// its ce-time is older than maxAge (logged at warn, acked). fn's result is mapped:
//   - nil: acked (fn logs what it did, including "ignored" outcomes);
//   - a permanent error (errclass.IsPermanent): logged at error level and acked (nil), because
//     redelivering it would fail the same way;
//   - any other error: logged at warn level and returned, so the platform redelivers.
//
// A nil log is treated as DiscardLogger().
func Handle(ctx context.Context, log *slog.Logger, e event.Event, maxAge time.Duration, fn func(ctx context.Context, log *slog.Logger) error) error {
	if log == nil {
		log = DiscardLogger()
	}
	log = log.With(KeyEventID, e.ID(), "event_type", e.Type())
	if TooOld(e.Time(), maxAge, time.Now()) {
		log.WarnContext(ctx, "event dropped: older than the cutoff",
			"event_time", e.Time().UTC().Format(time.RFC3339Nano), "max_age", maxAge.String())
		return nil
	}
	return MapError(ctx, log, fn(ctx, log))
}

// MapError applies Handle's error mapping to err: nil stays nil, a permanent error is logged and
// becomes nil (ack), anything else is logged and returned (retry).
func MapError(ctx context.Context, log *slog.Logger, err error) error {
	switch {
	case err == nil:
		return nil
	case errclass.IsPermanent(err):
		log.ErrorContext(ctx, "event failed permanently; acked", "error", err.Error())
		return nil
	default:
		log.WarnContext(ctx, "event failed; returned for redelivery", "error", err.Error())
		return err
	}
}
