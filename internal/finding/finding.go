// Package finding decides what a Finding records: its state, its timeline and the bounded list
// of failing subjects. It is a pure function of the previous record, the current evidence and
// the clock, so that every transition is covered by table tests without an API server.
package finding

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// Transition is a change of a Finding's state worth an Event.
type Transition string

const (
	NoTransition Transition = ""
	Opened       Transition = "Opened"
	Resolved     Transition = "Resolved"
	Reopened     Transition = "Reopened"
)

// Subject is one failing subject with its policy messages.
type Subject struct {
	APIVersion string
	Kind       string
	Name       string
	UID        string
	Messages   []string
}

// Evidence is what the latest evaluation says about one (Control, namespace).
type Evidence struct {
	// Failing lists every failing subject, sorted; Next keeps at most MaxFindingSubjects.
	Failing []Subject
	// ObservedAt is when the failure was last confirmed.
	ObservedAt   time.Time
	PolicyDigest string
}

// Next returns the Finding status that the evidence calls for, and the transition from prev.
// A Finding that has never been opened and has no failing subjects stays empty: callers create
// Findings only when Next reports Opened.
func Next(prev ismsv1.FindingStatus, ev Evidence, now time.Time) (ismsv1.FindingStatus, Transition) {
	next := *prev.DeepCopy()
	if len(ev.Failing) == 0 {
		if prev.State != ismsv1.FindingOpen {
			return next, NoTransition
		}
		next.State = ismsv1.FindingResolved
		next.ResolvedAt = timeRef(now)
		next.Subjects, next.SubjectCount = nil, 0
		next.Message = "Every subject that failed passes again or is gone."
		return next, Resolved
	}

	tr := NoTransition
	switch prev.State {
	case "":
		tr = Opened
		next.FirstSeen = timeRef(ev.ObservedAt)
	case ismsv1.FindingResolved:
		tr = Reopened
		next.ReopenCount++
		next.ResolvedAt = nil
	}
	next.State = ismsv1.FindingOpen
	next.SubjectCount = int32(len(ev.Failing))
	next.Subjects = boundedSubjects(ev.Failing)
	next.PolicyDigest = ev.PolicyDigest
	next.Message = summary(ev.Failing)
	// lastSeen moves with every confirmation of the failure; writing it each time would make
	// every change of a failing object a Finding write. It moves when anything else in the
	// Finding changes, and otherwise at most once per LastSeenResolution.
	contentChanged := tr != NoTransition || !equality.Semantic.DeepEqual(prev.Subjects, next.Subjects) ||
		prev.SubjectCount != next.SubjectCount || prev.PolicyDigest != next.PolicyDigest
	observed := ev.ObservedAt.Truncate(time.Second)
	if next.LastSeen == nil || (observed.After(next.LastSeen.Time) &&
		(contentChanged || observed.Sub(next.LastSeen.Time) >= LastSeenResolution)) {
		next.LastSeen = timeRef(ev.ObservedAt)
	}
	return next, tr
}

// LastSeenResolution is how stale a Finding's lastSeen may be while nothing else in it changes.
const LastSeenResolution = time.Minute

// boundedSubjects lists the first subjects, at most MaxFindingSubjects of them and as many as
// fit in MaxFindingSubjectsBytes, so that a Finding stays small in etcd. The first subject is
// always listed.
func boundedSubjects(failing []Subject) []ismsv1.FailingSubject {
	n := min(len(failing), ismsv1.MaxFindingSubjects)
	out := make([]ismsv1.FailingSubject, 0, n)
	budget := ismsv1.MaxFindingSubjectsBytes
	for _, s := range failing[:n] {
		fs := ismsv1.FailingSubject{APIVersion: s.APIVersion, Kind: s.Kind, Name: s.Name, UID: s.UID}
		for _, m := range s.Messages[:min(len(s.Messages), ismsv1.MaxSubjectMessages)] {
			fs.Messages = append(fs.Messages, policy.Truncate(m, ismsv1.MaxMessageLength))
		}
		if budget -= encodedSize(fs); budget < 0 && len(out) > 0 {
			break
		}
		out = append(out, fs)
	}
	return out
}

// encodedSize is the size of a subject in the Finding's JSON, near enough for a budget: its
// strings plus the keys and punctuation around them.
func encodedSize(s ismsv1.FailingSubject) int {
	const keys = len(`{"apiVersion":"","kind":"","name":"","uid":"","messages":[]},`)
	n := keys + len(s.APIVersion) + len(s.Kind) + len(s.Name) + len(s.UID)
	for _, m := range s.Messages {
		n += len(m) + 3 // quotes and comma; escapes are rare enough to ignore
	}
	return n
}

func summary(failing []Subject) string {
	first := failing[0]
	msg := fmt.Sprintf("%d subject(s) fail; first: %s %s", len(failing), first.Kind, first.Name)
	if len(first.Messages) > 0 {
		msg += ": " + first.Messages[0]
	}
	return policy.Truncate(msg, 1024)
}

// timeRef stores times at the API's one-second resolution, so that a status read back compares
// equal to the one written.
func timeRef(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t.Truncate(time.Second))
	return &mt
}
