package report

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// kpis computes the weekly and total figures. Compliance is over the applicable requirements
// with Controls: their passing time over their evaluated time.
func (e *engine) kpis(reqs []Requirement) KPIs {
	tls := e.requirementTimelines(reqs)
	k := KPIs{Weeks: make([]WeekKPI, 0, len(e.weeks))}
	var all weekTrack
	for _, w := range e.weeks {
		kpi := figures(w)
		kpi.Compliance = compliance(tls, w.from, w.to)
		k.Weeks = append(k.Weeks, WeekKPI{From: w.from, To: w.to, KPI: kpi})
		all.opened, all.closed = all.opened+w.opened, all.closed+w.closed
		all.exOpened, all.expired = all.exOpened+w.exOpened, all.expired+w.expired
		all.ack, all.remediate = append(all.ack, w.ack...), append(all.remediate, w.remediate...)
	}
	all.overdue = e.overdueAt(e.period.To)
	k.Total = figures(all)
	k.Total.Compliance = compliance(tls, e.period.From, e.period.To)
	return k
}

func (e *engine) requirementTimelines(reqs []Requirement) []timeline {
	var out []timeline
	for _, r := range reqs {
		if !r.Applicable || len(r.Controls) == 0 {
			continue
		}
		tls := make([]timeline, 0, len(r.Controls))
		for _, name := range r.Controls {
			tls = append(tls, e.controls[name].tl)
		}
		out = append(out, combine(tls, worst))
	}
	return out
}

func compliance(tls []timeline, from, to time.Time) float64 {
	var passing, evaluated time.Duration
	for _, tl := range tls {
		t := tl.times(from, to)
		passing += t.Passing.D()
		evaluated += t.Evaluated()
	}
	return share(passing, evaluated)
}

func figures(w weekTrack) KPI {
	k := KPI{FindingsOpened: w.opened, FindingsClosed: w.closed, Overdue: w.overdue,
		ExceptionsOpened: w.exOpened, ExceptionsExpired: w.expired}
	k.MeanAcknowledge, k.P90Acknowledge = meanP90(w.ack)
	k.MeanRemediate, k.P90Remediate = meanP90(w.remediate)
	return k
}

// meanP90 returns the mean and the 90th percentile (nearest rank) of durations.
func meanP90(ds []time.Duration) (Duration, Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	rank := (len(sorted)*9 + 9) / 10 // ceil(0.9 n)
	return Duration(sum / time.Duration(len(sorted))), Duration(sorted[rank-1])
}

// nonconformities lists the graded requirements and Findings, most severe first.
func nonconformities(reqs []Requirement, findings []Finding) []Nonconformity {
	out := []Nonconformity{}
	for _, r := range reqs {
		if r.Grade != nil {
			out = append(out, Nonconformity{Requirement: r.ID, Grade: *r.Grade, Requirements: []string{r.ID}, Evidence: r.Evidence})
		}
	}
	for _, f := range findings {
		if f.Grade != nil {
			out = append(out, Nonconformity{Finding: f.Key, Grade: *f.Grade, Requirements: f.Requirements, Evidence: f.Evidence})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return severityRank(out[i].Grade.Severity) < severityRank(out[j].Grade.Severity)
	})
	return out
}

// followUps lists the Findings open at the period's end, overdue first, then by due date.
func followUps(findings []Finding, end time.Time) []FollowUp {
	out := []FollowUp{}
	for _, f := range findings {
		if !f.Open {
			continue
		}
		fu := FollowUp{Finding: f.Key, Control: f.Control, Owner: f.Owner, Severity: f.Severity, DueAt: f.DueAt,
			Overdue: !f.DueAt.IsZero() && end.After(f.DueAt)}
		fu.Action = fmt.Sprintf("Remediate the %d failing subject(s) in %s", f.SubjectCount, f.Namespace)
		if !f.DueAt.IsZero() {
			fu.Action += " by " + day(f.DueAt)
		}
		out = append(out, fu)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Overdue != out[j].Overdue {
			return out[i].Overdue
		}
		return out[i].DueAt.Before(out[j].DueAt)
	})
	return out
}

func conclusion(r Report) Conclusion {
	c := Conclusion{Compliance: r.KPIs.Total.Compliance, Requirements: map[Status]int{}}
	for _, n := range r.Nonconformities {
		switch n.Grade.Severity {
		case SeverityMajor:
			c.Majors++
		case SeverityMinor:
			c.Minors++
		default:
			c.Observations++
		}
	}
	for _, req := range r.Requirements {
		c.Requirements[req.Status]++
	}
	verdict := "conformity was demonstrated for the requirements with evidence"
	switch {
	case c.Majors > 0:
		verdict = fmt.Sprintf("conformity was not demonstrated: %d major nonconformit%s", c.Majors, plural(c.Majors, "y", "ies"))
	case c.Minors > 0:
		verdict = fmt.Sprintf("conformity was demonstrated with %d minor nonconformit%s to correct", c.Minors, plural(c.Minors, "y", "ies"))
	}
	c.Summary = fmt.Sprintf("Over %s to %s, the automated controls of %s passed %s of the evaluated time, and %s. "+
		"%d requirement(s) compliant, %d non-compliant, %d not evaluated, %d without evidence; %d Finding(s) in the period, %d still open.",
		day(r.Period.From), day(r.Period.To), r.Criteria.FrameworkTitle, percent(c.Compliance), verdict,
		c.Requirements[StatusCompliant], c.Requirements[StatusNonCompliant], c.Requirements[StatusNotEvaluated],
		c.Requirements[StatusNoEvidence], len(r.Findings), len(r.FollowUps))
	return c
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
