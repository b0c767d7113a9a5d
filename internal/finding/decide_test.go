package finding

import (
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// The tests below run one of Decide's steps on its own, from the decision newDecision starts;
// opening stands for what openOrReopen tells the steps after it.

type stepCase struct {
	prev    ismsv1.FindingStatus
	ev      Evidence
	now     time.Time
	opening bool
}

func runStep(s step, tc stepCase) (decision, bool) {
	d := newDecision(tc.prev, tc.ev, DefaultWorkflow(), tc.now)
	d.opening = tc.opening
	complete := s(&d)
	return d, complete
}

var (
	day      = 24 * time.Hour
	webFails = []Subject{deployment("ns", "web", "privileged")}
	ackAlice = &ismsv1.FindingAcknowledgement{By: "alice"}
)

func excepted(name, exception string) Subject {
	s := deployment("ns", name)
	s.Exception = exception
	return s
}

func openSince(at time.Time) ismsv1.FindingStatus {
	return ismsv1.FindingStatus{State: ismsv1.FindingOpen, FirstSeen: mt(at), OpenedAt: mt(at), LastSeen: mt(at),
		SubjectCount: 1, Subjects: []ismsv1.FailingSubject{failingSubject("ns", "web", "privileged")}}
}

func withState(s ismsv1.FindingStatus, state ismsv1.FindingState) ismsv1.FindingStatus {
	s.State = state
	return s
}

func TestRecordExcepted(t *testing.T) {
	many := manySubjects(200)
	for i := range many {
		many[i].Messages = []string{strings.Repeat("m", 200)}
	}
	tests := map[string]struct {
		stepCase
		wantCount, wantListed int
	}{
		"never opened, nothing fails: not recorded": {
			stepCase: stepCase{ev: Evidence{Excepted: []Subject{excepted("a", "x")}}}},
		"opens: recorded": {
			stepCase:  stepCase{ev: Evidence{Failing: webFails, Excepted: []Subject{excepted("a", "x"), excepted("b", "x")}}},
			wantCount: 2, wantListed: 2},
		"open, nothing fails but excepted subjects: recorded": {
			stepCase:  stepCase{prev: openSince(t0), ev: Evidence{Excepted: []Subject{excepted("a", "x")}}},
			wantCount: 1, wantListed: 1},
		"failing subjects take the budget first; the count stays exact": {
			stepCase:  stepCase{prev: openSince(t0), ev: Evidence{Failing: many, Excepted: []Subject{excepted("a", "x")}}},
			wantCount: 1, wantListed: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d, complete := runStep(recordExcepted, tc.stepCase)
			if complete || int(d.next.ExceptedCount) != tc.wantCount || len(d.next.ExceptedSubjects) != tc.wantListed {
				t.Errorf("complete %v, exceptedCount %d, listed %d; want false, %d, %d",
					complete, d.next.ExceptedCount, len(d.next.ExceptedSubjects), tc.wantCount, tc.wantListed)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	resolved := ismsv1.FindingStatus{State: ismsv1.FindingResolved, FirstSeen: mt(t0), ResolvedAt: mt(t1)}
	tests := map[string]struct {
		stepCase
		wantComplete   bool
		wantResolved   bool // state Resolved at now, with the Resolved transition
		wantRemediated time.Duration
		wantReason     string // of the history entry
	}{
		"subjects fail: not decided here": {stepCase: stepCase{prev: openSince(t0), ev: Evidence{Failing: webFails}, now: t1}},
		"never opened, nothing fails":     {stepCase: stepCase{now: t1}, wantComplete: true},
		"resolved, nothing fails: stays":  {stepCase: stepCase{prev: resolved, now: t2}, wantComplete: true},
		"open, subjects pass: remediated": {stepCase: stepCase{prev: openSince(t0), now: t0.Add(3 * day)}, wantComplete: true, wantResolved: true, wantRemediated: 3 * day, wantReason: "Subjects pass again or are gone"},
		"open, subjects excepted: not remediated": {
			stepCase:     stepCase{prev: openSince(t0), ev: Evidence{Excepted: []Subject{excepted("web", "vendor")}}, now: t1},
			wantComplete: true, wantResolved: true, wantReason: "Excepted by ControlException vendor"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d, complete := runStep(resolve, tc.stepCase)
			if complete != tc.wantComplete {
				t.Errorf("complete = %v, want %v", complete, tc.wantComplete)
			}
			if !tc.wantResolved {
				if d.next.State != tc.prev.State || d.transitions != nil {
					t.Errorf("state %s, transitions %v; want %s unchanged, none", d.next.State, d.transitions, tc.prev.State)
				}
				return
			}
			s := d.next
			if s.State != ismsv1.FindingResolved || !s.ResolvedAt.Time.Equal(tc.now) || !slices.Equal(d.transitions, []Transition{Resolved}) {
				t.Errorf("state %s resolvedAt %v transitions %v; want Resolved at %v", s.State, s.ResolvedAt, d.transitions, tc.now)
			}
			if s.Subjects != nil || s.SubjectCount != 0 || s.DueAt != nil || overdue(s) != metav1.ConditionFalse {
				t.Errorf("subjects %v count %d dueAt %v overdue %q; want none, 0, none, False", s.Subjects, s.SubjectCount, s.DueAt, overdue(s))
			}
			if remediated := tc.wantRemediated > 0; d.remediated != remediated || d.timeToRemediate != tc.wantRemediated || int(s.Remediations) != map[bool]int{true: 1}[remediated] {
				t.Errorf("remediated %v after %v (%d remediations); want %v after %v", d.remediated, d.timeToRemediate, s.Remediations, remediated, tc.wantRemediated)
			}
			if last := s.History[len(s.History)-1]; last.Reason != tc.wantReason {
				t.Errorf("history reason = %q, want %q", last.Reason, tc.wantReason)
			}
		})
	}
}

func TestOpenOrReopen(t *testing.T) {
	resolved := ismsv1.FindingStatus{State: ismsv1.FindingResolved, FirstSeen: mt(t0), OpenedAt: mt(t0), ResolvedAt: mt(t1), ReopenCount: 1}
	tests := map[string]struct {
		stepCase
		want        []Transition
		wantFirst   time.Time
		wantReopens int32
	}{
		"never opened: opens, first seen when observed": {
			stepCase: stepCase{ev: Evidence{Failing: webFails, ObservedAt: t1.Add(300 * time.Millisecond)}, now: t2},
			want:     []Transition{Opened}, wantFirst: t1},
		"resolved: reopens": {
			stepCase: stepCase{prev: resolved, ev: Evidence{Failing: webFails, ObservedAt: t2}, now: t2},
			want:     []Transition{Reopened}, wantFirst: t0, wantReopens: 2},
		"open: stays open": {
			stepCase:  stepCase{prev: openSince(t0), ev: Evidence{Failing: webFails, ObservedAt: t2}, now: t2},
			wantFirst: t0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d, complete := runStep(openOrReopen, tc.stepCase)
			opens := len(tc.want) > 0
			wantOpened := t0
			if opens {
				wantOpened = tc.now
			}
			if complete || !slices.Equal(d.transitions, tc.want) || d.opening != opens {
				t.Errorf("complete %v transitions %v opening %v; want false, %v, %v", complete, d.transitions, d.opening, tc.want, opens)
			}
			if s := d.next; !s.FirstSeen.Time.Equal(tc.wantFirst) || !s.OpenedAt.Time.Equal(wantOpened) || s.ResolvedAt != nil || s.ReopenCount != tc.wantReopens {
				t.Errorf("firstSeen %v openedAt %v resolvedAt %v reopenCount %d; want %v, %v, none, %d",
					s.FirstSeen, s.OpenedAt, s.ResolvedAt, s.ReopenCount, tc.wantFirst, wantOpened, tc.wantReopens)
			}
		})
	}
}

func TestScheduleDue(t *testing.T) {
	legacy := openSince(t0)
	legacy.OpenedAt = nil
	scheduled := openSince(t0)
	scheduled.DueAt = mt(t0.Add(time.Hour))
	tests := map[string]struct {
		stepCase
		wantDue time.Time // zero: none
	}{
		"opens, high: due in 30 days": {
			stepCase: stepCase{prev: openSince(t1), ev: Evidence{Severity: ismsv1.SeverityHigh}, opening: true},
			wantDue:  t1.Add(30 * day)},
		"opens, info: no due date": {
			stepCase: stepCase{prev: openSince(t1), ev: Evidence{Severity: ismsv1.SeverityInfo}, opening: true}},
		"open: keeps its due date, whatever the severity now": {
			stepCase: stepCase{prev: scheduled, ev: Evidence{Severity: ismsv1.SeverityCritical}},
			wantDue:  t0.Add(time.Hour)},
		"written before openedAt: due from firstSeen": {
			stepCase: stepCase{prev: legacy, ev: Evidence{Severity: ismsv1.SeverityCritical}},
			wantDue:  t0.Add(7 * day)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d, complete := runStep(scheduleDue, tc.stepCase)
			s := d.next
			if complete || s.OpenedAt == nil {
				t.Fatalf("complete %v, openedAt %v; want false, set", complete, s.OpenedAt)
			}
			switch {
			case tc.wantDue.IsZero() && s.DueAt != nil:
				t.Errorf("dueAt = %v, want none", s.DueAt)
			case !tc.wantDue.IsZero() && (s.DueAt == nil || !s.DueAt.Time.Equal(tc.wantDue)):
				t.Errorf("dueAt = %v, want %v", s.DueAt, tc.wantDue)
			}
		})
	}
}

func TestAcknowledge(t *testing.T) {
	planned := &ismsv1.FindingAcknowledgement{By: "alice", PlannedFixDate: mt(t0.Add(10 * day))}
	reopened := func(left *ismsv1.FindingAcknowledgement) ismsv1.FindingStatus {
		s := withState(openSince(t0), ismsv1.FindingResolved)
		s.ResolvedAcknowledgement = left
		return s
	}
	tests := map[string]struct {
		stepCase
		want        ismsv1.FindingState
		wantTr      []Transition
		wantHistory []string // reasons added
	}{
		"opens unacknowledged": {
			stepCase: stepCase{opening: true, now: t1},
			want:     ismsv1.FindingOpen, wantHistory: []string{"Subjects fail"}},
		"reopens with a new acknowledgement": {
			stepCase: stepCase{prev: reopened(nil), ev: Evidence{Acknowledgement: ackAlice}, opening: true, now: t1},
			want:     ismsv1.FindingAcknowledged, wantHistory: []string{"Subjects fail again", "Acknowledged by alice"}},
		"reopens: the acknowledgement left from before does not count": {
			stepCase: stepCase{prev: reopened(ackAlice), ev: Evidence{Acknowledgement: ackAlice}, opening: true, now: t1},
			want:     ismsv1.FindingOpen, wantHistory: []string{"Subjects fail again"}},
		"reopens: one left from before counts while its fix date is ahead": {
			stepCase: stepCase{prev: reopened(planned), ev: Evidence{Acknowledgement: planned}, opening: true, now: t1},
			want:     ismsv1.FindingAcknowledged, wantHistory: []string{"Subjects fail again", "Acknowledged by alice, fix planned by 2025-03-11"}},
		"open, acknowledged now": {
			stepCase: stepCase{prev: openSince(t0), ev: Evidence{Acknowledgement: ackAlice}, now: t1},
			want:     ismsv1.FindingAcknowledged, wantTr: []Transition{Acknowledged}, wantHistory: []string{"Acknowledged by alice"}},
		"acknowledgement removed": {
			stepCase: stepCase{prev: withState(openSince(t0), ismsv1.FindingAcknowledged), now: t1},
			want:     ismsv1.FindingOpen, wantTr: []Transition{Unacknowledged}, wantHistory: []string{"Acknowledgement removed"}},
		"stays acknowledged": {
			stepCase: stepCase{prev: withState(openSince(t0), ismsv1.FindingAcknowledged), ev: Evidence{Acknowledgement: ackAlice}, now: t1},
			want:     ismsv1.FindingAcknowledged},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d, complete := runStep(acknowledge, tc.stepCase)
			var added []string
			for _, h := range d.next.History[len(tc.prev.History):] {
				added = append(added, h.Reason)
			}
			if complete || d.next.State != tc.want || !slices.Equal(d.transitions, tc.wantTr) || !slices.Equal(added, tc.wantHistory) {
				t.Errorf("complete %v state %s transitions %v history %q; want false, %s, %v, %q",
					complete, d.next.State, d.transitions, added, tc.want, tc.wantTr, tc.wantHistory)
			}
		})
	}
}

func TestMarkOverdue(t *testing.T) {
	due := func(at time.Time, overdue bool) ismsv1.FindingStatus {
		s := openSince(t0)
		s.DueAt = mt(at)
		if overdue {
			setOverdue(&s, metav1.ConditionTrue, "PastDue", "", t0)
		}
		return s
	}
	tests := map[string]struct {
		stepCase
		want       metav1.ConditionStatus
		wantReason string
		wantTr     []Transition
	}{
		"no due date":          {stepCase: stepCase{prev: openSince(t0), now: t1}, want: metav1.ConditionFalse, wantReason: "NoDueDate"},
		"before the due date":  {stepCase: stepCase{prev: due(t2, false), now: t1}, want: metav1.ConditionFalse, wantReason: "WithinDue"},
		"at the due date":      {stepCase: stepCase{prev: due(t1, false), now: t1}, want: metav1.ConditionTrue, wantReason: "PastDue", wantTr: []Transition{Overdue}},
		"overdue already":      {stepCase: stepCase{prev: due(t1, true), now: t2}, want: metav1.ConditionTrue, wantReason: "PastDue"},
		"reopens past its due": {stepCase: stepCase{prev: due(t1, true), now: t2, opening: true}, want: metav1.ConditionTrue, wantReason: "PastDue", wantTr: []Transition{Overdue}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d, complete := runStep(markOverdue, tc.stepCase)
			c := meta.FindStatusCondition(d.next.Conditions, ismsv1.FindingConditionOverdue)
			if complete || c == nil || c.Status != tc.want || c.Reason != tc.wantReason || !slices.Equal(d.transitions, tc.wantTr) {
				t.Errorf("complete %v condition %+v transitions %v; want false, %s %s, %v", complete, c, d.transitions, tc.want, tc.wantReason, tc.wantTr)
			}
		})
	}
}

func TestListSubjects(t *testing.T) {
	tests := map[string]struct {
		failing     []Subject
		wantListed  int
		wantMessage string
	}{
		"one":  {failing: webFails, wantListed: 1, wantMessage: "1 subject(s) fail; first: Deployment web: privileged"},
		"many": {failing: manySubjects(120), wantListed: ismsv1.MaxFindingSubjects, wantMessage: "120 subject(s) fail; first: Deployment app-000: privileged"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d, complete := runStep(listSubjects, stepCase{prev: openSince(t0), ev: Evidence{Failing: tc.failing, PolicyDigest: "sha256:new"}})
			s := d.next
			if complete || int(s.SubjectCount) != len(tc.failing) || len(s.Subjects) > tc.wantListed || len(s.Subjects) == 0 ||
				s.PolicyDigest != "sha256:new" || s.Message != tc.wantMessage {
				t.Errorf("complete %v count %d listed %d digest %s message %q; want false, %d, at most %d, sha256:new, %q",
					complete, s.SubjectCount, len(s.Subjects), s.PolicyDigest, s.Message, len(tc.failing), tc.wantListed, tc.wantMessage)
			}
		})
	}
}

func TestMoveLastSeen(t *testing.T) {
	neverSeen := openSince(t0)
	neverSeen.LastSeen = nil
	later := t0.Add(LastSeenResolution - time.Second)
	tests := map[string]struct {
		stepCase
		changed bool // the decision so far changed the subjects
		want    time.Time
	}{
		"never seen: set":                       {stepCase: stepCase{prev: neverSeen, ev: Evidence{ObservedAt: t1}}, want: t1},
		"observed earlier: kept":                {stepCase: stepCase{prev: openSince(t1), ev: Evidence{ObservedAt: t0}}, want: t1},
		"same failure within the resolution":    {stepCase: stepCase{prev: openSince(t0), ev: Evidence{ObservedAt: later}}, want: t0},
		"same failure after the resolution":     {stepCase: stepCase{prev: openSince(t0), ev: Evidence{ObservedAt: t0.Add(LastSeenResolution)}}, want: t0.Add(LastSeenResolution)},
		"a transition moves it":                 {stepCase: stepCase{prev: openSince(t0), ev: Evidence{ObservedAt: later}, opening: true}, want: later},
		"other subjects within the resolution":  {stepCase: stepCase{prev: openSince(t0), ev: Evidence{ObservedAt: later}}, changed: true, want: later},
		"cut to seconds, as the API stores it":  {stepCase: stepCase{prev: neverSeen, ev: Evidence{ObservedAt: t1.Add(900 * time.Millisecond)}}, want: t1},
		"a fraction of a second later: no move": {stepCase: stepCase{prev: openSince(t1), ev: Evidence{ObservedAt: t1.Add(900 * time.Millisecond)}, opening: true}, want: t1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d := newDecision(tc.prev, tc.ev, DefaultWorkflow(), tc.now)
			if tc.opening {
				d.transitions = []Transition{Reopened}
			}
			if tc.changed {
				d.next.Subjects = []ismsv1.FailingSubject{failingSubject("ns", "other")}
			}
			if complete := moveLastSeen(&d); complete || !d.next.LastSeen.Time.Equal(tc.want) {
				t.Errorf("complete %v, lastSeen %v; want false, %v", complete, d.next.LastSeen, tc.want)
			}
		})
	}
}
