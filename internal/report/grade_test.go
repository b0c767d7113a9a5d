package report

import (
	"testing"
	"time"
)

func TestGradeRequirement(t *testing.T) {
	const period = 100 * time.Hour
	hours := func(n int) Duration { return Duration(time.Duration(n) * time.Hour) }
	tests := map[string]struct {
		req  Requirement
		want Rule // "" for no grade
	}{
		"not applicable":           {req: Requirement{Applicable: false, Status: StatusNotApplicable, Time: Times{Failing: hours(100)}}},
		"no evidence at all":       {req: Requirement{Applicable: true, Status: StatusNoEvidence}, want: RuleNoEvidence},
		"failing most of it":       {req: Requirement{Applicable: true, Controls: []string{"c"}, Time: Times{Failing: hours(51), Passing: hours(49)}}, want: RuleFailingMostOfPeriod},
		"failing exactly half":     {req: Requirement{Applicable: true, Controls: []string{"c"}, Time: Times{Failing: hours(50), Passing: hours(50)}}},
		"unevaluated most of it":   {req: Requirement{Applicable: true, Controls: []string{"c"}, Time: Times{NotEvaluated: hours(40), Error: hours(20), Passing: hours(40)}}, want: RuleUnevaluatedMostOfPeriod},
		"failing a little, passes": {req: Requirement{Applicable: true, Controls: []string{"c"}, Time: Times{Failing: hours(10), Passing: hours(90)}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := GradeRequirement(tc.req, period)
			switch {
			case tc.want == "" && g != nil:
				t.Errorf("grade %+v, want none", g)
			case tc.want != "" && (g == nil || g.Rule != tc.want || g.Severity != SeverityMajor):
				t.Errorf("grade %+v, want major by %s", g, tc.want)
			}
		})
	}
}

func TestGradeFinding(t *testing.T) {
	end := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		f    Finding
		want Severity
		rule Rule
	}{
		"resolved late":           {f: Finding{Late: true, DueAt: end.AddDate(0, -1, 0)}, want: SeverityMinor, rule: RuleRemediatedLate},
		"open past its due date":  {f: Finding{Open: true, DueAt: end.AddDate(0, 0, -1)}, want: SeverityMinor, rule: RuleRemediatedLate},
		"reopened after late fix": {f: Finding{Open: true, Late: true, DueAt: end.AddDate(0, 0, 1)}, want: SeverityMinor, rule: RuleRemediatedLate},
		"open within its due":     {f: Finding{Open: true, DueAt: end.AddDate(0, 0, 1)}, want: SeverityObservation, rule: RuleOpenWithinDue},
		"open, no due date":       {f: Finding{Open: true}, want: SeverityObservation, rule: RuleOpenWithinDue},
		"remediated in time":      {f: Finding{DueAt: end, TimeToRemediate: Duration(time.Hour)}, want: SeverityObservation, rule: RuleRemediatedInTime},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if g := GradeFinding(tc.f, end); g.Severity != tc.want || g.Rule != tc.rule {
				t.Errorf("grade %+v, want %s by %s", g, tc.want, tc.rule)
			}
		})
	}
}

func TestApplyOverrideKeepsTheProposal(t *testing.T) {
	g := applyOverride(Grade{Severity: SeverityMinor, Rule: RuleRemediatedLate}, Override{Severity: SeverityObservation})
	if g.Severity != SeverityObservation || g.Rule != RuleOverride || g.Proposed == nil || g.Proposed.Rule != RuleRemediatedLate || g.Reason == "" {
		t.Errorf("overridden grade %+v, want observation by override, proposing remediated-late", g)
	}
}

func TestMeanP90(t *testing.T) {
	ds := []time.Duration{10, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	if mean, p90 := meanP90(ds); mean != Duration(5) || p90 != Duration(9) {
		t.Errorf("mean %v p90 %v, want 5 and 9 (nearest rank)", mean, p90)
	}
	if mean, p90 := meanP90(nil); mean != 0 || p90 != 0 {
		t.Errorf("empty: %v %v, want 0", mean, p90)
	}
}
