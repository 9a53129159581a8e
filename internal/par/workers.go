package par

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Helper goroutines for Workers and For. Starting a goroutine on an idle
// processor means waking an operating-system thread, tens of microseconds
// on a virtual machine, and a parallel call of a few hundred microseconds
// (a GEMM that is one tile of the fused head, a softmax of a few hundred
// rows) cannot afford that at every call. So the helpers stay: after a
// job, a helper spins for a while (spinTime) waiting for the next one
// before it sleeps, and consecutive calls find it awake.

// spinTime is how long an idle helper waits for a job, spinning, before
// it sleeps; a caller waiting for its helpers spins as long. Waking a
// sleeping goroutine costs tens of microseconds, often over a hundred on
// a virtual machine.
const spinTime = 300 * time.Microsecond

// spin calls done until it returns true or spinTime has passed, and
// reports whether done returned true.
func spin(done func() bool) bool {
	var start time.Time
	for i := 0; ; i++ {
		if done() {
			return true
		}
		if i%256 == 0 {
			if i == 0 {
				start = time.Now()
			} else if time.Since(start) > spinTime {
				return false
			}
		}
	}
}

// A helper runs the jobs handed to it, one at a time.
type helper struct {
	busy  atomic.Bool            // taken by a caller, until its job ends
	job   atomic.Pointer[func()] // the job to run, set by the caller
	sleep atomic.Bool            // waiting on wake
	wake  chan struct{}
}

var helpers struct {
	mu   sync.Mutex
	list []*helper
}

// loop runs jobs forever.
func (h *helper) loop() {
	for {
		var f *func()
		spin(func() bool { f = h.job.Load(); return f != nil })
		if f == nil {
			h.sleep.Store(true)
			if h.job.Load() == nil {
				<-h.wake // a stale token only sends the loop round again
			}
			h.sleep.Store(false)
			continue
		}
		h.job.Store(nil)
		(*f)()
	}
}

// start hands f to h, waking it if it sleeps.
func (h *helper) start(f *func()) {
	h.job.Store(f)
	if h.sleep.Load() {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
}

// acquire appends up to n idle helpers to dst (creating them as needed,
// at most limit in all), marked busy.
func acquire(n, limit int, dst []*helper) []*helper {
	helpers.mu.Lock()
	defer helpers.mu.Unlock()
	for _, h := range helpers.list {
		if len(dst) == n {
			return dst
		}
		if h.busy.CompareAndSwap(false, true) {
			dst = append(dst, h)
		}
	}
	for len(dst) < n && len(helpers.list) < limit {
		h := &helper{wake: make(chan struct{}, 1)}
		h.busy.Store(true)
		helpers.list = append(helpers.list, h)
		go h.loop()
		dst = append(dst, h)
	}
	return dst
}

// Workers runs work(w) for w = 0 … n−1 concurrently, work(0) on the
// calling goroutine, and returns when all have returned. Idle helpers run
// the others (at most GOMAXPROCS − 1 helpers exist; after a job each
// spins a few hundred microseconds before it sleeps), new goroutines
// those that find none, so every worker runs at the same time as the
// others and a caller may make them wait for each other.
func Workers(n int, work func(w int)) {
	if n <= 1 {
		work(0)
		return
	}
	var hs [8]*helper
	got := acquire(n-1, max(1, runtime.GOMAXPROCS(0)-1), hs[:0])
	var left atomic.Int32
	left.Store(int32(n - 1))
	done := make(chan struct{}, 1)
	for w := 1; w < n; w++ {
		if w-1 < len(got) {
			h := got[w-1]
			f := func() {
				work(w)
				h.busy.Store(false)
				if left.Add(-1) == 0 {
					done <- struct{}{}
				}
			}
			h.start(&f)
			continue
		}
		go func() {
			work(w)
			if left.Add(-1) == 0 {
				done <- struct{}{}
			}
		}()
	}
	work(0)
	spin(func() bool { return left.Load() == 0 })
	<-done
}
