// Package finding decides what a Finding records: its state, its timeline and the bounded list
// of failing subjects. It is a pure function of the previous record, the current evidence and
// the clock, so that every transition is covered by table tests without an API server.
package finding

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// Transition is a change of a Finding worth an Event.
type Transition string

const (
	NoTransition Transition = ""
	Opened       Transition = "Opened"
	Resolved     Transition = "Resolved"
	Reopened     Transition = "Reopened"
	// Acknowledged: an owner acknowledged the open Finding; Unacknowledged: the acknowledgement
	// was removed while subjects still fail.
	Acknowledged   Transition = "Acknowledged"
	Unacknowledged Transition = "Unacknowledged"
	// Overdue: the open Finding passed its due date.
	Overdue Transition = "Overdue"
)

// Subject is one failing subject with its policy messages.
type Subject struct {
	APIVersion string
	Kind       string
	Name       string
	UID        string
	Messages   []string
	// Exception names the ControlException that exempts the subject, for Evidence.Excepted.
	Exception string
}

// Evidence is what the latest evaluation says about one (Control, namespace), with what the
// Finding's owners said about it.
type Evidence struct {
	// Failing lists every failing subject, sorted; Decide keeps at most MaxFindingSubjects.
	Failing []Subject
	// ObservedAt is when the failure was last confirmed.
	ObservedAt   time.Time
	PolicyDigest string
	// Severity of the control, which sets the due date.
	Severity ismsv1.Severity
	// Acknowledgement is the Finding's spec.acknowledgement.
	Acknowledgement *ismsv1.FindingAcknowledgement
	// Excepted lists the failing subjects that active ControlExceptions exempt, sorted; they
	// do not keep the Finding open.
	Excepted []Subject
}

// Decision is what Decide makes of the evidence.
type Decision struct {
	Status ismsv1.FindingStatus
	// Transitions are the changes worth an Event, in order; the first, if any, is Opened,
	// Reopened or Resolved when the state changes that way.
	Transitions []Transition
	// Remediated is set when the Finding resolved because its subjects pass again, which took
	// TimeToRemediate.
	Remediated      bool
	TimeToRemediate time.Duration
}

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
		if budget -= encodedSize(fs); budget < 0 {
			if len(out) > 0 {
				break
			}
			// The first subject is always listed: with its first message only, cut to fit.
			fs.Messages = fs.Messages[:min(1, len(fs.Messages))]
			if len(fs.Messages) == 1 {
				fs.Messages[0] = policy.Truncate(fs.Messages[0], max(64, ismsv1.MaxFindingSubjectsBytes-encodedSize(ismsv1.FailingSubject{APIVersion: fs.APIVersion, Kind: fs.Kind, Name: fs.Name, UID: fs.UID})))
			}
		}
		out = append(out, fs)
	}
	return out
}

// boundedExcepted lists the first excepted subjects, at most MaxFindingSubjects and as many as
// fit in budget bytes; exceptedCount stays exact.
func boundedExcepted(excepted []Subject, budget int) []ismsv1.ExceptedSubject {
	if len(excepted) == 0 {
		return nil
	}
	out := make([]ismsv1.ExceptedSubject, 0, min(len(excepted), ismsv1.MaxFindingSubjects))
	for _, s := range excepted[:min(len(excepted), ismsv1.MaxFindingSubjects)] {
		budget -= len(`{"apiVersion":"","kind":"","name":"","exception":""},`) + len(s.APIVersion) + len(s.Kind) + len(s.Name) + len(s.Exception)
		if budget < 0 {
			break // exceptedCount stays exact; the failing subjects come first
		}
		out = append(out, ismsv1.ExceptedSubject{APIVersion: s.APIVersion, Kind: s.Kind, Name: s.Name, Exception: s.Exception})
	}
	return out
}

func listedSize(subjects []ismsv1.FailingSubject) int {
	n := 0
	for _, s := range subjects {
		n += encodedSize(s)
	}
	return n
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
	return policy.Truncate(msg, ismsv1.MaxFindingMessageLength)
}

// timeRef stores times at the API's one-second resolution, so that a status read back compares
// equal to the one written.
func timeRef(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t.Truncate(time.Second))
	return &mt
}
