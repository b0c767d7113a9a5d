package report

import (
	"iter"
	"testing"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/frameworks"
)

var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func h(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Hour))) }

func stateLeaf(kind evidence.Kind, control string, at time.Time, r evidence.Result) evidence.Leaf {
	return evidence.Leaf{V: 1, Kind: kind, Control: control, Time: at, State: &evidence.State{HeartbeatSeconds: 3600, Result: r}}
}

func operatorLeaf(kind evidence.Kind, at time.Time) evidence.Leaf {
	return evidence.Leaf{V: 1, Kind: kind, Time: at, Operator: &evidence.OperatorEvent{}}
}

func finding(control string, at time.Time, to string, open bool) evidence.Leaf {
	return evidence.Leaf{V: 1, Kind: evidence.KindFinding, Control: control, Time: at,
		Finding: &evidence.FindingChange{Name: control, Namespace: "ns", To: to, Open: open}}
}

func entries(leaves ...evidence.Leaf) iter.Seq2[evidence.Entry, error] {
	return func(yield func(evidence.Entry, error) bool) {
		for i, l := range leaves {
			if !yield(evidence.Entry{Index: uint64(i + 10), LeafHash: []byte{byte(i)}, Leaf: l}, nil) {
				return
			}
		}
	}
}

func testInput(t *testing.T, hours float64, leaves ...evidence.Leaf) Input {
	catalog, ok := frameworks.Default().Lookup("iso27001-2022")
	if !ok {
		t.Fatal("no catalog")
	}
	return Input{Catalog: catalog, Period: Period{From: t0, To: h(hours)}, Entries: entries(leaves...),
		Controls: []Control{
			{Name: "a", Severity: "critical", Requirements: []string{"A.8.1"}},
			{Name: "b", Severity: "info", Requirements: []string{"A.8.1", "A.8.2"}},
		},
		DuePeriods: map[string]time.Duration{"critical": 24 * time.Hour},
		Now:        func() time.Time { return t0 }}
}

func TestComputeTimes(t *testing.T) {
	hour := Duration(time.Hour)
	tests := map[string]struct {
		leaves  []evidence.Leaf
		control string
		want    Times
	}{
		"a state is carried two heartbeats, then not evaluated": {
			leaves: []evidence.Leaf{stateLeaf(evidence.KindControl, "a", t0, evidence.ResultPass)},
			want:   Times{Passing: 2 * hour, NotEvaluated: 8 * hour},
		},
		"heartbeats keep it covered, two intervals each": {
			leaves: []evidence.Leaf{stateLeaf(evidence.KindControl, "a", t0, evidence.ResultPass),
				stateLeaf(evidence.KindHeartbeat, "a", h(2), evidence.ResultPass), stateLeaf(evidence.KindHeartbeat, "a", h(4), evidence.ResultPass),
				stateLeaf(evidence.KindControl, "a", h(5), evidence.ResultFail), stateLeaf(evidence.KindHeartbeat, "a", h(7), evidence.ResultFail)},
			want: Times{Passing: 5 * hour, Failing: 4 * hour, NotEvaluated: hour},
		},
		"an operator stop ends the state; the start does not restore it": {
			leaves: []evidence.Leaf{stateLeaf(evidence.KindControl, "a", t0, evidence.ResultPass),
				operatorLeaf(evidence.KindOperatorStopped, h(1)), operatorLeaf(evidence.KindOperatorStarted, h(3)),
				stateLeaf(evidence.KindControl, "a", h(4), evidence.ResultError)},
			want: Times{Passing: hour, NotEvaluated: 3*hour + 4*hour, Error: 2 * hour},
		},
		"a state before the period carries into it": {
			leaves: []evidence.Leaf{stateLeaf(evidence.KindControl, "a", h(-1), evidence.ResultFail)},
			want:   Times{Failing: hour, NotEvaluated: 9 * hour},
		},
		"another control's leaves do not cover it": {
			leaves: []evidence.Leaf{stateLeaf(evidence.KindControl, "b", t0, evidence.ResultPass)},
			want:   Times{NotEvaluated: 10 * hour},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := Compute(testInput(t, 10, tc.leaves...))
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Methodology.Controls[0].Time; got != tc.want {
				t.Errorf("times of a = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestComputeRequirementIsWorstOfItsControls(t *testing.T) {
	r, err := Compute(testInput(t, 4,
		stateLeaf(evidence.KindControl, "a", t0, evidence.ResultPass), stateLeaf(evidence.KindControl, "b", t0, evidence.ResultPass),
		stateLeaf(evidence.KindControl, "b", h(1), evidence.ResultFail), stateLeaf(evidence.KindControl, "a", h(2), evidence.ResultPass),
		stateLeaf(evidence.KindControl, "b", h(2), evidence.ResultPass), stateLeaf(evidence.KindHeartbeat, "a", h(3), evidence.ResultPass),
		stateLeaf(evidence.KindHeartbeat, "b", h(3), evidence.ResultPass)))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Requirement{}
	for _, req := range r.Requirements {
		byID[req.ID] = req
	}
	hour := Duration(time.Hour)
	if got := byID["A.8.1"]; got.Time != (Times{Passing: 3 * hour, Failing: hour}) || got.Status != StatusNonCompliant || got.PassingShare != 0.75 {
		t.Errorf("A.8.1 = %s %+v share %v, want NonCompliant, 3h passing, 1h failing, 0.75", got.Status, got.Time, got.PassingShare)
	}
	if got := byID["A.5.1"]; got.Status != StatusNotAssessed || got.Applicable {
		t.Errorf("A.5.1 with no control = %s applicable %v, want NotAssessed", got.Status, got.Applicable)
	}
	if r.KPIs.Total.Compliance != 6.0/8 {
		t.Errorf("compliance = %v, want 6/8 (A.8.1 and A.8.2 both fail with b for 1h of 4)", r.KPIs.Total.Compliance)
	}
}

func TestComputeFindings(t *testing.T) {
	in := testInput(t, 24*10,
		finding("a", h(1), "Open", true), finding("a", h(3), "Acknowledged", true), finding("a", h(30), "Resolved", false),
		finding("b", h(2), "Open", true), finding("b", h(40), "Resolved", false), finding("b", h(50), "Open", true))
	in.Overrides = map[string]Override{"b/ns/b": {Severity: SeverityMajor, Reason: "recurring"}}
	r, err := Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 2 {
		t.Fatalf("%d findings, want 2: %+v", len(r.Findings), r.Findings)
	}
	a, b := r.Findings[0], r.Findings[1]
	if !a.Late || a.Open || a.TimeToRemediate.D() != 29*time.Hour || a.DueAt != h(25) || a.Grade.Rule != RuleRemediatedLate {
		t.Errorf("a = %+v, want late, resolved after 29h, due at h(25), remediated-late", a)
	}
	if !b.Open || b.Reopened != 1 || b.Late || !b.DueAt.IsZero() || b.Grade.Severity != SeverityMajor || b.Grade.Proposed.Rule != RuleOpenWithinDue {
		t.Errorf("b = %+v, want open, reopened once, no due date, overridden to major from open-within-due", b)
	}
	k := r.KPIs.Total
	if k.FindingsOpened != 3 || k.FindingsClosed != 2 || k.MeanAcknowledge.D() != 2*time.Hour || k.P90Remediate.D() != 38*time.Hour || k.Overdue != 0 {
		t.Errorf("KPIs = %+v, want 3 opened, 2 closed, 2h to acknowledge, p90 remediation 38h, none overdue", k)
	}
	if len(r.FollowUps) != 1 || r.FollowUps[0].Finding != "b/ns/b" {
		t.Errorf("follow-ups = %+v, want b's Finding", r.FollowUps)
	}
}

func TestComputeRejects(t *testing.T) {
	good := testInput(t, 1)
	tests := map[string]func(*Input){
		"no catalog":        func(in *Input) { in.Catalog = nil },
		"an empty period":   func(in *Input) { in.Period.To = in.Period.From },
		"a decade":          func(in *Input) { in.Period.To = in.Period.From.AddDate(10, 0, 0) },
		"an unknown grade":  func(in *Input) { in.Overrides = map[string]Override{"A.8.1": {Severity: "fatal"}} },
		"entries backwards": func(in *Input) { in.Entries = backwards() },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			in := good
			mutate(&in)
			if _, err := Compute(in); err == nil {
				t.Error("Compute succeeded, want an error")
			}
		})
	}
}

func backwards() iter.Seq2[evidence.Entry, error] {
	return func(yield func(evidence.Entry, error) bool) {
		_ = yield(evidence.Entry{Index: 5, Leaf: stateLeaf(evidence.KindControl, "a", t0, evidence.ResultPass)}, nil) &&
			yield(evidence.Entry{Index: 4, Leaf: stateLeaf(evidence.KindControl, "a", t0, evidence.ResultPass)}, nil)
	}
}

func exceptionLeaf(control, name string, at time.Time, from, to string) evidence.Leaf {
	return evidence.Leaf{V: 1, Kind: evidence.KindException, Control: control, Time: at,
		Exception: &evidence.ExceptionChange{Name: name, Namespace: "ns", From: from, To: to}}
}

// An exception is reported with the Controls of the framework it names; one that names only
// Controls outside it is not in the report (it used to crash the computation).
func TestComputeExceptionsOfControlsInScope(t *testing.T) {
	in := testInput(t, 24,
		exceptionLeaf("a", "both", h(1), "Pending", "Active"), exceptionLeaf("z", "both", h(1), "Pending", "Active"),
		exceptionLeaf("z", "other-framework", h(2), "Pending", "Active"), exceptionLeaf("z", "other-framework", h(3), "Active", "Expired"))
	r, err := Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Exceptions) != 1 || r.Exceptions[0].Key != "ns/both" || len(r.Exceptions[0].Controls) != 1 ||
		r.Exceptions[0].Controls[0] != "a" || r.KPIs.Total.ExceptionsOpened != 1 || r.KPIs.Total.ExceptionsExpired != 0 {
		t.Errorf("exceptions %+v, KPIs %+v: want ns/both on control a only", r.Exceptions, r.KPIs.Total)
	}
}
