// Package health decides the manager's readiness and liveness from what the plumbing observes:
// whether the watches have listed their objects, and whether evaluation makes progress while
// there is work. Time is passed in.
package health

import (
	"fmt"
	"sync"
	"time"
)

// Heartbeat tells a wedged evaluation from an idle or a slow one. The evaluator counts each
// subject it evaluates (on an event or in a sweep); the liveness probe passes that count and
// whether work waits (a sweep pending or running, an event being evaluated) to Check.
type Heartbeat struct {
	// Limit is how long work may wait with the count unchanged; 0 never fails.
	Limit time.Duration

	mu        sync.Mutex
	count     uint64
	busy      bool
	changedAt time.Time // of the count, or when work was first seen waiting
}

// Check records an observation at now, and fails when work has waited for longer than Limit
// with no evaluation finishing. Idle time does not count: an operator with nothing to do is
// alive, however long ago it last evaluated, and the wait is timed from the first probe that
// sees work waiting.
func (h *Heartbeat) Check(now time.Time, count uint64, busy bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	wasBusy := h.busy
	h.busy = busy
	if !busy || !wasBusy || count != h.count {
		h.count, h.changedAt = count, now
		return nil
	}
	if stalled := now.Sub(h.changedAt); h.Limit > 0 && stalled > h.Limit {
		return fmt.Errorf("no evaluation finished for %s while work waits (limit %s)", stalled.Round(time.Second), h.Limit)
	}
	return nil
}

// Watches is what the readiness probe knows of the watches of the kinds Controls target.
type Watches struct {
	// Leading: this replica runs the watches (it is the elected leader, or there is no
	// election). A follower runs none and waits for the lease: it is ready without them.
	Leading bool
	// Started: the watches have started (the Namespace watch is always among them).
	Started bool
	// Synced: every watched kind has listed its objects at least once; Waiting says which
	// have not and why.
	Synced  bool
	Waiting string
}

// WatchesReady fails until the leader's watches have all listed their objects once, so that
// the first evaluation covers every object rather than those listed so far.
func WatchesReady(w Watches) error {
	switch {
	case !w.Leading:
		return nil
	case !w.Started:
		return fmt.Errorf("the watches have not started")
	case !w.Synced:
		return fmt.Errorf("waiting for the first list of: %s", w.Waiting)
	}
	return nil
}
