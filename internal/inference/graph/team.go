package graph

import (
	"os"
	"runtime"
	"sync/atomic"
	"time"
)

// team lets the workers of one batched Run help each other. Each worker
// runs its own sub-batches on one thread; one that runs out of them
// offers itself as a helper until all are done, and a worker still
// running splits each of its next operators with the helpers on offer,
// as it would between threads (env.parallelFor). Without it, every Run
// ends with the worker that finished first idle until the last one is
// done: at batch 8 on 2 threads that idle time was 2-10 % of the run
// on this host, whose cores slow down for moments at a time.
//
// Chunks are claimed, not assigned, so a helper that comes late (or
// whose core stalls) costs nothing: the owner runs what is left.
// Waiting spins for a moment and then sleeps, so that on a machine with
// more busy threads than cores a waiting worker gives its core back.
type team struct {
	idle    atomic.Int32 // workers offering help
	working atomic.Int32 // workers still running their own sub-batches
	parked  atomic.Int32 // helpers asleep on wake
	job     atomic.Pointer[teamJob]
	wake    chan struct{}
}

// teamHelp has the workers of a batched Run help each other;
// CSPIPE_TEAM=0 turns it off (A/B runs).
var teamHelp = os.Getenv("CSPIPE_TEAM") != "0"

// spinFor is how long a waiting worker spins before it sleeps: about
// the gap between two operators of its owner, far less than an
// operator's run (tens to hundreds of microseconds at batch 4).
const spinFor = 20 * time.Microsecond

func newTeam(workers int) *team {
	t := &team{wake: make(chan struct{}, workers)}
	t.working.Store(int32(workers))
	return t
}

// teamJob is one operator split into chunks that its owner and any
// helpers claim one at a time.
type teamJob struct {
	fn         func(lo, hi int)
	n, per     int
	chunks     int32
	next, done atomic.Int32
	fin        chan struct{} // closed when the last chunk is done
}

// helpers returns how many workers the team has on offer.
func (t *team) helpers() int {
	if t == nil {
		return 0
	}
	return int(t.idle.Load())
}

// helpedChunks counts the chunks helpers ran (for tests).
var helpedChunks atomic.Int64

// runChunks claims and runs chunks of j until none are left; a helper
// (not the job's owner) counts them in helpedChunks.
func (j *teamJob) runChunks(helper bool) {
	for {
		c := j.next.Add(1) - 1
		if c >= j.chunks {
			return
		}
		lo := int(c) * j.per
		j.fn(lo, min(lo+j.per, j.n))
		if helper {
			helpedChunks.Add(1)
		}
		if j.done.Add(1) == j.chunks {
			close(j.fin)
		}
	}
}

// open reports whether j has chunks nobody has claimed.
func (j *teamJob) open() bool { return j != nil && j.next.Load() < j.chunks }

// wakeAll wakes every sleeping helper (more tokens than sleepers only
// cost a spurious look at the job slot).
func (t *team) wakeAll() {
	for range t.parked.Load() {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// split runs fn over [0, n) in chunks of per, shared with the helpers on
// offer, and returns when every chunk is done.
func (t *team) split(n, per int, fn func(lo, hi int)) {
	j := &teamJob{fn: fn, n: n, per: per, chunks: int32((n + per - 1) / per), fin: make(chan struct{})}
	t.job.Store(j)
	t.wakeAll()
	j.runChunks(false)
	if j.done.Load() < j.chunks {
		// A helper is still on a chunk it claimed while this worker ran
		// the others: about one chunk's wait.
		spinUntil(func() bool { return j.done.Load() == j.chunks })
		<-j.fin
	}
	t.job.CompareAndSwap(j, nil)
}

// help is what a worker does once it has no sub-batch left: run chunks
// of whatever operator the others post until none of them is working.
// The worker that was the last to work wakes the sleeping helpers.
func (t *team) help() {
	if t.working.Add(-1) == 0 {
		t.wakeAll()
		return
	}
	t.idle.Add(1)
	defer t.idle.Add(-1)
	for {
		if j := t.job.Load(); j.open() {
			j.runChunks(true)
			continue
		}
		if spinUntil(func() bool { return t.working.Load() == 0 || t.job.Load().open() }) {
			if t.working.Load() == 0 {
				return
			}
			continue
		}
		t.parked.Add(1)
		// Look again after counting as parked: a job or the end posted
		// in between is then either seen here or followed by a wake.
		if t.working.Load() > 0 && !t.job.Load().open() {
			<-t.wake
		}
		t.parked.Add(-1)
		if t.working.Load() == 0 {
			return
		}
	}
}

// spinUntil polls cond for up to spinFor and reports whether it came true.
func spinUntil(cond func() bool) bool {
	var start time.Time
	for i := 0; ; i++ {
		if cond() {
			return true
		}
		if i%64 == 63 {
			if start.IsZero() {
				start = time.Now()
			} else if time.Since(start) > spinFor {
				return false
			}
			runtime.Gosched()
		}
	}
}
