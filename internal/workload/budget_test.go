package workload

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/blob"
	"github.com/cspipe/cspipe/internal/records"
)

// budgetClassifier tracks bytes handed over for classification and not yet finished.
type budgetClassifier struct {
	mu         sync.Mutex
	inFlight   int64
	maxSeen    int64
	classified int
}

func (c *budgetClassifier) Classify(ctx context.Context, data []byte) (Prediction, error) {
	c.mu.Lock()
	c.inFlight += int64(len(data))
	c.maxSeen = max(c.maxSeen, c.inFlight)
	c.classified++
	c.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	c.mu.Lock()
	c.inFlight -= int64(len(data))
	c.mu.Unlock()
	return Prediction{}, nil
}

// budgetStore is a Store over blob.Memory; classifyAll never writes through it.
type budgetStore struct{ *blob.Memory }

func (budgetStore) NewWriter(context.Context, string, string, string) io.WriteCloser { return nil }

func TestInFlightBudgetBoundsReadBytes(t *testing.T) {
	old := inFlightBudget
	inFlightBudget = 250
	t.Cleanup(func() { inFlightBudget = old })

	mem := blob.NewMemory()
	for i := range 30 {
		mem.Write(t.Context(), "in-bucket", fmt.Sprintf("img/%02d", i), blob.Object{Data: bytes.Repeat([]byte{'x'}, 100)}, blob.Cond{})
	}
	cfg := &Config{RunID: "r", ShardCount: 1, InputBucket: "in-bucket", Workers: 4}
	clf := &budgetClassifier{}
	d := &Deps{Store: budgetStore{mem}}
	d.Log, d.Now = slog.New(slog.DiscardHandler), time.Now
	var out bytes.Buffer
	tl, err := classifyAll(t.Context(), cfg, d, clf, &out)
	if err != nil {
		t.Fatal(err)
	}
	if tl.images != 30 || tl.ok != 30 {
		t.Fatalf("tally = %+v", tl)
	}
	// 4 workers × 100 bytes would be 400; the budget of 250 allows two images at a time.
	if clf.maxSeen > 250 {
		t.Errorf("up to %d image bytes were in flight; budget 250", clf.maxSeen)
	}
	if clf.maxSeen < 200 {
		t.Errorf("at most %d bytes in flight: the budget should still allow two images at once", clf.maxSeen)
	}
	if n := bytes.Count(out.Bytes(), []byte(`"status":"`+records.StatusOK+`"`)); n != 30 {
		t.Errorf("%d ok records written", n)
	}
}
