package engine

import (
	"context"
	"log/slog"
	"sync"
)

// recordHandler keeps the text attribute of sys.log records and closes done on the first.
type recordHandler struct {
	mu   sync.Mutex
	last string
	done chan struct{}
	once sync.Once
}

func newSlog(h *recordHandler) *slog.Logger { return slog.New(h) }

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "sys.log" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "text" {
			h.mu.Lock()
			h.last = a.Value.String()
			h.mu.Unlock()
		}
		return true
	})
	h.once.Do(func() { close(h.done) })
	return nil
}

func (h *recordHandler) text() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}
