package policy

import (
	"context"
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

func newWatchdog(timeout time.Duration) *watchdog {
	return &watchdog{
		timeout: timeout,
		tick:    min(max(timeout/5, time.Millisecond), 50*time.Millisecond),
		running: map[*evaluation]struct{}{},
	}
}

// start registers an evaluation; the caller passes its halt to the engine and calls stop.
func (w *watchdog) start(ctx context.Context) *evaluation {
	ev := &evaluation{ctx: ctx, deadline: time.Now().Add(w.timeout), halt: topdown.NewCancel()}
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
		for ev := range w.running {
			switch {
			case now.After(ev.deadline):
				ev.expired.Store(true)
				ev.halt.Cancel()
			case ev.ctx.Err() != nil:
				ev.halt.Cancel()
			}
		}
		w.mu.Unlock()
	}
}
