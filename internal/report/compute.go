package report

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
)

// MaxPeriod bounds a report's period: the KPIs are kept per week.
const MaxPeriod = 3 * 366 * 24 * time.Hour

// Compute computes the report of in.Catalog's framework over in.Period from the ledger's
// entries, read once in index order.
func Compute(in Input) (Report, error) {
	if err := checkInput(in); err != nil {
		return Report{}, err
	}
	in.Period = Period{From: in.Period.From.UTC(), To: in.Period.To.UTC()}
	e := newEngine(in)
	if in.Start != nil {
		e.feedSnapshot(*in.Start)
	}
	if in.Entries != nil {
		for en, err := range in.Entries {
			if err != nil {
				return Report{}, fmt.Errorf("reading the ledger: %w", err)
			}
			if en.Leaf.Kind == "" || (in.Start != nil && en.Leaf.Time.Before(in.Period.From)) {
				continue
			}
			if e.started && en.Index <= e.lastIndex {
				return Report{}, fmt.Errorf("ledger entry %d after entry %d: entries must come in index order", en.Index, e.lastIndex)
			}
			e.feed(en)
		}
	}
	return e.finish(), nil
}

func checkInput(in Input) error {
	switch {
	case in.Catalog == nil:
		return errors.New("no framework catalog")
	case !in.Period.From.Before(in.Period.To):
		return fmt.Errorf("the period's start %s is not before its end %s", in.Period.From.Format(time.RFC3339), in.Period.To.Format(time.RFC3339))
	case in.Period.Duration() > MaxPeriod:
		return fmt.Errorf("the period is longer than %d days", int(MaxPeriod.Hours()/24))
	}
	for id, o := range in.Overrides {
		if !ValidSeverity(o.Severity) {
			return fmt.Errorf("override of %q: grade %q is not major, minor or observation", id, o.Severity)
		}
	}
	return nil
}

// feedSnapshot folds the state at the period's start: each control's state leaf, its subject
// counts and its open Findings, in index order.
func (e *engine) feedSnapshot(s evidence.Snapshot) {
	var entries []evidence.Entry
	for _, c := range s.Controls {
		if _, ok := e.controls[c.Control]; !ok {
			continue
		}
		for _, p := range c.Evidence {
			entries = append(entries, p.Entry)
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Index < entries[j].Index })
	entries = slices.CompactFunc(entries, func(a, b evidence.Entry) bool { return a.Index == b.Index })
	for _, en := range entries {
		if en.Leaf.Time.Before(e.period.From) {
			e.feed(en)
		}
	}
}

// finish closes the period and builds the report.
func (e *engine) finish() Report {
	end := e.period.To
	e.cross()
	e.rollWeeks(end)
	for _, c := range e.controls {
		c.advance(end)
	}
	r := Report{Version: Version, GeneratedAt: e.now(), Period: e.period, Checkpoint: e.in.Checkpoint}
	r.Objectives = objectives(e.in.Catalog.Title, e.period)
	r.Scope = e.scope()
	r.Criteria = e.criteria()
	r.Methodology = e.methodology()
	r.Findings = e.reportFindings()
	r.Requirements = e.requirements(r.Findings)
	r.Exceptions = e.reportExceptions()
	r.AcceptedRisks = e.acceptedRisks()
	r.KPIs = e.kpis(r.Requirements)
	r.Nonconformities = nonconformities(r.Requirements, r.Findings)
	r.Recommendations = e.recommendations(r.Findings)
	r.FollowUps = followUps(r.Findings, end)
	r.Conclusion = conclusion(r)
	return r
}

func (e *engine) now() time.Time {
	if e.in.Now == nil {
		return time.Now().UTC()
	}
	return e.in.Now().UTC()
}

func objectives(framework string, p Period) []string {
	return []string{
		fmt.Sprintf("Determine whether the controls in scope conformed to %s throughout %s to %s.", framework, day(p.From), day(p.To)),
		"Assess the effectiveness of the automated controls from their continuous evaluation recorded in the evidence ledger.",
		"Identify nonconformities and opportunities for improvement, and the follow-up actions they call for.",
	}
}

// sortedControls returns the controls in scope by name.
func (e *engine) sortedControls() []*controlTrack {
	out := make([]*controlTrack, 0, len(e.controls))
	for _, c := range e.controls {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ctl.Name < out[j].ctl.Name })
	return out
}

func (e *engine) scope() Scope {
	s := Scope{Origin: e.in.Origin, Clusters: e.in.Clusters, SoA: e.in.SoA, Namespaces: []string{}, Controls: []ControlRef{}}
	namespaces := map[string]bool{}
	for _, c := range e.sortedControls() {
		s.Controls = append(s.Controls, ControlRef{Name: c.ctl.Name, ID: c.ctl.ID, Title: c.ctl.Title, Severity: c.ctl.Severity,
			Owner: c.ctl.Owner, Attested: c.ctl.Attested, Requirements: sortedCopy(c.ctl.Requirements)})
		for ns := range c.subjects {
			namespaces[ns] = namespaces[ns] || ns != ""
		}
	}
	for _, f := range e.findings {
		namespaces[f.namespace] = f.namespace != ""
	}
	for ns, ok := range namespaces {
		if ok {
			s.Namespaces = append(s.Namespaces, ns)
		}
	}
	sort.Strings(s.Namespaces)
	return s
}

func sortedCopy(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return slices.Compact(out)
}

func (e *engine) criteria() Criteria {
	c := Criteria{Framework: e.in.Catalog.Name, FrameworkTitle: e.in.Catalog.Title,
		Requirements: len(e.in.Catalog.Requirements), DuePeriods: []DuePeriod{}, Rules: GradingRules}
	for sev, d := range e.in.DuePeriods {
		if d > 0 {
			c.DuePeriods = append(c.DuePeriods, DuePeriod{Severity: sev, Period: Duration(d)})
		}
	}
	sort.Slice(c.DuePeriods, func(i, j int) bool { return c.DuePeriods[i].Period < c.DuePeriods[j].Period })
	return c
}
