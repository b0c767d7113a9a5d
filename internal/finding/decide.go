package finding

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// Decide returns the Finding status that the evidence calls for under wf, and the transitions
// from prev. A Finding that has never been opened and has no failing subjects stays empty:
// callers create Findings only when Decide reports Opened.
//
// Decide runs decideSteps in order over one decision in progress. Each step is a rule about
// one part of the status; a step that completes the decision stops the chain.
func Decide(prev ismsv1.FindingStatus, ev Evidence, wf Workflow, now time.Time) Decision {
	d := newDecision(prev, ev, wf, now)
	for _, step := range decideSteps {
		if step(&d) {
			break
		}
	}
	return d.result()
}

// step is one rule of Decide: it reads the decision so far and writes its part of it. It
// returns true when the decision is complete and the steps after it must not run.
type step func(d *decision) (complete bool)

// decideSteps are Decide's rules, in the order they apply.
var decideSteps = [...]step{
	recordExcepted, // exceptedCount and exceptedSubjects
	resolve,        // nothing fails: an open Finding resolves, any other stays; complete
	openOrReopen,   // Opened or Reopened: firstSeen, openedAt, reopenCount
	scheduleDue,    // dueAt, from openedAt and the severity's due period
	acknowledge,    // Open or Acknowledged, with the history of either
	markOverdue,    // the Overdue condition, and the Overdue transition
	listSubjects,   // subjects, subjectCount, policyDigest, message
	moveLastSeen,   // lastSeen, at most once per LastSeenResolution
}

// decision is a Decision in the making: what Decide was given, the status so far, and what a
// step tells the steps after it.
type decision struct {
	prev ismsv1.FindingStatus
	ev   Evidence
	wf   Workflow
	now  time.Time
	// listed is what the Finding lists of ev.Failing (boundedSubjects).
	listed []ismsv1.FailingSubject

	next            ismsv1.FindingStatus
	transitions     []Transition
	remediated      bool
	timeToRemediate time.Duration
	// opening is set when the Finding opens or reopens in this decision.
	opening bool
}

// newDecision starts a decision from a copy of prev, which Decide never modifies.
func newDecision(prev ismsv1.FindingStatus, ev Evidence, wf Workflow, now time.Time) decision {
	return decision{prev: prev, ev: ev, wf: wf, now: now, listed: boundedSubjects(ev.Failing), next: *prev.DeepCopy()}
}

func (d *decision) result() Decision {
	return Decision{Status: d.next, Transitions: d.transitions, Remediated: d.remediated, TimeToRemediate: d.timeToRemediate}
}

// recordExcepted records the excepted subjects of a Finding that exists or opens now: they get
// what the failing subjects leave of the shared budget, and exceptedCount stays exact.
func recordExcepted(d *decision) bool {
	if d.prev.State == "" && len(d.ev.Failing) == 0 {
		return false
	}
	d.next.ExceptedCount = int32(len(d.ev.Excepted))
	d.next.ExceptedSubjects = boundedExcepted(d.ev.Excepted, ismsv1.MaxFindingSubjectsBytes-listedSize(d.listed))
	return false
}

// resolve decides a Finding that has no failing subjects: an open one resolves, any other
// (never opened, or resolved already) stays as it is.
func resolve(d *decision) bool {
	if len(d.ev.Failing) > 0 {
		return false
	}
	if !d.prev.State.IsOpen() {
		return true
	}
	next := &d.next
	next.State = ismsv1.FindingResolved
	next.ResolvedAt = timeRef(d.now)
	next.Subjects, next.SubjectCount = nil, 0
	reason := d.recordResolution()
	next.ResolvedAcknowledgement = d.ev.Acknowledgement.DeepCopy()
	next.DueAt = nil
	setOverdue(next, metav1.ConditionFalse, "Resolved", "The Finding is resolved.", d.now)
	next.History = appendHistory(next.History, d.now, ismsv1.FindingResolved, reason)
	d.transitions = []Transition{Resolved}
	return true
}

// recordResolution sets the message of a Finding that resolves and, when its subjects pass
// again, the remediation and the time it took. It returns the reason for the history.
func (d *decision) recordResolution() string {
	if ex := d.ev.Excepted; len(ex) > 0 {
		// Not a remediation: the subjects still fail, and the Finding reopens when the
		// exception expires.
		d.next.Message = fmt.Sprintf("Every failing subject is excepted (%d); first by ControlException %s.", len(ex), ex[0].Exception)
		return "Excepted by ControlException " + ex[0].Exception
	}
	d.next.Message = "Every subject that failed passes again or is gone."
	d.next.Remediations++
	d.remediated = true
	if opened := openedAt(d.prev); opened != nil {
		d.timeToRemediate = max(0, d.next.ResolvedAt.Sub(opened.Time))
		d.next.LastTimeToRemediate = &metav1.Duration{Duration: d.timeToRemediate}
	}
	return "Subjects pass again or are gone"
}

// openOrReopen opens a Finding that has never been open, and reopens a resolved one; an open
// Finding stays open.
func openOrReopen(d *decision) bool {
	switch d.prev.State {
	case "":
		d.transitions = append(d.transitions, Opened)
		d.next.FirstSeen = timeRef(d.ev.ObservedAt)
	case ismsv1.FindingResolved:
		d.transitions = append(d.transitions, Reopened)
		d.next.ReopenCount++
		d.next.ResolvedAt = nil
	default:
		return false
	}
	d.opening = true
	d.next.OpenedAt = timeRef(d.now)
	return false
}

// scheduleDue sets the due date of a Finding that opens now, or that was written before
// openedAt existed: the severity's due period after it opened, none for a severity without
// one. An open Finding keeps its due date.
func scheduleDue(d *decision) bool {
	if !d.opening && d.next.OpenedAt != nil {
		return false
	}
	d.next.OpenedAt = openedAt(d.next)
	d.next.DueAt = nil
	if opened := d.next.OpenedAt; opened != nil {
		if period, ok := d.wf.DuePeriod(d.ev.Severity); ok {
			d.next.DueAt = timeRef(opened.Add(period))
		}
	}
	return false
}

// acknowledge sets the state of an open Finding, Open or Acknowledged, and records either in
// the history. An acknowledgement left over from before the Finding last resolved does not
// acknowledge it again, unless its planned fix date is still ahead; any edit of it does.
func acknowledge(d *decision) bool {
	ack, next := d.ev.Acknowledgement, &d.next
	if ack == nil || !equality.Semantic.DeepEqual(ack, d.prev.ResolvedAcknowledgement) {
		next.ResolvedAcknowledgement = nil
	}
	acknowledged := ack != nil && (next.ResolvedAcknowledgement == nil ||
		(ack.PlannedFixDate != nil && ack.PlannedFixDate.After(d.now)))
	next.State = ismsv1.FindingOpen
	if acknowledged {
		next.State = ismsv1.FindingAcknowledged
	}
	switch {
	case d.opening:
		reason := "Subjects fail"
		if d.prev.State == ismsv1.FindingResolved {
			reason = "Subjects fail again"
		}
		next.History = appendHistory(next.History, d.now, ismsv1.FindingOpen, reason)
		if acknowledged {
			next.History = appendHistory(next.History, d.now, ismsv1.FindingAcknowledged, ackReason(ack))
		}
	case next.State != d.prev.State && acknowledged:
		d.transitions = append(d.transitions, Acknowledged)
		next.History = appendHistory(next.History, d.now, next.State, ackReason(ack))
	case next.State != d.prev.State:
		d.transitions = append(d.transitions, Unacknowledged)
		next.History = appendHistory(next.History, d.now, next.State, "Acknowledgement removed")
	}
	return false
}

// markOverdue sets the Overdue condition of an open Finding. It becomes overdue, a transition,
// once when it passes its due date, and again when it reopens past it.
func markOverdue(d *decision) bool {
	next := &d.next
	switch {
	case next.DueAt == nil:
		setOverdue(next, metav1.ConditionFalse, "NoDueDate", "Findings of severity info have no due date.", d.now)
	case !d.now.Before(next.DueAt.Time):
		if c := meta.FindStatusCondition(d.prev.Conditions, ismsv1.FindingConditionOverdue); c == nil || c.Status != metav1.ConditionTrue || d.opening {
			d.transitions = append(d.transitions, Overdue)
		}
		setOverdue(next, metav1.ConditionTrue, "PastDue", "Subjects still fail after the due date "+next.DueAt.UTC().Format(time.RFC3339)+".", d.now)
	default:
		setOverdue(next, metav1.ConditionFalse, "WithinDue", "Due at "+next.DueAt.UTC().Format(time.RFC3339)+".", d.now)
	}
	return false
}

// listSubjects records what fails: the bounded list, the exact count, the policy that judged
// and a summary message.
func listSubjects(d *decision) bool {
	d.next.SubjectCount = int32(len(d.ev.Failing))
	d.next.Subjects = d.listed
	d.next.PolicyDigest = d.ev.PolicyDigest
	d.next.Message = summary(d.ev.Failing)
	return false
}

// LastSeenResolution is how stale a Finding's lastSeen may be while nothing else in it changes.
// An hour, longer than the default sweep interval (10m): otherwise every sweep rewrites every
// open Finding only to move lastSeen, which at a thousand open Findings is a thousand etcd
// writes per interval, and in a sweep of 50 controls took as much CPU (in kube-apiserver and
// etcd) as a third of the evaluations. When the evidence was last checked is the Control's
// status.lastSweep.
const LastSeenResolution = time.Hour

// moveLastSeen moves lastSeen to the latest confirmation of the failure. Writing it each time
// would make every change of a failing object a Finding write: it moves when anything else in
// the Finding changes, and otherwise at most once per LastSeenResolution.
func moveLastSeen(d *decision) bool {
	prev, next := &d.prev, &d.next
	contentChanged := len(d.transitions) > 0 || !equality.Semantic.DeepEqual(prev.Subjects, next.Subjects) ||
		prev.SubjectCount != next.SubjectCount || prev.PolicyDigest != next.PolicyDigest
	observed := d.ev.ObservedAt.Truncate(time.Second)
	if next.LastSeen == nil || (observed.After(next.LastSeen.Time) &&
		(contentChanged || observed.Sub(next.LastSeen.Time) >= LastSeenResolution)) {
		next.LastSeen = timeRef(d.ev.ObservedAt)
	}
	return false
}
