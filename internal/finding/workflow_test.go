package finding

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

func failingEvidence(sev ismsv1.Severity, ack *ismsv1.FindingAcknowledgement, at time.Time) Evidence {
	return Evidence{Failing: []Subject{deployment("ns", "web", "privileged")}, ObservedAt: at, Severity: sev, Acknowledgement: ack}
}

func passingEvidence(ack *ismsv1.FindingAcknowledgement, at time.Time) Evidence {
	return Evidence{ObservedAt: at, Acknowledgement: ack}
}

func overdue(s ismsv1.FindingStatus) metav1.ConditionStatus {
	if c := meta.FindStatusCondition(s.Conditions, ismsv1.FindingConditionOverdue); c != nil {
		return c.Status
	}
	return ""
}

func states(h []ismsv1.FindingHistoryEntry) []ismsv1.FindingState {
	var out []ismsv1.FindingState
	for _, e := range h {
		out = append(out, e.State)
	}
	return out
}

// TestDecide walks one Finding through its life, one step per row, each step starting from the
// status the previous one decided.
func TestDecide(t *testing.T) {
	wf := DefaultWorkflow()
	day := 24 * time.Hour
	ack := &ismsv1.FindingAcknowledgement{By: "alice", Note: "fix in next release"}
	ackPlanned := &ismsv1.FindingAcknowledgement{By: "alice", PlannedFixDate: mt(t0.Add(60 * day))}
	steps := []struct {
		name      string
		ev        Evidence
		now       time.Time
		wantState ismsv1.FindingState
		wantTr    []Transition
		wantDue   time.Time // zero: none
		wantOver  metav1.ConditionStatus
		check     func(t *testing.T, s ismsv1.FindingStatus, d Decision)
	}{
		{name: "opens, due 30 days later for high", ev: failingEvidence(ismsv1.SeverityHigh, nil, t0), now: t0,
			wantState: ismsv1.FindingOpen, wantTr: []Transition{Opened}, wantDue: t0.Add(30 * day), wantOver: metav1.ConditionFalse},
		{name: "acknowledged by an owner", ev: failingEvidence(ismsv1.SeverityHigh, ack, t1), now: t1,
			wantState: ismsv1.FindingAcknowledged, wantTr: []Transition{Acknowledged}, wantDue: t0.Add(30 * day), wantOver: metav1.ConditionFalse,
			check: func(t *testing.T, s ismsv1.FindingStatus, _ Decision) {
				if last := s.History[len(s.History)-1]; last.Reason != "Acknowledged by alice: fix in next release" {
					t.Errorf("history reason = %q", last.Reason)
				}
			}},
		{name: "stays acknowledged while failing", ev: failingEvidence(ismsv1.SeverityHigh, ack, t2), now: t2,
			wantState: ismsv1.FindingAcknowledged, wantDue: t0.Add(30 * day), wantOver: metav1.ConditionFalse},
		{name: "passes its due date: overdue once", ev: failingEvidence(ismsv1.SeverityHigh, ack, t0.Add(30*day)), now: t0.Add(30 * day),
			wantState: ismsv1.FindingAcknowledged, wantTr: []Transition{Overdue}, wantDue: t0.Add(30 * day), wantOver: metav1.ConditionTrue},
		{name: "still overdue: no second transition", ev: failingEvidence(ismsv1.SeverityHigh, ack, t0.Add(31*day)), now: t0.Add(31 * day),
			wantState: ismsv1.FindingAcknowledged, wantDue: t0.Add(30 * day), wantOver: metav1.ConditionTrue},
		{name: "acknowledgement removed", ev: failingEvidence(ismsv1.SeverityHigh, nil, t0.Add(32*day)), now: t0.Add(32 * day),
			wantState: ismsv1.FindingOpen, wantTr: []Transition{Unacknowledged}, wantDue: t0.Add(30 * day), wantOver: metav1.ConditionTrue},
		{name: "acknowledged again, then resolved: time to remediate", ev: passingEvidence(ack, t0.Add(33*day)), now: t0.Add(33 * day),
			wantState: ismsv1.FindingResolved, wantTr: []Transition{Resolved}, wantOver: metav1.ConditionFalse,
			check: func(t *testing.T, s ismsv1.FindingStatus, d Decision) {
				if d.TimeToRemediate != 33*day || s.LastTimeToRemediate.Duration != 33*day || s.Remediations != 1 {
					t.Errorf("time to remediate = %v / %v, remediations %d", d.TimeToRemediate, s.LastTimeToRemediate, s.Remediations)
				}
				if s.ResolvedAcknowledgement == nil || s.ResolvedAcknowledgement.By != "alice" {
					t.Errorf("resolvedAcknowledgement = %v", s.ResolvedAcknowledgement)
				}
			}},
		{name: "resolved stays put", ev: passingEvidence(ack, t0.Add(34*day)), now: t0.Add(34 * day),
			wantState: ismsv1.FindingResolved, wantOver: metav1.ConditionFalse},
		{name: "reopens: the old acknowledgement does not count, new due date", ev: failingEvidence(ismsv1.SeverityCritical, ack, t0.Add(40*day)), now: t0.Add(40 * day),
			wantState: ismsv1.FindingOpen, wantTr: []Transition{Reopened}, wantDue: t0.Add(47 * day), wantOver: metav1.ConditionFalse},
		{name: "the owner edits the acknowledgement: acknowledged", ev: failingEvidence(ismsv1.SeverityCritical, ackPlanned, t0.Add(41*day)), now: t0.Add(41 * day),
			wantState: ismsv1.FindingAcknowledged, wantTr: []Transition{Acknowledged}, wantDue: t0.Add(47 * day), wantOver: metav1.ConditionFalse},
		{name: "resolves with the planned acknowledgement", ev: passingEvidence(ackPlanned, t0.Add(42*day)), now: t0.Add(42 * day),
			wantState: ismsv1.FindingResolved, wantTr: []Transition{Resolved}, wantOver: metav1.ConditionFalse},
		{name: "reopens before the planned fix date: still acknowledged", ev: failingEvidence(ismsv1.SeverityInfo, ackPlanned, t0.Add(43*day)), now: t0.Add(43 * day),
			wantState: ismsv1.FindingAcknowledged, wantTr: []Transition{Reopened}, wantOver: metav1.ConditionFalse,
			check: func(t *testing.T, s ismsv1.FindingStatus, _ Decision) {
				// The newest entries that fit the history's byte budget, at least 6 of them.
				want := []ismsv1.FindingState{"Open", "Acknowledged", "Open", "Resolved", "Open", "Acknowledged", "Resolved", "Open", "Acknowledged"}
				if got := states(s.History); len(got) < 6 || !slices.Equal(got, want[len(want)-len(got):]) {
					t.Errorf("history = %v, want the last entries (at least 6) of %v", got, want)
				}
				if s.ReopenCount != 2 || s.Remediations != 2 {
					t.Errorf("reopenCount %d, remediations %d", s.ReopenCount, s.Remediations)
				}
			}},
	}
	var s ismsv1.FindingStatus
	for _, step := range steps {
		d := Decide(s, step.ev, wf, step.now)
		s = d.Status
		if s.State != step.wantState {
			t.Errorf("%s: state = %s, want %s", step.name, s.State, step.wantState)
		}
		if !slices.Equal(d.Transitions, step.wantTr) {
			t.Errorf("%s: transitions = %v, want %v", step.name, d.Transitions, step.wantTr)
		}
		switch {
		case step.wantDue.IsZero() && s.DueAt != nil:
			t.Errorf("%s: dueAt = %v, want none", step.name, s.DueAt)
		case !step.wantDue.IsZero() && (s.DueAt == nil || !s.DueAt.Time.Equal(step.wantDue)):
			t.Errorf("%s: dueAt = %v, want %v", step.name, s.DueAt, step.wantDue)
		}
		if got := overdue(s); got != step.wantOver {
			t.Errorf("%s: Overdue = %q, want %q", step.name, got, step.wantOver)
		}
		if step.check != nil {
			step.check(t, s, d)
		}
	}
}

func TestDecideKeepsTheLastHistoryEntries(t *testing.T) {
	var s ismsv1.FindingStatus
	now := t0
	for i := range 30 {
		now = now.Add(time.Hour)
		if i%2 == 0 {
			s = Decide(s, failingEvidence(ismsv1.SeverityLow, nil, now), DefaultWorkflow(), now).Status
		} else {
			s = Decide(s, passingEvidence(nil, now), DefaultWorkflow(), now).Status
		}
	}
	if len(s.History) < 6 || len(s.History) > ismsv1.MaxFindingHistory {
		t.Fatalf("history length = %d, want 6 to %d", len(s.History), ismsv1.MaxFindingHistory)
	}
	if data, _ := json.Marshal(s.History); len(data) > ismsv1.MaxFindingHistoryBytes {
		t.Errorf("history takes %d bytes, over its %d budget", len(data), ismsv1.MaxFindingHistoryBytes)
	}
	if last := s.History[len(s.History)-1]; !last.Time.Time.Equal(now) || last.State != ismsv1.FindingResolved {
		t.Errorf("last entry = %+v, want Resolved at %v", last, now)
	}
}

func TestDecideIsStable(t *testing.T) {
	// A second decision on the same evidence changes nothing, so that the controller writes
	// only when something moved.
	first := Decide(ismsv1.FindingStatus{}, failingEvidence(ismsv1.SeverityHigh, nil, t0), DefaultWorkflow(), t0).Status
	again := Decide(first, failingEvidence(ismsv1.SeverityHigh, nil, t0), DefaultWorkflow(), t0.Add(time.Second))
	if len(again.Transitions) != 0 || !equalStatus(first, again.Status) {
		t.Errorf("second decision changed the status: %v\n%+v\n%+v", again.Transitions, first, again.Status)
	}
}

func TestWorkflowWakeAtAndExpired(t *testing.T) {
	wf := Workflow{DuePeriods: map[ismsv1.Severity]time.Duration{ismsv1.SeverityHigh: time.Hour}, Retention: 2 * time.Hour}
	open := Decide(ismsv1.FindingStatus{}, failingEvidence(ismsv1.SeverityHigh, nil, t0), wf, t0).Status
	if got := wf.WakeAt(open); !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("open: wake at %v, want the due date", got)
	}
	late := Decide(open, failingEvidence(ismsv1.SeverityHigh, nil, t1), wf, t1).Status
	if got := wf.WakeAt(late); !got.IsZero() {
		t.Errorf("overdue: wake at %v, want none", got)
	}
	resolved := Decide(late, passingEvidence(nil, t2), wf, t2).Status
	if got := wf.WakeAt(resolved); !got.Equal(t2.Add(2 * time.Hour)) {
		t.Errorf("resolved: wake at %v, want the end of the retention", got)
	}
	if wf.Expired(resolved, t2.Add(time.Hour)) || !wf.Expired(resolved, t2.Add(2*time.Hour)) {
		t.Error("a resolved Finding expires exactly at the end of the retention")
	}
	if wf.Expired(open, t2.Add(100*time.Hour)) || (Workflow{}).Expired(resolved, t2.Add(1000*time.Hour)) {
		t.Error("open Findings, and any Finding without a retention, never expire")
	}
}

func equalStatus(a, b ismsv1.FindingStatus) bool {
	return equality.Semantic.DeepEqual(a, b)
}

func TestDecideWithExceptions(t *testing.T) {
	wf := DefaultWorkflow()
	web := deployment("ns", "web", "privileged")
	api := deployment("ns", "api", "privileged")
	exceptedWeb := web
	exceptedWeb.Exception = "vendor-web"
	exceptedAPI := api
	exceptedAPI.Exception = "vendor-web"

	d := Decide(ismsv1.FindingStatus{}, Evidence{Excepted: []Subject{exceptedWeb}, ObservedAt: t0, Severity: ismsv1.SeverityHigh}, wf, t0)
	if d.Status.State != "" || len(d.Transitions) != 0 {
		t.Fatalf("only excepted failures must not open a Finding: %+v %v", d.Status, d.Transitions)
	}

	s := Decide(ismsv1.FindingStatus{}, Evidence{Failing: []Subject{api, web}, ObservedAt: t0, Severity: ismsv1.SeverityHigh}, wf, t0).Status
	d = Decide(s, Evidence{Failing: []Subject{api}, Excepted: []Subject{exceptedWeb}, ObservedAt: t1, Severity: ismsv1.SeverityHigh}, wf, t1)
	if d.Status.State != ismsv1.FindingOpen || d.Status.SubjectCount != 1 || d.Status.ExceptedCount != 1 ||
		len(d.Status.ExceptedSubjects) != 1 || d.Status.ExceptedSubjects[0].Exception != "vendor-web" {
		t.Errorf("partly excepted: %+v", d.Status)
	}

	d = Decide(d.Status, Evidence{Excepted: []Subject{exceptedAPI, exceptedWeb}, ObservedAt: t2, Severity: ismsv1.SeverityHigh}, wf, t2)
	s = d.Status
	if s.State != ismsv1.FindingResolved || !slices.Equal(d.Transitions, []Transition{Resolved}) || d.Remediated ||
		s.Remediations != 0 || s.ExceptedCount != 2 || s.History[len(s.History)-1].Reason != "Excepted by ControlException vendor-web" {
		t.Errorf("all excepted: resolved, not remediated: %+v %+v", d, s)
	}

	t3 := t2.Add(time.Hour)
	d = Decide(s, Evidence{Failing: []Subject{api, web}, ObservedAt: t3, Severity: ismsv1.SeverityHigh}, wf, t3)
	if d.Status.State != ismsv1.FindingOpen || !slices.Equal(d.Transitions, []Transition{Reopened}) ||
		d.Status.ReopenCount != 1 || d.Status.ExceptedCount != 0 || d.Status.ExceptedSubjects != nil {
		t.Errorf("exception expired: reopens: %+v %v", d.Status, d.Transitions)
	}
}
