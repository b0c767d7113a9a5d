// Package exception decides which failing subjects a ControlException exempts, when the
// exceptions of a control next change with time alone, and what an exception's status says. It
// is pure: the clock is an argument, so that expiry is covered by table tests.
package exception

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// Subject is a failing subject, as far as exceptions look at it.
type Subject struct {
	APIVersion string
	Kind       string
	Namespace  string // empty for cluster-scoped subjects
	Name       string
	Labels     map[string]string
}

// Active reports whether the exception exempts anything at now: until its expiresAt.
func Active(ex *ismsv1.ControlException, now time.Time) bool {
	return now.Before(ex.Spec.ExpiresAt.Time)
}

// Names reports whether the exception applies to the control.
func Names(ex *ismsv1.ControlException, control string) bool {
	return slices.Contains(ex.Spec.Controls, control)
}

// Set is the exceptions that apply to one control at one time, ready to match subjects.
type Set struct {
	items []compiled
}

type compiled struct {
	name       string
	namespaces []string
	selector   labels.Selector // nil: no label selection
	objects    []ismsv1.ExceptedObject
}

// NewSet keeps the exceptions that name control and are active at now, sorted by name so
// that a subject two exceptions exempt is attributed to the same one every time. An exception
// whose label selector is invalid exempts nothing (the API server validates the selector's
// shape, not every value).
func NewSet(exceptions []ismsv1.ControlException, control string, now time.Time) *Set {
	s := &Set{}
	for i := range exceptions {
		ex := &exceptions[i]
		if !Names(ex, control) || !Active(ex, now) {
			continue
		}
		c := compiled{name: ex.Name, namespaces: ex.Spec.Subjects.Namespaces, objects: ex.Spec.Subjects.Objects}
		if ls := ex.Spec.Subjects.LabelSelector; ls != nil {
			sel, err := metav1.LabelSelectorAsSelector(ls)
			if err != nil {
				continue
			}
			c.selector = sel
		}
		s.items = append(s.items, c)
	}
	slices.SortFunc(s.items, func(a, b compiled) int { return strings.Compare(a.name, b.name) })
	return s
}

// Empty reports whether no exception applies.
func (s *Set) Empty() bool { return s == nil || len(s.items) == 0 }

// Names lists the exceptions in the set.
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	out := make([]string, len(s.items))
	for i, c := range s.items {
		out[i] = c.name
	}
	return out
}

// Match returns the name of the first exception that exempts the subject.
func (s *Set) Match(subj Subject) (string, bool) {
	if s == nil {
		return "", false
	}
	for _, c := range s.items {
		if c.matches(subj) {
			return c.name, true
		}
	}
	return "", false
}

// matches: the subject satisfies every selection that is set. An exception with no selection
// at all (which the API server rejects) matches nothing.
func (c compiled) matches(subj Subject) bool {
	if len(c.namespaces) == 0 && c.selector == nil && len(c.objects) == 0 {
		return false
	}
	if len(c.namespaces) > 0 && !slices.Contains(c.namespaces, subj.Namespace) {
		return false
	}
	if c.selector != nil && !c.selector.Matches(labels.Set(subj.Labels)) {
		return false
	}
	if len(c.objects) > 0 && !slices.ContainsFunc(c.objects, func(o ismsv1.ExceptedObject) bool {
		return o.Kind == subj.Kind && o.Name == subj.Name &&
			(o.Namespace == "" || o.Namespace == subj.Namespace) &&
			(o.APIVersion == "" || o.APIVersion == subj.APIVersion)
	}) {
		return false
	}
	return true
}

// NextExpiry is the earliest expiresAt after now among the exceptions that name control; zero
// if none is ahead.
func NextExpiry(exceptions []ismsv1.ControlException, control string, now time.Time) time.Time {
	var first time.Time
	for i := range exceptions {
		ex := &exceptions[i]
		if !Names(ex, control) || !Active(ex, now) {
			continue
		}
		if t := ex.Spec.ExpiresAt.Time; first.IsZero() || t.Before(first) {
			first = t
		}
	}
	return first
}

// Transition is a change of an exception's phase worth an Event.
type Transition string

const (
	NoTransition Transition = ""
	Activated    Transition = "Activated"
	Expired      Transition = "Expired"
)

// NextStatus returns the status the exception should have at now, with matched the number of
// failing subjects it exempts, and the transition of its phase.
func NextStatus(ex *ismsv1.ControlException, matched int, now time.Time) (ismsv1.ControlExceptionStatus, Transition) {
	st := *ex.Status.DeepCopy()
	st.ObservedGeneration = ex.Generation
	st.MatchedSubjects = int32(matched)
	prev := st.Phase
	cond := metav1.Condition{
		Type:               ismsv1.ExceptionConditionActive,
		ObservedGeneration: ex.Generation,
		LastTransitionTime: metav1.NewTime(now.Truncate(time.Second)),
	}
	if Active(ex, now) {
		st.Phase = ismsv1.ExceptionActive
		cond.Status, cond.Reason = metav1.ConditionTrue, ismsv1.ReasonExceptionApproved
		cond.Message = fmt.Sprintf("Approved by %s; expires at %s.", ex.Spec.ApprovedBy, ex.Spec.ExpiresAt.UTC().Format(time.RFC3339))
	} else {
		st.Phase = ismsv1.ExceptionExpired
		st.MatchedSubjects = 0
		cond.Status, cond.Reason = metav1.ConditionFalse, ismsv1.ReasonExceptionExpired
		cond.Message = fmt.Sprintf("Expired at %s: the subjects it exempted count as failing again.", ex.Spec.ExpiresAt.UTC().Format(time.RFC3339))
	}
	meta.SetStatusCondition(&st.Conditions, cond)
	switch {
	case prev == st.Phase:
		return st, NoTransition
	case st.Phase == ismsv1.ExceptionExpired:
		return st, Expired
	default:
		return st, Activated
	}
}
