package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
)

const methodologyText = "Automated continuous evaluation: each Control's policy is evaluated against the cluster " +
	"objects it targets on every change and at its interval, and each change of result, subject, Finding " +
	"and exception is recorded in a signed, append-only evidence ledger, with a heartbeat confirming an " +
	"unchanged state. A state is taken to hold for at most two heartbeat intervals after its last leaf; " +
	"time without a covering leaf, and operator outages, count as not evaluated."

func (e *engine) methodology() Methodology {
	m := Methodology{Description: methodologyText, Controls: []ControlEvaluation{}, Gaps: []Gap{}, Entries: e.entries,
		RisksReadAt: e.risksReadAt()}
	if !m.RisksReadAt.IsZero() {
		m.Description += risksMethodology
	}
	period := e.period.Duration()
	tls := make([]timeline, 0, len(e.controls))
	var coverage float64
	for _, c := range e.sortedControls() {
		times := c.tl.times(e.period.From, e.period.To)
		ev := ControlEvaluation{Control: c.ctl.Name, Digests: append([]string{}, c.digests...), HeartbeatSeconds: c.heartbeat,
			Time: times, Coverage: share(times.Evaluated(), period), Transitions: c.transitions, Evidence: citeList(c.cites)}
		m.Controls = append(m.Controls, ev)
		coverage += ev.Coverage
		tls = append(tls, c.tl)
	}
	if len(m.Controls) > 0 {
		m.Coverage = coverage / float64(len(m.Controls))
	}
	m.Gaps = e.gaps(combine(tls, anyEvaluated))
	return m
}

func share(d, of time.Duration) float64 {
	if of <= 0 {
		return 0
	}
	return float64(d) / float64(of)
}

func citeList(c citations) []Citation {
	out := append([]Citation{}, c.list...)
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

// gaps lists the spans of the period when no control in scope was evaluated, with the
// operator markers that explain them.
func (e *engine) gaps(scope timeline) []Gap {
	out := []Gap{}
	from, to := e.period.From, e.period.To
	open := false
	var g Gap
	closeGap := func(at time.Time) {
		g.To = at
		e.explain(&g)
		if len(out) < MaxFindings {
			out = append(out, g)
		}
		open = false
	}
	if scope.at(from) == evidence.ResultNotEvaluated {
		g, open = Gap{From: from}, true
	}
	for _, s := range scope {
		if !s.from.After(from) || !s.from.Before(to) {
			continue
		}
		if s.result == evidence.ResultNotEvaluated && !open {
			g, open = Gap{From: s.from}, true
		} else if s.result != evidence.ResultNotEvaluated && open {
			closeGap(s.from)
		}
	}
	if open {
		closeGap(to)
	}
	return out
}

// explain gives a gap its reason and cites the operator markers within it.
func (e *engine) explain(g *Gap) {
	var stopped, started bool
	for _, m := range e.markers {
		if m.at.Before(g.From) || m.at.After(g.To) {
			continue
		}
		stopped, started = stopped || !m.started, started || m.started
		if len(g.Evidence) < MaxCitations {
			g.Evidence = append(g.Evidence, m.cite)
		}
	}
	switch {
	case len(e.controls) == 0:
		g.Reason = "no Control maps to the framework"
	case stopped:
		g.Reason = "the operator was stopped"
	case started:
		g.Reason = "the operator restarted and had not evaluated the controls yet"
	default:
		g.Reason = "no evaluation recorded (missed heartbeats or no evidence yet)"
	}
}

// reportFindings lists the Findings open at any time in the period, by first seen.
func (e *engine) reportFindings() []Finding {
	out := []Finding{}
	for _, f := range e.findings {
		if !f.inPeriod {
			continue
		}
		out = append(out, e.reportFinding(f))
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].FirstSeen.Equal(out[j].FirstSeen) {
			return out[i].FirstSeen.Before(out[j].FirstSeen)
		}
		return out[i].Key < out[j].Key
	})
	return out
}

func (e *engine) reportFinding(f *findingTrack) Finding {
	c := e.controls[f.control]
	out := Finding{Key: f.key, Control: f.control, ControlID: c.ctl.ID, Namespace: f.namespace, Name: f.name,
		Severity: c.ctl.Severity, Owner: c.ctl.Owner, Requirements: sortedCopy(c.ctl.Requirements), Subjects: []string{},
		FirstSeen: f.firstSeen, OpenedAt: f.openedAt, AcknowledgedAt: f.ackAt, ResolvedAt: f.resolvedAt,
		TimeToRemediate: Duration(f.ttr), Late: f.late, Reopened: f.reopened, Open: f.open, Evidence: citeList(f.cites)}
	if due, ok := e.dueAt(f); ok {
		out.DueAt = due
		out.Late = out.Late || (f.open && e.period.To.After(due))
	}
	b := c.subjects[f.namespace]
	if b == nil {
		b = c.subjects[""] // cluster-scoped subjects are reported in the operator's namespace
	}
	if b != nil {
		out.Subjects = sortedCopy(b.listed)
		out.SubjectCount = len(b.seen)
	}
	out.Grade = e.override(f.key, GradeFinding(out, e.period.To))
	return out
}

// requirements reports every requirement of the catalog, in catalog order.
func (e *engine) requirements(findings []Finding) []Requirement {
	byReq := map[string][]*controlTrack{}
	for _, c := range e.sortedControls() {
		for _, id := range sortedCopy(c.ctl.Requirements) {
			byReq[id] = append(byReq[id], c)
		}
	}
	findingsByReq := map[string][]string{}
	for _, f := range findings {
		for _, id := range f.Requirements {
			findingsByReq[id] = append(findingsByReq[id], f.Key)
		}
	}
	out := make([]Requirement, 0, len(e.in.Catalog.Requirements))
	for _, cr := range e.in.Catalog.Requirements {
		r := e.requirement(cr.ID, byReq[cr.ID])
		r.Title, r.Group, r.Findings = cr.Title, cr.Group, findingsByReq[cr.ID]
		if g := GradeRequirement(r, e.period.Duration()); g != nil {
			r.Grade = e.override(cr.ID, *g)
		}
		out = append(out, r)
	}
	return out
}

func (e *engine) requirement(id string, controls []*controlTrack) Requirement {
	r := Requirement{ID: id, Controls: []string{}, Evidence: []Citation{}}
	soa, inSoA := e.in.Applicability[id]
	r.Applicable = len(controls) > 0 || (inSoA && soa.Applicable)
	if inSoA {
		r.Applicable, r.Justification = soa.Applicable, soa.Justification
	}
	tls := make([]timeline, 0, len(controls))
	var cites citations
	for _, c := range controls {
		r.Controls = append(r.Controls, c.ctl.Name)
		tls = append(tls, c.tl)
		for _, ci := range c.cites.list {
			if cites.n < MaxCitations {
				cites.list, cites.n = append(cites.list, ci), cites.n+1
			}
		}
	}
	r.Time = combine(tls, worst).times(e.period.From, e.period.To)
	period := e.period.Duration()
	r.PassingShare, r.NotEvaluatedShare = share(r.Time.Passing.D(), period), share(r.Time.NotEvaluated.D(), period)
	r.Evidence = citeList(cites)
	r.Status = requirementStatus(r, inSoA, period)
	return r
}

// requirementStatus decides a requirement's status from its times.
func requirementStatus(r Requirement, inSoA bool, period time.Duration) Status {
	switch {
	case !r.Applicable && inSoA:
		return StatusNotApplicable
	case !r.Applicable:
		return StatusNotAssessed
	case len(r.Controls) == 0 || (r.Time.Evaluated() == 0 && len(r.Evidence) == 0):
		return StatusNoEvidence
	case r.Time.Failing > 0:
		return StatusNonCompliant
	case (r.Time.NotEvaluated+r.Time.Error).D()*2 > period:
		return StatusNotEvaluated
	default:
		return StatusCompliant
	}
}

// override applies the auditor's grade of an item, if any.
func (e *engine) override(key string, g Grade) *Grade {
	if o, ok := e.in.Overrides[key]; ok {
		g = applyOverride(g, o)
	}
	return &g
}

func (e *engine) reportExceptions() []Exception {
	out := []Exception{}
	for key, x := range e.exceptions {
		if !x.inPeriod {
			continue
		}
		ex := Exception{Key: key, Namespace: x.namespace, Name: x.name, ActiveFrom: x.activeFrom, ExpiredAt: x.expiredAt,
			Controls: []string{}, Requirements: []string{}, Evidence: citeList(x.cites)}
		if ex.ActiveFrom.Before(e.period.From) {
			ex.ActiveFrom = e.period.From
		}
		for c := range x.controls {
			ex.Controls = append(ex.Controls, c)
			ex.Requirements = append(ex.Requirements, e.controls[c].ctl.Requirements...)
		}
		ex.Controls, ex.Requirements = sortedCopy(ex.Controls), sortedCopy(ex.Requirements)
		out = append(out, ex)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// recommendations gives, for each control with a Finding or failing time, its description.
func (e *engine) recommendations(findings []Finding) []Recommendation {
	failed := map[string]bool{}
	for _, f := range findings {
		failed[f.Control] = true
	}
	for _, c := range e.controls {
		if c.tl.times(e.period.From, e.period.To).Failing > 0 {
			failed[c.ctl.Name] = true
		}
	}
	out := []Recommendation{}
	for _, c := range e.sortedControls() {
		if !failed[c.ctl.Name] {
			continue
		}
		text := strings.TrimSpace(c.ctl.Description)
		if text == "" {
			text = fmt.Sprintf("Restore %q (%s) and keep it passing: fix the failing subjects or record an approved ControlException.", c.ctl.Title, c.ctl.Name)
		}
		out = append(out, Recommendation{Control: c.ctl.Name, Title: c.ctl.Title, Requirements: sortedCopy(c.ctl.Requirements), Text: truncate(text, 2048)})
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
