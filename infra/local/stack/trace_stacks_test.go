package stack

import (
	"strings"
	"testing"
	"time"
)

// parkForTrace blocks until ch closes: a goroutine waiting where handlerStacks must find it.
func parkForTrace(ch chan struct{}) { <-ch }

// TestHandlerStacksFindsWaitingGoroutine: the trace's goroutine excerpt shows a goroutine parked
// inside the code it looks for, and says so when there is none.
func TestHandlerStacksFindsWaitingGoroutine(t *testing.T) {
	ch := make(chan struct{})
	defer close(ch)
	go parkForTrace(ch)
	var got string
	for range 100 {
		if got = handlerStacks("stack.parkForTrace", 6); strings.Contains(got, "parkForTrace") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(got, "stack.parkForTrace") || !strings.Contains(got, "trace_stacks_test.go") {
		t.Errorf("handlerStacks did not show the parked goroutine:\n%s", got)
	}
	if got := handlerStacks("no/such/package.", 6); !strings.Contains(got, "none") {
		t.Errorf("with nothing to find: %q", got)
	}
}
