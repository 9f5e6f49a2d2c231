package engine

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cspipe/cspipe/workflows/expr"
)

// An execution that runs more steps than the limit ends with ErrStepLimit, which no except block
// catches (on Google nothing runs after a ResourceLimitError).
func TestStepLimit(t *testing.T) {
	const src = `
main:
  steps:
    - init:
        assign:
          - n: 0
    - loop:
        try:
          steps:
            - count:
                assign:
                  - n: ${n + 1}
                next: count
        except:
          as: e
          steps:
            - caught:
                return: "caught"
`
	_, err := run(t, src, nil, WithStepLimit(1000))
	if !errors.Is(err, ErrStepLimit) {
		t.Fatalf("got %v, want ErrStepLimit", err)
	}
	// Below the limit a run is not affected.
	got, err := run(t, "- a:\n    assign:\n      - x: 1\n- b:\n    return: ${x}\n", nil, WithStepLimit(2))
	if err != nil || got != int64(1) {
		t.Fatalf("got %v, %v; want 1", got, err)
	}
}

// A parallel step runs at most MaxConcurrentBranches iterations at once, as Google does, also
// when concurrency_limit asks for more; the rest wait for a free slot.
func TestParallelConcurrencyCap(t *testing.T) {
	for _, limit := range []string{"", "\n          concurrency_limit: 50"} {
		src := `
main:
  steps:
    - p:
        parallel:` + limit + `
          for:
            value: i
            range: [1, 30]
            steps:
              - s:
                  call: sys.sleep
                  args: {seconds: 1}
`
		var mu sync.Mutex
		active, most, started := 0, 0, 0
		var lastStart time.Time
		clock := NewFakeClock(time.Unix(1_700_000_000, 0))
		clock.OnSleep = func(ctx context.Context, _ time.Duration) error {
			mu.Lock()
			active++
			started++
			most = max(most, active)
			lastStart = time.Now()
			mu.Unlock()
			// Hold the slot until every iteration has started, or every slot is taken and no
			// iteration started for a while: an engine that ran more than the cap at once would
			// then have more than the cap holding slots together.
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				mu.Lock()
				done := started == 30 || active >= MaxConcurrentBranches && time.Since(lastStart) > 50*time.Millisecond
				mu.Unlock()
				if done {
					break
				}
			}
			mu.Lock()
			active--
			mu.Unlock()
			return nil
		}
		if _, err := run(t, src, nil, WithClock(clock)); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if most != MaxConcurrentBranches {
			t.Errorf("concurrency_limit %q: at most %d iterations at once, want %d", limit, most, MaxConcurrentBranches)
		}
	}
}

// A workflow error in one parallel branch leaves the others running (continueAll, the only policy
// Cloud Workflows supports): the sibling here finishes both of its sleeps, and the error is raised
// after it.
func TestParallelContinueAll(t *testing.T) {
	for _, policy := range []string{"", "\n          exception_policy: continueAll"} {
		src := `
main:
  steps:
    - p:
        parallel:` + policy + `
          branches:
            - fails:
                steps:
                  - r:
                      raise: {tags: ["Boom"]}
            - goes_on:
                steps:
                  - s1:
                      call: sys.sleep
                      args: {seconds: 10}
                  - s2:
                      call: sys.sleep
                      args: {seconds: 20}
`
		var mu sync.Mutex
		var slept []time.Duration
		clock := NewFakeClock(time.Unix(1_700_000_000, 0))
		clock.OnSleep = func(ctx context.Context, d time.Duration) error {
			time.Sleep(10 * time.Millisecond) // let the failing branch raise first
			mu.Lock()
			slept = append(slept, d)
			mu.Unlock()
			return nil
		}
		_, err := run(t, src, nil, WithClock(clock))
		var we *expr.Error
		if !errors.As(err, &we) || !we.HasTag("Boom") {
			t.Fatalf("policy %q: got %v, want the branch's Boom", policy, err)
		}
		if len(slept) != 2 {
			t.Errorf("policy %q: the other branch slept %v, want both of its sleeps", policy, slept)
		}
	}
}
