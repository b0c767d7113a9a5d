package report_test

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/isms-operator/isms-operator/internal/frameworks"
	"github.com/isms-operator/isms-operator/internal/report"
)

// The HTML and OSCAL renderers' tests render a generated report: a year of a plausible ISMS
// (the ISO 27001 catalog, a dozen Controls, Findings opened and closed every week) whose
// Control texts are hostile, as user-written input may be.

// hostileTexts are what a Control's author may write: markup that must stay text, and one
// unbroken string long enough to overflow any table that does not wrap it.
var hostileTexts = []string{
	`<script>document.documentElement.dataset.pwned="script"</script>`,
	`"><img src=x onerror="document.documentElement.dataset.pwned='img'">`,
	`</td></tr></table><h2 id="objectives">forged section</h2>`,
	"unbroken-" + strings.Repeat("x", 400),
}

var fixtureFrom = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fixtureCitation is a ledger citation with a leaf hash derived from its index.
func fixtureCitation(index uint64) report.Citation {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], index)
	leaf := sha256.Sum256(b[:])
	return report.Citation{Index: index, LeafHash: leaf[:]}
}

func fixtureCitations(rng *rand.Rand, n int) []report.Citation {
	cites := make([]report.Citation, n)
	for i := range cites {
		cites[i] = fixtureCitation(rng.Uint64N(1 << 20))
	}
	return cites
}

// fixtureReport generates a year-long ISO 27001 report, the same one for the same seed.
func fixtureReport(seed uint64) report.Report {
	rng := rand.New(rand.NewPCG(seed, 15))
	catalog, ok := frameworks.Default().Lookup("iso27001-2022")
	if !ok {
		panic("no iso27001-2022 catalog")
	}
	to := fixtureFrom.AddDate(1, 0, 0)
	r := report.Report{
		Version:     report.Version,
		GeneratedAt: to.Add(2 * time.Hour),
		Period:      report.Period{From: fixtureFrom, To: to},
		Objectives: []string{
			"Determine the conformity of the ISMS's technical controls to ISO/IEC 27001:2022 Annex A.",
			"Evaluate the effectiveness of continuous control monitoring over the period. " + hostileTexts[0],
		},
		Scope: report.Scope{Origin: "isms.example/prod", Clusters: []string{"prod-eu-1", "prod-us-1"},
			SoA: &report.SoARef{Name: "isms", Version: "3", ApprovedBy: "ciso@example.com",
				ApprovedAt: fixtureFrom.AddDate(0, -1, 0), Digest: "sha256:" + strings.Repeat("ab", 32)}},
		Criteria: report.Criteria{Framework: catalog.Name, FrameworkTitle: catalog.Title,
			Requirements: len(catalog.Requirements),
			DuePeriods: []report.DuePeriod{{"critical", report.Duration(72 * time.Hour)}, {"high", report.Duration(7 * 24 * time.Hour)},
				{"medium", report.Duration(30 * 24 * time.Hour)}},
			Rules: []string{"Major: an applicable requirement failing or unevaluated for most of the period.",
				"Minor: failures remediated late.", "Observation: remediated within the due period."}},
		Checkpoint: report.Checkpoint{Size: 1 << 20, Root: fixtureCitation(1 << 21).LeafHash,
			Text: "isms.example/prod\n1048576\nq83Zx…=\n\n— isms.example/prod Az3x…\n"},
	}
	controls := fixtureControls(rng, catalog)
	r.Scope.Controls = controls
	r.Scope.Namespaces = []string{"default", "payments", "web", hostileTexts[3]}
	r.Methodology = fixtureMethodology(rng, controls)
	r.Requirements = fixtureRequirements(rng, catalog, controls)
	r.Findings, r.FollowUps = fixtureFindings(rng, controls)
	r.Nonconformities = fixtureNonconformities(r)
	r.Recommendations = []report.Recommendation{{Control: controls[0].Name, Title: controls[0].Title,
		Requirements: controls[0].Requirements, Text: "Set resources.limits on every container. " + hostileTexts[1]}}
	r.KPIs = fixtureKPIs(rng, r.Period)
	r.Exceptions = []report.Exception{{Key: "payments/legacy-batch", Namespace: "payments", Name: "legacy-batch",
		Controls: []string{controls[1].Name}, Requirements: controls[1].Requirements,
		ActiveFrom: fixtureFrom, ExpiredAt: fixtureFrom.AddDate(0, 3, 0), Evidence: fixtureCitations(rng, 2)}}
	r.Methodology.RisksReadAt = r.GeneratedAt
	r.AcceptedRisks = []report.AcceptedRisk{{Name: "legacy-registry", Title: "Images from the legacy registry " + hostileTexts[2],
		Owner: "platform", AcceptedBy: "ciso@example.com", Justification: "Migration planned. " + hostileTexts[3],
		Since: fixtureFrom.AddDate(0, -2, 0), Until: fixtureFrom.AddDate(0, 9, 0), Expired: true, InherentScore: 12,
		ResidualScore: 8, ResidualLevel: "Medium", Appetite: 9, WithinAppetite: true, Controls: []string{controls[3].Name},
		Requirements: controls[3].Requirements}}
	r.Conclusion = fixtureConclusion(r)
	return r
}

func fixtureControls(rng *rand.Rand, catalog *frameworks.Catalog) []report.ControlRef {
	names := []string{"require-resource-limits", "no-privileged-containers", "require-network-policy",
		"images-from-trusted-registry", "no-latest-tag", "require-probes", "pod-security-restricted",
		"secrets-not-in-env", "require-owner-label", "tls-ingress-only", "audit-logging-enabled", hostileTexts[0]}
	controls := make([]report.ControlRef, len(names))
	for i, name := range names {
		reqs := []string{catalog.Requirements[rng.IntN(len(catalog.Requirements))].ID,
			catalog.Requirements[60+i].ID}
		controls[i] = report.ControlRef{Name: name, ID: fmt.Sprintf("K8S-%03d", i+1), Title: "Control " + name,
			Severity: []string{"critical", "high", "medium", "low"}[i%4], Owner: "team-" + fmt.Sprint(i%3),
			Attested: i == 10, Requirements: reqs}
	}
	return controls
}

func fixtureMethodology(rng *rand.Rand, controls []report.ControlRef) report.Methodology {
	m := report.Methodology{Description: "Automated continuous evaluation of Rego policies against the cluster's objects.",
		Coverage: 0.97, Entries: 1 << 20}
	year := report.Duration(365 * 24 * time.Hour)
	for _, c := range controls {
		failing := report.Duration(rng.Int64N(int64(year) / 5))
		m.Controls = append(m.Controls, report.ControlEvaluation{Control: c.Name,
			Digests:          []string{"sha256:" + strings.Repeat("0f", 32)},
			HeartbeatSeconds: 300, Coverage: 0.9 + rng.Float64()/10, Transitions: rng.IntN(40),
			Time: report.Times{Passing: year - failing - report.Duration(time.Hour), Failing: failing,
				NotEvaluated: report.Duration(time.Hour)},
			Evidence: fixtureCitations(rng, 2)})
	}
	m.Gaps = []report.Gap{{From: fixtureFrom.AddDate(0, 4, 2), To: fixtureFrom.AddDate(0, 4, 2).Add(3 * time.Hour),
		Reason: "operator stopped", Evidence: fixtureCitations(rng, 2)}}
	return m
}

func fixtureRequirements(rng *rand.Rand, catalog *frameworks.Catalog, controls []report.ControlRef) []report.Requirement {
	mapped := map[string][]string{}
	for _, c := range controls {
		for _, id := range c.Requirements {
			mapped[id] = append(mapped[id], c.Name)
		}
	}
	var reqs []report.Requirement
	for i, cr := range catalog.Requirements {
		req := report.Requirement{ID: cr.ID, Title: cr.Title, Group: cr.Group, Controls: mapped[cr.ID],
			Applicable: i%17 != 5, Status: report.StatusNotAssessed}
		switch {
		case !req.Applicable:
			req.Status, req.Justification = report.StatusNotApplicable, "No development in scope. "+hostileTexts[2]
		case len(req.Controls) > 0:
			req.PassingShare = 0.6 + rng.Float64()*0.4
			req.Status, req.Evidence = report.StatusCompliant, fixtureCitations(rng, 3)
			if req.PassingShare < 0.9 {
				req.Status = report.StatusNonCompliant
				req.Findings = []string{req.Controls[0] + "/payments/f-" + cr.ID}
			}
		}
		reqs = append(reqs, req)
	}
	return reqs
}

func fixtureFindings(rng *rand.Rand, controls []report.ControlRef) ([]report.Finding, []report.FollowUp) {
	var findings []report.Finding
	var followUps []report.FollowUp
	for i := range 30 {
		c := controls[i%len(controls)]
		opened := fixtureFrom.Add(time.Duration(rng.Int64N(int64(360 * 24 * time.Hour))))
		f := report.Finding{Key: fmt.Sprintf("%s/payments/f-%d", c.Name, i), Control: c.Name, ControlID: c.ID,
			Namespace: "payments", Name: fmt.Sprintf("f-%d", i), Severity: c.Severity, Owner: c.Owner,
			Requirements: c.Requirements, Subjects: []string{"Deployment payments/api", "Deployment payments/" + hostileTexts[3]},
			SubjectCount: 2 + rng.IntN(50), FirstSeen: opened, OpenedAt: opened, DueAt: opened.Add(7 * 24 * time.Hour),
			AcknowledgedAt: opened.Add(time.Duration(rng.IntN(48)) * time.Hour), Evidence: fixtureCitations(rng, 3)}
		if i%5 == 4 {
			f.Open, f.AcknowledgedAt = true, time.Time{}
			f.Late = opened.AddDate(0, 0, 7).Before(fixtureFrom.AddDate(1, 0, 0))
			followUps = append(followUps, report.FollowUp{Finding: f.Key, Control: c.Name, Owner: c.Owner,
				Severity: c.Severity, DueAt: f.DueAt, Overdue: f.Late, Action: "Remediate: " + hostileTexts[1]})
		} else {
			ttr := time.Duration(1+rng.IntN(14*24)) * time.Hour
			f.ResolvedAt, f.TimeToRemediate = opened.Add(ttr), report.Duration(ttr)
			f.Late = ttr > 7*24*time.Hour
		}
		f.Grade = &report.Grade{Severity: report.SeverityObservation, Rule: report.RuleRemediatedInTime, Reason: "resolved within its due period"}
		if f.Late {
			f.Grade = &report.Grade{Severity: report.SeverityMinor, Rule: report.RuleRemediatedLate, Reason: "resolved after its due date"}
		}
		findings = append(findings, f)
	}
	return findings, followUps
}

func fixtureNonconformities(r report.Report) []report.Nonconformity {
	var ncs []report.Nonconformity
	for _, req := range r.Requirements {
		if req.Status == report.StatusNonCompliant {
			ncs = append(ncs, report.Nonconformity{Requirement: req.ID, Requirements: []string{req.ID}, Evidence: req.Evidence,
				Grade: report.Grade{Severity: report.SeverityMajor, Rule: report.RuleFailingMostOfPeriod, Reason: "failing for most of the period"}})
		}
	}
	for _, f := range r.Findings {
		ncs = append(ncs, report.Nonconformity{Finding: f.Key, Requirements: f.Requirements, Evidence: f.Evidence, Grade: *f.Grade})
	}
	return ncs
}

func fixtureKPIs(rng *rand.Rand, p report.Period) report.KPIs {
	var k report.KPIs
	for from := p.From; from.Before(p.To); from = from.AddDate(0, 0, 7) {
		to := from.AddDate(0, 0, 7)
		if to.After(p.To) {
			to = p.To
		}
		w := report.WeekKPI{From: from, To: to, KPI: report.KPI{Compliance: 0.75 + rng.Float64()/4,
			FindingsOpened: rng.IntN(6), FindingsClosed: rng.IntN(6),
			MeanAcknowledge: report.Duration(time.Duration(rng.IntN(48)) * time.Hour),
			MeanRemediate:   report.Duration(time.Duration(rng.IntN(200)) * time.Hour), Overdue: rng.IntN(3)}}
		w.P90Acknowledge, w.P90Remediate = w.MeanAcknowledge*2, w.MeanRemediate*2
		k.Weeks = append(k.Weeks, w)
		k.Total.FindingsOpened += w.FindingsOpened
		k.Total.FindingsClosed += w.FindingsClosed
	}
	k.Total.Compliance, k.Total.ExceptionsOpened, k.Total.ExceptionsExpired = 0.88, 1, 1
	return k
}

func fixtureConclusion(r report.Report) report.Conclusion {
	c := report.Conclusion{Summary: "The ISMS's automated controls were evaluated for 97 % of the period. " + hostileTexts[2],
		Compliance: r.KPIs.Total.Compliance, Requirements: map[report.Status]int{}}
	for _, nc := range r.Nonconformities {
		switch nc.Grade.Severity {
		case report.SeverityMajor:
			c.Majors++
		case report.SeverityMinor:
			c.Minors++
		default:
			c.Observations++
		}
	}
	for _, req := range r.Requirements {
		c.Requirements[req.Status]++
	}
	return c
}
