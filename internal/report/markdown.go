package report

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// WriteMarkdown writes the report as Markdown, its sections in the order of an ISMS audit
// report; every row cites its ledger entries by index (#n), and the last section lists the
// leaf hash of each index cited.
func WriteMarkdown(w io.Writer, r Report) error {
	bw := bufio.NewWriter(w)
	m := &mdWriter{w: bw, cited: map[uint64][]byte{}}
	m.header(r)
	m.scope(r)
	m.criteria(r.Criteria)
	m.methodology(r.Methodology, r.Period)
	m.findings(r.Findings)
	m.nonconformities(r.Nonconformities)
	m.recommendations(r.Recommendations)
	m.requirements(r.Requirements)
	m.kpis(r.KPIs)
	m.exceptions(r.Exceptions)
	m.acceptedRisks(r.AcceptedRisks, r.Methodology.RisksReadAt)
	m.followUps(r.FollowUps)
	m.conclusion(r.Conclusion)
	m.citations(r.Checkpoint)
	return bw.Flush()
}

type mdWriter struct {
	w     *bufio.Writer
	cited map[uint64][]byte
}

func (m *mdWriter) printf(format string, args ...any) { fmt.Fprintf(m.w, format, args...) }

// row writes one table row, escaping each cell.
func (m *mdWriter) row(cells ...string) {
	for i := range cells {
		cells[i] = cell(cells[i])
	}
	m.printf("| %s |\n", strings.Join(cells, " | "))
}

// table writes a header row and its separator.
func (m *mdWriter) table(headers ...string) {
	m.row(headers...)
	seps := make([]string, len(headers))
	for i := range seps {
		seps[i] = "---"
	}
	m.printf("|%s|\n", strings.Join(seps, "|"))
}

func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}

// cite returns the indexes of citations as "#1 #5" and remembers their leaf hashes.
func (m *mdWriter) cite(cs []Citation) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("#%d", c.Index)
		m.cited[c.Index] = c.LeafHash
	}
	return strings.Join(parts, " ")
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func dur(d Duration) string {
	if d == 0 {
		return "-"
	}
	return humanDuration(d.D())
}

func list(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}

func (m *mdWriter) header(r Report) {
	m.printf("# Audit report: %s\n\n", r.Criteria.FrameworkTitle)
	m.printf("Period: %s to %s (end exclusive). Generated %s from the evidence ledger, checkpoint of size %d.\n\n",
		ts(r.Period.From), ts(r.Period.To), r.GeneratedAt.UTC().Format(time.RFC3339), r.Checkpoint.Size)
	m.printf("## 1. Objectives\n\n")
	for _, o := range r.Objectives {
		m.printf("- %s\n", o)
	}
	m.printf("\n")
}

func (m *mdWriter) scope(r Report) {
	s := r.Scope
	m.printf("## 2. Scope\n\n")
	if s.Origin != "" {
		m.printf("- Ledger: %s\n", s.Origin)
	}
	if len(s.Clusters) > 0 {
		m.printf("- Clusters: %s\n", list(s.Clusters))
	}
	if s.SoA != nil {
		m.printf("- Statement of Applicability: %s version %s, approved by %s on %s\n", s.SoA.Name, s.SoA.Version, s.SoA.ApprovedBy, ts(s.SoA.ApprovedAt))
	}
	m.printf("- Namespaces with subjects or Findings: %d\n- Controls mapped to %s: %d\n\n", len(s.Namespaces), r.Criteria.Framework, len(s.Controls))
	m.table("Control", "ID", "Severity", "Owner", "Requirements")
	for _, c := range s.Controls {
		m.row(c.Name, c.ID, c.Severity, c.Owner, list(c.Requirements))
	}
	m.printf("\n")
}

func (m *mdWriter) criteria(c Criteria) {
	m.printf("## 3. Criteria\n\n%s (`%s`, %d requirements). Findings are due, from when they open:\n\n", c.FrameworkTitle, c.Framework, c.Requirements)
	for _, d := range c.DuePeriods {
		m.printf("- %s: %s\n", d.Severity, humanDuration(d.Period.D()))
	}
	m.printf("\nProposed grading (the auditor may override any grade):\n\n")
	for _, rule := range c.Rules {
		m.printf("- %s\n", rule)
	}
	m.printf("\n")
}

func (m *mdWriter) methodology(me Methodology, p Period) {
	m.printf("## 4. Methodology\n\n%s\n\n", me.Description)
	m.printf("Coverage of the period: %s, from %d ledger entries.\n\n", percent(me.Coverage), me.Entries)
	m.table("Control", "Heartbeat", "Coverage", "Passing", "Failing", "Error", "Not evaluated", "Changes", "Evidence")
	for _, c := range me.Controls {
		m.row(c.Control, dur(Duration(time.Duration(c.HeartbeatSeconds)*time.Second)), percent(c.Coverage), dur(c.Time.Passing),
			dur(c.Time.Failing), dur(c.Time.Error), dur(c.Time.NotEvaluated), fmt.Sprint(c.Transitions), m.cite(c.Evidence))
	}
	m.printf("\nGaps (no control evaluated): %d.\n\n", len(me.Gaps))
	if len(me.Gaps) > 0 {
		m.table("From", "To", "Length", "Reason", "Evidence")
		for _, g := range me.Gaps {
			m.row(ts(g.From), ts(g.To), humanDuration(g.To.Sub(g.From)), g.Reason, m.cite(g.Evidence))
		}
		m.printf("\n")
	}
}

func (m *mdWriter) findings(fs []Finding) {
	m.printf("## 5. Findings\n\n%d Finding(s) open at some time in the period.\n\n", len(fs))
	if len(fs) == 0 {
		return
	}
	m.table("Finding", "Severity", "Requirements", "Subjects", "First seen", "Resolved", "Time to remediate", "Due", "Late", "Evidence")
	for _, f := range fs {
		late := "no"
		if f.Late {
			late = "yes"
		}
		resolved := ts(f.ResolvedAt)
		if f.Open {
			resolved = "open"
		}
		m.row(f.Key, f.Severity, list(f.Requirements), subjectsCell(f), ts(f.FirstSeen), resolved, dur(f.TimeToRemediate), ts(f.DueAt), late, m.cite(f.Evidence))
	}
	m.printf("\n")
}

func subjectsCell(f Finding) string {
	if f.SubjectCount == 0 {
		return "-"
	}
	names := make([]string, 0, 3)
	for _, s := range f.Subjects {
		if len(names) == 3 {
			break
		}
		names = append(names, s[strings.LastIndex(s, "/")+1:])
	}
	out := fmt.Sprintf("%d: %s", f.SubjectCount, strings.Join(names, ", "))
	if f.SubjectCount > len(names) {
		out += ", ..."
	}
	return out
}

func (m *mdWriter) nonconformities(ns []Nonconformity) {
	m.printf("## 6. Nonconformities (proposed grading)\n\n")
	if len(ns) == 0 {
		m.printf("None.\n\n")
		return
	}
	m.table("Grade", "Item", "Requirements", "Rule", "Reason", "Evidence")
	for _, n := range ns {
		item := "requirement " + n.Requirement
		if n.Finding != "" {
			item = "Finding " + n.Finding
		}
		rule := string(n.Grade.Rule)
		if n.Grade.Proposed != nil {
			rule += fmt.Sprintf(" (proposed %s, %s)", n.Grade.Proposed.Severity, n.Grade.Proposed.Rule)
		}
		m.row(string(n.Grade.Severity), item, list(n.Requirements), rule, n.Grade.Reason, m.cite(n.Evidence))
	}
	m.printf("\n")
}

func (m *mdWriter) recommendations(rs []Recommendation) {
	m.printf("## 7. Recommendations\n\n")
	if len(rs) == 0 {
		m.printf("None: no control failed in the period.\n\n")
		return
	}
	for _, r := range rs {
		m.printf("- **%s** (%s; %s): %s\n", r.Control, r.Title, list(r.Requirements), cell(r.Text))
	}
	m.printf("\n")
}

func (m *mdWriter) requirements(rs []Requirement) {
	m.printf("## 8. Compliance status per requirement\n\n")
	m.table("Requirement", "Title", "Status", "Passing", "Not evaluated", "Controls", "Findings", "Evidence")
	var notAssessed []string
	for _, r := range rs {
		if r.Status == StatusNotAssessed {
			notAssessed = append(notAssessed, r.ID)
			continue
		}
		m.row(r.ID, r.Title, string(r.Status), percent(r.PassingShare), percent(r.NotEvaluatedShare), list(r.Controls),
			fmt.Sprint(len(r.Findings)), m.cite(r.Evidence))
	}
	m.printf("\nNot assessed (no Control maps to them and no Statement of Applicability includes them): %s.\n\n", list(notAssessed))
}

func (m *mdWriter) kpis(k KPIs) {
	m.printf("## 9. KPIs\n\n")
	m.table("Week", "Compliance", "Opened", "Closed", "Mean/p90 to acknowledge", "Mean/p90 to remediate", "Overdue", "Exceptions opened", "Exceptions expired")
	for _, w := range k.Weeks {
		m.kpiRow(day(w.From), w.KPI)
	}
	m.kpiRow("**Period**", k.Total)
	m.printf("\n")
}

func (m *mdWriter) kpiRow(label string, k KPI) {
	m.row(label, percent(k.Compliance), fmt.Sprint(k.FindingsOpened), fmt.Sprint(k.FindingsClosed),
		dur(k.MeanAcknowledge)+" / "+dur(k.P90Acknowledge), dur(k.MeanRemediate)+" / "+dur(k.P90Remediate),
		fmt.Sprint(k.Overdue), fmt.Sprint(k.ExceptionsOpened), fmt.Sprint(k.ExceptionsExpired))
}

func (m *mdWriter) exceptions(xs []Exception) {
	m.printf("## 10. Exceptions and accepted risks in force\n\n")
	if len(xs) == 0 {
		m.printf("Exceptions: none.\n\n")
		return
	}
	m.table("Exception", "Controls", "Requirements", "Active from", "Expired", "Evidence")
	for _, x := range xs {
		m.row(x.Key, list(x.Controls), list(x.Requirements), ts(x.ActiveFrom), ts(x.ExpiredAt), m.cite(x.Evidence))
	}
	m.printf("\n")
}

// acceptedRisks continues section 10: the Risks come from the cluster, so they cite nothing.
func (m *mdWriter) acceptedRisks(rs []AcceptedRisk, readAt time.Time) {
	if readAt.IsZero() {
		m.printf("Accepted risks: the risk register was not read (the Controls came from files).\n\n")
		return
	}
	m.printf("Accepted risks (from the cluster's risk register at %s, not the ledger): %d.\n\n", ts(readAt), len(rs))
	if len(rs) == 0 {
		return
	}
	m.table("Risk", "Title", "Owner", "Accepted by", "Since", "Until", "Residual", "Appetite", "Controls", "Requirements", "Justification")
	for _, r := range rs {
		until := ts(r.Until)
		if r.Expired {
			until += " (expired)"
		}
		m.row(r.Name, r.Title, r.Owner, r.AcceptedBy, ts(r.Since), until, residual(r), fmt.Sprint(r.Appetite),
			list(r.Controls), list(r.Requirements), r.Justification)
	}
	m.printf("\n")
}

// residual is a Risk's residual rating as "12 High", or "-" before the operator scored it.
func residual(r AcceptedRisk) string {
	if r.ResidualScore == 0 {
		return "-"
	}
	return strings.TrimSpace(fmt.Sprintf("%d %s", r.ResidualScore, r.ResidualLevel))
}

func (m *mdWriter) followUps(fs []FollowUp) {
	m.printf("## 11. Follow-up actions\n\n")
	if len(fs) == 0 {
		m.printf("None: no Finding is open at the period's end.\n\n")
		return
	}
	m.table("Finding", "Owner", "Severity", "Due", "Overdue", "Action")
	for _, f := range fs {
		overdue := "no"
		if f.Overdue {
			overdue = "yes"
		}
		m.row(f.Finding, f.Owner, f.Severity, ts(f.DueAt), overdue, f.Action)
	}
	m.printf("\n")
}

func (m *mdWriter) conclusion(c Conclusion) {
	m.printf("## 12. Conclusion\n\n%s\n\nProposed grades: %d major, %d minor, %d observation(s).\n\n", c.Summary, c.Majors, c.Minors, c.Observations)
}

// citations lists the leaf hash of every index cited, and the checkpoint they are in.
func (m *mdWriter) citations(cp Checkpoint) {
	m.printf("## Citations\n\nEach #n above is ledger entry n. Verify them against the signed checkpoint below with " +
		"`kubectl isms evidence verify` (see docs/reports.md).\n\n")
	if cp.Text == "" {
		m.printf("No checkpoint was given: these citations cannot be verified as they stand.\n\n")
	} else {
		m.printf("Checkpoint: size %d, root %x.\n\n```\n%s```\n\n", cp.Size, cp.Root, cp.Text)
	}
	indexes := make([]uint64, 0, len(m.cited))
	for i := range m.cited {
		indexes = append(indexes, i)
	}
	sort.Slice(indexes, func(i, j int) bool { return indexes[i] < indexes[j] })
	m.table("Entry", "Leaf hash (SHA-256)")
	for _, i := range indexes {
		m.row(fmt.Sprintf("#%d", i), hex.EncodeToString(m.cited[i]))
	}
}
