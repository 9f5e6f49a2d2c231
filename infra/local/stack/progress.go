package stack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// NewProgressHandler is a slog.Handler for people: it turns the stack's step events (upload
// batched, run started, VM up, results published, run failed, …) into one short line each and
// drops the rest, except warnings and errors, which it always shows. `cspipe local up` uses it
// unless asked for JSON.
func NewProgressHandler(w io.Writer) slog.Handler {
	return &progressHandler{out: &progressOut{w: w}}
}

type progressOut struct {
	mu sync.Mutex
	w  io.Writer
}

type progressHandler struct {
	out   *progressOut
	attrs []slog.Attr
}

func (h *progressHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *progressHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &progressHandler{out: h.out, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *progressHandler) WithGroup(string) slog.Handler { return h }

func (h *progressHandler) Handle(_ context.Context, r slog.Record) error {
	a := make(map[string]string, len(h.attrs)+r.NumAttrs())
	for _, at := range h.attrs {
		a[at.Key] = at.Value.String()
	}
	r.Attrs(func(at slog.Attr) bool {
		a[at.Key] = at.Value.String()
		return true
	})
	line := progressLine(r, a)
	if line == "" {
		return nil
	}
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	// A closed terminal or pipe must not stop the stack: the error is dropped.
	_, _ = fmt.Fprintf(h.out.w, "%s %s\n", r.Time.Format(time.TimeOnly), line)
	return nil
}

// progressLine renders one step, or "" for records that are not steps.
func progressLine(r slog.Record, a map[string]string) string {
	obj := func() string { return "gs://" + a["bucket"] + "/" + a["object"] }
	with := func(s string, kv ...string) string {
		var b strings.Builder
		b.WriteString(s)
		for i := 0; i+1 < len(kv); i += 2 {
			if v := a[kv[i+1]]; v != "" && v != "<nil>" {
				fmt.Fprintf(&b, " %s %s", kv[i], v)
			}
		}
		return b.String()
	}
	switch r.Message {
	case "upload batched":
		if a["duplicate"] == "true" {
			return ""
		}
		s := with("upload batched: "+obj(), "→ batch", "batch_id")
		if a["started"] == "true" {
			s += with(",", "run", "run_id") + " started"
		}
		return s
	case "upload ignored":
		if strings.Contains(a["reason"], "pipeline's own object") {
			return "" // ScheduleRun's bookkeeping, not the user's upload
		}
		return "upload ignored: " + obj() + ": " + a["reason"]
	case "execution started":
		return "run started: workflow execution " + lastSegment(a["execution"])
	case "execution finished":
		if a["state"] == "SUCCEEDED" {
			return "workflow execution " + lastSegment(a["execution"]) + " finished"
		}
		return "run failed: workflow execution " + lastSegment(a["execution"]) + " " + a["state"] + errSuffix(a)
	case "instance inserted":
		return "VM up: " + a["instance"] + " (" + a["zone"] + ")"
	case "workload ended with an error":
		return "run failed: the workload on " + a["instance"] + errSuffix(a)
	case "instance deleted":
		return "VM deleted: " + a["instance"]
	case "results published":
		if a["summary"] == "true" {
			return with("results published: run "+a["run_id"], "shard", "shard", "—", "images") + " images, summary sent"
		}
		return with("results published: run "+a["run_id"], "shard", "shard", "—", "images") + " images"
	case "model event handled":
		if a["status"] == "" {
			return ""
		}
		s := "model " + obj() + " " + a["status"]
		if a["reason"] != "" {
			s += ": " + a["reason"]
		}
		return s
	case "image event handled":
		return with("workload image event: "+a["outcome"], "—", "reason")
	}
	switch {
	case r.Level >= slog.LevelError:
		return "ERROR " + r.Message + contextOf(a) + errSuffix(a)
	case r.Level >= slog.LevelWarn:
		return "warning: " + r.Message + contextOf(a) + errSuffix(a)
	}
	return ""
}

func contextOf(a map[string]string) string {
	for _, k := range []string{"function", "trigger", "component"} {
		if v := a[k]; v != "" {
			return " (" + v + ")"
		}
	}
	return ""
}

func errSuffix(a map[string]string) string {
	if e := a["error"]; e != "" {
		return ": " + e
	}
	return ""
}

func lastSegment(s string) string {
	if i := strings.LastIndex(s, "/"); i >= 0 {
		return s[i+1:]
	}
	return s
}
