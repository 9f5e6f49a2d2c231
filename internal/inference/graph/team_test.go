package graph

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTeamSplit has an owner split 1000 items in chunks of 7 while the
// other worker of its team, out of work, offers help: awake, and asleep
// when the job is posted. Every item must run exactly once, the helper
// must run some of the chunks, and it must return once the owner is done.
func TestTeamSplit(t *testing.T) {
	for _, park := range []bool{false, true} {
		tm := newTeam(2)
		var wg sync.WaitGroup
		wg.Go(tm.help) // out of work at once
		deadline := time.Now().Add(10 * time.Second)
		for tm.helpers() == 0 || park && tm.parked.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("park %v: the helper never offered itself (or never slept)", park)
			}
			time.Sleep(100 * time.Microsecond)
		}
		const n, per = 1000, 7
		runs := make([]int32, n)
		var chunks atomic.Int32
		helped := helpedChunks.Load()
		tm.split(n, per, func(lo, hi int) {
			if hi-lo > per || hi > n {
				t.Errorf("chunk [%d, %d) is not one of %d", lo, hi, per)
			}
			for i := lo; i < hi; i++ {
				atomic.AddInt32(&runs[i], 1)
			}
			chunks.Add(1)
			time.Sleep(100 * time.Microsecond) // leave chunks for the other
		})
		// split returned: every chunk is done, none may still be running.
		for i, r := range runs {
			if r != 1 {
				t.Fatalf("park %v: item %d ran %d times", park, i, r)
			}
		}
		if want := int32((n + per - 1) / per); chunks.Load() != want {
			t.Fatalf("park %v: %d chunks ran, want %d", park, chunks.Load(), want)
		}
		if helpedChunks.Load() == helped {
			t.Errorf("park %v: the helper ran none of the chunks", park)
		}
		tm.help() // the owner is out of work too: both must return
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("park %v: the helper did not return after the last worker finished", park)
		}
	}
}

// TestTeamEnd has three workers finish in turn with nothing to share; the
// two waiting (one of them asleep by then) must return when the last is
// done.
func TestTeamEnd(t *testing.T) {
	tm := newTeam(3)
	var wg sync.WaitGroup
	wg.Go(tm.help)
	time.Sleep(2 * time.Millisecond) // long past spinFor: asleep
	wg.Go(tm.help)
	tm.help()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("waiting workers did not return after the last one finished")
	}
}
