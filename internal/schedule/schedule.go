// Package schedule decides when a Control's reconcile runs again: for its next sweep, or for
// the next moment its Findings or exceptions change with time alone. It is pure arithmetic on
// times passed in, so that the requeue rules are covered by table tests.
package schedule

import "time"

const (
	// MinSweepWait is the shortest wait for a sweep that is due: a control whose interval has
	// passed is requeued this soon rather than at once, which would spin.
	MinSweepWait = time.Second
	// WakeSlack is added to the wait for a time-driven change (a Finding falling due or
	// expiring, an exception expiring), so that the reconcile runs just after that moment,
	// not a few microseconds before it and then again.
	WakeSlack = 100 * time.Millisecond
)

// Requeue returns how long after now a control's reconcile should run again, zero for not
// at all:
//   - unless a sweep is requested or under way (sweeping: the sweeper queues the control when
//     it is done), when its next sweep is due, interval after lastSweep, and at least
//     MinSweepWait from now;
//   - if nextWake is set (not zero), at nextWake plus WakeSlack, and at least WakeSlack from
//     now, when that comes first.
func Requeue(now time.Time, interval time.Duration, lastSweep, nextWake time.Time, sweeping bool) time.Duration {
	var after time.Duration
	if !sweeping {
		after = max(MinSweepWait, interval-now.Sub(lastSweep))
	}
	if !nextWake.IsZero() {
		after = Sooner(after, max(WakeSlack, nextWake.Sub(now)+WakeSlack))
	}
	return after
}

// Sooner returns the shorter of two waits, where zero means no wait is set.
func Sooner(a, b time.Duration) time.Duration {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

// Earliest returns the earlier of two times, where the zero time means none.
func Earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// FirstRetry is how soon after a sweep a control is swept again when subjects could not be
// evaluated for reasons of the moment (a deadline on a loaded machine, the memory guard);
// each further sweep that leaves such errors doubles the wait, up to the control's interval.
const FirstRetry = 30 * time.Second

// SweepInterval is the wait between a control's sweeps: its interval, or sooner while the
// latest sweeps (retries of them in a row) left subjects with transient errors. Without it a
// deadline missed under load would stand, as the subject's Error and its absence from its
// Finding, for a whole interval (10 minutes by default) unless the object changed.
func SweepInterval(interval time.Duration, transientErrors bool, retries int) time.Duration {
	if !transientErrors {
		return interval
	}
	wait := FirstRetry
	for range max(retries-1, 0) {
		if wait >= interval {
			break
		}
		wait *= 2
	}
	return min(wait, interval)
}
