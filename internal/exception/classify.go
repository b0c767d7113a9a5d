package exception

import (
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/finding"
)

// Excepted is a failing subject that an exception exempts.
type Excepted struct {
	evaluation.SubjectResult
	// Exception names the ControlException that exempts it.
	Exception string
}

// Split is the failing subjects of one (control, namespace), divided by the exceptions that
// apply to the control.
type Split struct {
	// Failing still fail: they keep the namespace's Finding open and the control failing.
	Failing []evaluation.SubjectResult
	// Excepted are exempted, each by the first exception (by name) of the set that matches it.
	Excepted []Excepted
}

// Classify divides failing subjects, keeping their order, into those that still fail and those
// an exception of set exempts. It is where the operator and kubectl isms eval alike decide
// which failures count; with no exception it returns failures as they are, without a copy.
func Classify(failures []evaluation.SubjectResult, set *Set) Split {
	if set.Empty() {
		return Split{Failing: failures}
	}
	var s Split
	for _, res := range failures {
		if name, ok := set.Match(subjectOf(res.Subject)); ok {
			s.Excepted = append(s.Excepted, Excepted{SubjectResult: res, Exception: name})
			continue
		}
		s.Failing = append(s.Failing, res)
	}
	return s
}

// FindingSubjects converts the split into the evidence of a Finding: the failing subjects and
// the excepted ones, with the exception that exempts each.
func (s Split) FindingSubjects() (failing, excepted []finding.Subject) {
	failing = make([]finding.Subject, 0, len(s.Failing))
	for _, res := range s.Failing {
		failing = append(failing, findingSubject(res))
	}
	for _, ex := range s.Excepted {
		fs := findingSubject(ex.SubjectResult)
		fs.Exception = ex.Exception
		excepted = append(excepted, fs)
	}
	return failing, excepted
}

func findingSubject(res evaluation.SubjectResult) finding.Subject {
	s := finding.Subject{
		APIVersion: res.Subject.APIVersion,
		Kind:       res.Subject.Kind,
		Name:       res.Subject.Name,
		UID:        string(res.Subject.UID),
	}
	for _, v := range res.Violations {
		s.Messages = append(s.Messages, v.Message)
	}
	return s
}

func subjectOf(ref evaluation.SubjectRef) Subject {
	return Subject{APIVersion: ref.APIVersion, Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name, Labels: ref.Labels}
}

// Counts is how many failing subjects each exception exempts, by exception name.
type Counts map[string]int

// Total is how many subjects are exempted in all.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// ApplyToSummary adjusts a control's summary for the exceptions of set: an excepted subject
// does not count as failing, and a namespace whose failures are all excepted has no open
// Finding. failures returns the failing subjects of a namespace of sum.FailingNamespaces; it is
// called only when set is not empty. The counts are per exception, empty when none applies.
func ApplyToSummary(sum evaluation.Summary, set *Set, failures func(ns string) []evaluation.SubjectResult) (evaluation.Summary, Counts) {
	counts := Counts{}
	if set.Empty() {
		return sum, counts
	}
	var stillFailing []string
	for _, ns := range sum.FailingNamespaces {
		split := Classify(failures(ns), set)
		for _, ex := range split.Excepted {
			counts[ex.Exception]++
		}
		if len(split.Failing) > 0 {
			stillFailing = append(stillFailing, ns)
		}
	}
	sum.Failing -= counts.Total()
	sum.FailingNamespaces = stillFailing
	return sum, counts
}
