package policy

import (
	"context"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/topdown"
)

// watchdog halts evaluations that run past their deadline, or whose context ends, from one
// goroutine that looks at the running evaluations a few times per timeout.
//
// A context.WithTimeout per evaluation did the same with a timer, a cancel context and a
// callback each: a fifth of the bytes an evaluation allocated, at tens of thousands of
// evaluations a second, and so a fifth of the garbage collector's work in a sweep. Here an
// evaluation costs a registration in a map. The price is precision: an evaluation is halted
// within a fifth of the timeout after its deadline.
type watchdog struct {
	timeout time.Duration
	tick    time.Duration
	// heapLimit, when not 0, is the memory guard: see overHeap.
	heapLimit uint64
	heap      []metrics.Sample

	mu       sync.Mutex
	running  map[*evaluation]struct{}
	watching bool
}

// evaluation is one running evaluation, as the watchdog sees it. It is also the context the
// evaluation runs in, so that the bounded builtins find the budget it has spent (see
// bounds.go) without a context value allocated per evaluation.
type evaluation struct {
	ctx      context.Context
	deadline time.Time
	halt     topdown.Cancel
	expired  atomic.Bool
	// started is when the evaluation began; overHeap is the heap the memory guard saw when
	// it halted the evaluation (0: not halted by the guard).
	started  time.Time
	overHeap atomic.Uint64
	// spent is what the bounded builtins have built so far, in bytes.
	spent atomic.Int64
}

func (ev *evaluation) Deadline() (time.Time, bool) { return ev.ctx.Deadline() }
func (ev *evaluation) Done() <-chan struct{}       { return ev.ctx.Done() }
func (ev *evaluation) Err() error                  { return ev.ctx.Err() }

// Value finds the evaluation itself under budgetKey, and the caller's values otherwise.
func (ev *evaluation) Value(key any) any {
	if _, ok := key.(budgetKey); ok {
		return ev
	}
	return ev.ctx.Value(key)
}

// watchdogIdleTicks is how many ticks without evaluations the watchdog's goroutine waits
// before it exits; the next evaluation starts it again.
const watchdogIdleTicks = 50

func newWatchdog(timeout time.Duration, heapLimit uint64) *watchdog {
	return &watchdog{
		timeout:   timeout,
		tick:      min(max(timeout/5, time.Millisecond), 50*time.Millisecond),
		heapLimit: heapLimit,
		heap:      []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}},
		running:   map[*evaluation]struct{}{},
	}
}

// start registers an evaluation; the caller passes its halt to the engine and calls stop.
func (w *watchdog) start(ctx context.Context) *evaluation {
	now := time.Now()
	ev := &evaluation{ctx: ctx, started: now, deadline: now.Add(w.timeout), halt: topdown.NewCancel()}
	w.mu.Lock()
	w.running[ev] = struct{}{}
	if !w.watching {
		w.watching = true
		go w.watch()
	}
	w.mu.Unlock()
	return ev
}

func (w *watchdog) stop(ev *evaluation) {
	w.mu.Lock()
	delete(w.running, ev)
	w.mu.Unlock()
}

func (w *watchdog) watch() {
	t := time.NewTicker(w.tick)
	defer t.Stop()
	idle := 0
	for range t.C {
		now := time.Now()
		w.mu.Lock()
		if len(w.running) == 0 {
			if idle++; idle >= watchdogIdleTicks {
				w.watching = false
				w.mu.Unlock()
				return
			}
		} else {
			idle = 0
		}
		heap := w.heapOverLimit()
		for ev := range w.running {
			switch {
			case now.After(ev.deadline):
				ev.expired.Store(true)
				ev.halt.Cancel()
			case ev.ctx.Err() != nil:
				ev.halt.Cancel()
			case heap > 0 && now.Sub(ev.started) >= 2*w.tick:
				ev.overHeap.Store(heap)
				ev.halt.Cancel()
			}
		}
		w.mu.Unlock()
	}
}

// heapOverLimit returns the heap's size when it is over the memory guard's limit, and 0 when
// it is not or there is no guard. Callers hold w.mu.
//
// The memory guard: what the engine builds outside the bounded builtins (a comprehension, a
// cross product) grows step by step and is halted by the deadline, but how much it builds
// before then depends on the deadline and the machine (about 20 MiB in 250 ms here). When the
// process's heap passes the limit, the guard halts every evaluation that has run for two
// ticks or more: the evaluations of the library's policies take microseconds, so what it halts is
// what is building, and the evaluation's error says so. The heap is read from runtime/metrics,
// which costs about a microsecond, once per tick.
func (w *watchdog) heapOverLimit() uint64 {
	if w.heapLimit == 0 {
		return 0
	}
	metrics.Read(w.heap)
	if h := w.heap[0].Value.Uint64(); h > w.heapLimit {
		return h
	}
	return 0
}
