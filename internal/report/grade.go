package report

import (
	"fmt"
	"time"
)

// GradingRules are the rules GradeRequirement and GradeFinding apply, as the report states
// them in its criteria.
var GradingRules = []string{
	"major (" + string(RuleNoEvidence) + "): an applicable requirement with no evidence at all in the period",
	"major (" + string(RuleFailingMostOfPeriod) + "): an applicable requirement failing for more than half of the period",
	"major (" + string(RuleUnevaluatedMostOfPeriod) + "): an applicable requirement not evaluated (or in error) for more than half of the period",
	"minor (" + string(RuleRemediatedLate) + "): a Finding resolved after its due date, or still open past it at the period's end",
	"observation (" + string(RuleRemediatedInTime) + "): a Finding resolved within its due period",
	"observation (" + string(RuleOpenWithinDue) + "): a Finding still open at the period's end, its due date ahead",
}

// GradeRequirement proposes the grade of a requirement over a period of length period, or
// nil when the requirement is no nonconformity of its own (its Findings are graded apart).
func GradeRequirement(r Requirement, period time.Duration) *Grade {
	if !r.Applicable || period <= 0 {
		return nil
	}
	if r.Status == StatusNoEvidence {
		reason := "no Control maps to it"
		if len(r.Controls) > 0 {
			reason = "its Controls left no evidence in the period"
		}
		return &Grade{Severity: SeverityMajor, Rule: RuleNoEvidence, Reason: reason}
	}
	if failing := r.Time.Failing.D(); failing*2 > period {
		return &Grade{Severity: SeverityMajor, Rule: RuleFailingMostOfPeriod,
			Reason: fmt.Sprintf("failing %s of the period", percent(float64(failing)/float64(period)))}
	}
	if unevaluated := (r.Time.NotEvaluated + r.Time.Error).D(); unevaluated*2 > period {
		return &Grade{Severity: SeverityMajor, Rule: RuleUnevaluatedMostOfPeriod,
			Reason: fmt.Sprintf("not evaluated %s of the period", percent(float64(unevaluated)/float64(period)))}
	}
	return nil
}

// GradeFinding proposes the grade of a Finding as it stood at the period's end.
func GradeFinding(f Finding, end time.Time) Grade {
	hasDue := !f.DueAt.IsZero()
	switch {
	case f.Late && !f.Open:
		return Grade{Severity: SeverityMinor, Rule: RuleRemediatedLate,
			Reason: fmt.Sprintf("resolved after its due date %s", day(f.DueAt))}
	case f.Open && hasDue && end.After(f.DueAt):
		return Grade{Severity: SeverityMinor, Rule: RuleRemediatedLate,
			Reason: fmt.Sprintf("still open at the period's end, due %s", day(f.DueAt))}
	case f.Late:
		return Grade{Severity: SeverityMinor, Rule: RuleRemediatedLate,
			Reason: "resolved late earlier in the period, open again"}
	case f.Open:
		reason := "still open at the period's end, no due date"
		if hasDue {
			reason = fmt.Sprintf("still open at the period's end, due %s", day(f.DueAt))
		}
		return Grade{Severity: SeverityObservation, Rule: RuleOpenWithinDue, Reason: reason}
	default:
		return Grade{Severity: SeverityObservation, Rule: RuleRemediatedInTime,
			Reason: fmt.Sprintf("remediated in %s", humanDuration(f.TimeToRemediate.D()))}
	}
}

// applyOverride replaces a proposed grade by the auditor's, keeping the proposal.
func applyOverride(g Grade, o Override) Grade {
	proposed := g
	reason := o.Reason
	if reason == "" {
		reason = "graded by the auditor"
	}
	return Grade{Severity: o.Severity, Rule: RuleOverride, Reason: reason, Proposed: &proposed}
}

// severityRank orders grades for the list of nonconformities.
func severityRank(s Severity) int {
	switch s {
	case SeverityMajor:
		return 0
	case SeverityMinor:
		return 1
	default:
		return 2
	}
}

// ValidSeverity reports whether s is a grade an override may give.
func ValidSeverity(s Severity) bool {
	return s == SeverityMajor || s == SeverityMinor || s == SeverityObservation
}

func percent(share float64) string { return fmt.Sprintf("%.1f%%", share*100) }

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// humanDuration writes a duration in days and hours ("3d 4h"), or minutes under an hour.
func humanDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	if d < time.Hour {
		return fmt.Sprintf("%dm", int(d/time.Minute))
	}
	days, hours := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if days == 0 {
		return fmt.Sprintf("%dh", hours)
	}
	return fmt.Sprintf("%dd %dh", days, hours)
}
