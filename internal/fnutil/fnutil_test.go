package fnutil

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/cspipe/cspipe/internal/errclass"
)

func newEvent(id string, t time.Time) event.Event {
	e := event.New()
	e.SetID(id)
	e.SetType("test.type")
	e.SetSource("//test")
	if !t.IsZero() {
		e.SetTime(t)
	}
	return e
}

func TestHandle(t *testing.T) {
	errTransient := errors.New("transient")
	errBad := errclass.Permanent(errors.New("bad input"))
	tests := []struct {
		name      string
		eventTime time.Time
		maxAge    time.Duration
		fnErr     error
		wantErr   error
		wantCall  bool
	}{
		{name: "ok", eventTime: time.Now(), maxAge: time.Hour, wantCall: true},
		{name: "retryable error is returned", eventTime: time.Now(), maxAge: time.Hour, fnErr: errTransient, wantErr: errTransient, wantCall: true},
		{name: "permanent error is acked", eventTime: time.Now(), maxAge: time.Hour, fnErr: errBad, wantCall: true},
		{name: "too old is dropped", eventTime: time.Now().Add(-2 * time.Hour), maxAge: time.Hour},
		{name: "no cutoff", eventTime: time.Now().Add(-2 * time.Hour), maxAge: 0, wantCall: true},
		{name: "no event time", maxAge: time.Hour, wantCall: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			err := Handle(t.Context(), nil, newEvent("id-1", tc.eventTime), tc.maxAge, func(ctx context.Context, log *slog.Logger) error {
				called = true
				return tc.fnErr
			})
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Errorf("Handle() = %v, want %v", err, tc.wantErr)
			}
			if called != tc.wantCall {
				t.Errorf("fn called = %v, want %v", called, tc.wantCall)
			}
		})
	}
}

func TestHandleLoggerCarriesEventID(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, "test", slog.LevelInfo)
	err := Handle(t.Context(), log, newEvent("ev-42", time.Now()), time.Hour, func(ctx context.Context, log *slog.Logger) error {
		log.Info("work", KeyBucket, "b")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line is not JSON: %v: %s", err, buf.String())
	}
	for k, want := range map[string]any{KeyEventID: "ev-42", KeyBucket: "b", "component": "test", "msg": "work"} {
		if line[k] != want {
			t.Errorf("log[%q] = %v, want %v", k, line[k], want)
		}
	}
}

func TestTooOld(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	if !TooOld(now.Add(-time.Minute-time.Second), time.Minute, now) {
		t.Error("61s old with 60s cutoff: want too old")
	}
	if TooOld(now.Add(-time.Minute), time.Minute, now) {
		t.Error("exactly at cutoff: want not too old")
	}
	if TooOld(time.Time{}, time.Minute, now) {
		t.Error("zero time: want not too old")
	}
}
