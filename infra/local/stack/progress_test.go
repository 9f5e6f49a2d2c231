package stack

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestProgressHandlerOneLinePerStep(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewProgressHandler(&buf))
	fn := log.With("function", "ScheduleRun").With("bucket", "in", "object", "photos/a.jpg")
	fn.Info("upload batched", "batch_id", "b1", "duplicate", false, "started", false)
	fn.Info("upload batched", "batch_id", "b1", "duplicate", true) // a redelivery: no line
	log.Info("execution started", "execution", "projects/p/locations/l/workflows/launch/executions/e1")
	log.Info("instance inserted", "zone", "z", "instance", "cspipe-run-1")
	log.Info("an internal detail", "x", 1) // not a step: no line
	log.With("run_id", "r1").Info("results published", "shard", 0, "images", 5, "summary", true)
	log.Info("execution finished", "execution", "x/executions/e2", "state", "FAILED", "error", "VM never started")
	log.Warn("eventarc: delivery failed, retrying", "trigger", "schedule-run", "error", errors.New("no workload image pinned yet"))
	want := []string{
		"upload batched: gs://in/photos/a.jpg → batch b1",
		"run started: workflow execution e1",
		"VM up: cspipe-run-1 (z)",
		"results published: run r1 shard 0 — 5 images, summary sent",
		"run failed: workflow execution e2 FAILED: VM never started",
		"warning: eventarc: delivery failed, retrying (schedule-run): no workload image pinned yet",
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		if _, got, _ := strings.Cut(lines[i], " "); got != w {
			t.Errorf("line %d = %q, want %q", i, got, w)
		}
	}
}
