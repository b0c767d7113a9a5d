package evaluation

import (
	"errors"
	"time"
)

// Budgets: what one Control may cost the others.
//
// Events of a kind are evaluated one after another, for every control that targets the kind,
// by the watch's handler; a sweep evaluates all its controls in one pass over the subjects. A
// policy that runs to its deadline on every object would, unchecked, hold up the events of
// every other control on the same kind, and make the sweep it is in last deadline × subjects.
// Two budgets stop that:
//
//   - The event budget, a token bucket of evaluation time per control: each event evaluation
//     spends what it took, the bucket refills at EventBudgetRate, and a control whose bucket
//     is empty is not evaluated on events until it refills; the subjects it skipped are
//     evaluated by its next sweep (Summary.EventsDeferred says so). An evaluation that runs to
//     its deadline leaves the bucket a burst below empty, so a runaway policy costs the events of the
//     other controls one deadline every EventBudgetBurst/EventBudgetRate, not one per event.
//   - The sweep budget, a total of evaluation time per control per sweep
//     (Evaluator.SetSweepBudget): once spent, the control's remaining subjects are recorded as
//     errors (ErrSweepBudget) and the next sweep tries them again. The sweep's other controls
//     go on.
const (
	// EventBudgetBurst is the evaluation time a control may spend on events at once.
	EventBudgetBurst = 2 * time.Second
	// EventBudgetRate is the share of one CPU a control's event evaluations may use over time.
	EventBudgetRate = 0.2
	// DefaultSweepBudget is each control's evaluation time per sweep, unless set otherwise:
	// about ten times what a library policy takes over 100k objects on a slow machine.
	DefaultSweepBudget = time.Minute
)

// ErrSweepBudget is the error of the subjects a sweep did not evaluate because their control
// had spent its sweep budget.
var ErrSweepBudget = errors.New("not evaluated: the control spent its sweep budget on the subjects before this one; the next sweep tries again")

// eventBudget is a control's token bucket of event evaluation time. The zero value is full.
type eventBudget struct {
	// debt is the time spent beyond the burst allowance: the bucket holds EventBudgetBurst -
	// debt, so that the zero value is a full bucket.
	debt time.Duration
	at   time.Time
}

// allows refills the bucket to now and reports whether an event may evaluate the control.
func (b *eventBudget) allows(now time.Time) bool {
	b.refill(now)
	return b.debt < EventBudgetBurst
}

// spend takes an evaluation's time from the bucket. One that ran to its deadline leaves the
// bucket a whole burst below empty: events skip the control for EventBudgetBurst /
// EventBudgetRate, whatever the deadline.
func (b *eventBudget) spend(now time.Time, took time.Duration, timedOut bool) {
	b.refill(now)
	b.debt += took
	if timedOut {
		b.debt = max(b.debt, 2*EventBudgetBurst)
	}
}

func (b *eventBudget) refill(now time.Time) {
	if !b.at.IsZero() && now.After(b.at) {
		b.debt -= time.Duration(float64(now.Sub(b.at)) * EventBudgetRate)
		b.debt = max(b.debt, 0)
	}
	if now.After(b.at) {
		b.at = now
	}
}
