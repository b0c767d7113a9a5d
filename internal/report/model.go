package report

import (
	"encoding/json"
	"fmt"
	"time"
)

// Version is the version of the Report format (the JSON output); it changes when a field is
// renamed or removed, not when one is added.
const Version = 1

// Report is the audit report of one framework for one period, computed from the evidence
// ledger by Compute. It holds only plain data, sorted, so that every renderer (Markdown,
// JSON, HTML, OSCAL) writes the same report byte for byte from the same ledger.
type Report struct {
	Version     int       `json:"version"`
	GeneratedAt time.Time `json:"generatedAt"`
	Period      Period    `json:"period"`
	// Objectives are the audit's objectives, as sentences.
	Objectives  []string    `json:"objectives"`
	Scope       Scope       `json:"scope"`
	Criteria    Criteria    `json:"criteria"`
	Methodology Methodology `json:"methodology"`
	// Requirements are every requirement of the framework's catalog, by catalog order.
	Requirements []Requirement `json:"requirements"`
	// Findings are the Findings open at any time in the period, by first seen.
	Findings []Finding `json:"findings"`
	// Nonconformities are the proposed grades of the requirements and Findings that call for
	// one, most severe first.
	Nonconformities []Nonconformity  `json:"nonconformities"`
	Recommendations []Recommendation `json:"recommendations"`
	KPIs            KPIs             `json:"kpis"`
	// Exceptions are the ControlExceptions in force at any time in the period.
	Exceptions []Exception `json:"exceptions"`
	// AcceptedRisks are the Risks accepted by their owners with an acceptance in force at
	// some time in the period, by name, as the risk register stood when the report was
	// computed (Methodology.RisksReadAt): Risks are not in the ledger.
	AcceptedRisks []AcceptedRisk `json:"acceptedRisks"`
	// FollowUps are the Findings still open at the period's end, overdue first.
	FollowUps  []FollowUp `json:"followUps"`
	Conclusion Conclusion `json:"conclusion"`
	// Checkpoint is the signed checkpoint every citation of the report is included in.
	Checkpoint Checkpoint `json:"checkpoint"`
}

// Period is the audit period [From, To).
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Duration returns the length of the period.
func (p Period) Duration() time.Duration { return p.To.Sub(p.From) }

// Scope is what the report covers.
type Scope struct {
	// Origin is the ledger's origin (its signing key's name): the ISMS the evidence is of.
	Origin string `json:"origin"`
	// Clusters names the clusters, when the caller knows them.
	Clusters []string `json:"clusters,omitempty"`
	// Namespaces are the namespaces of the subjects and Findings seen in the period.
	Namespaces []string `json:"namespaces"`
	// Controls are the Controls mapped to the framework, by name.
	Controls []ControlRef `json:"controls"`
	// SoA is the Statement of Applicability in force at the period's end, if known.
	SoA *SoARef `json:"soa,omitempty"`
}

// ControlRef names a Control and what it maps to in the framework.
type ControlRef struct {
	Name         string   `json:"name"`
	ID           string   `json:"id,omitempty"`
	Title        string   `json:"title,omitempty"`
	Severity     string   `json:"severity,omitempty"`
	Owner        string   `json:"owner,omitempty"`
	Attested     bool     `json:"attested,omitempty"`
	Requirements []string `json:"requirements"`
}

// SoARef identifies an approved version of a Statement of Applicability.
type SoARef struct {
	Name       string    `json:"name"`
	Version    string    `json:"version,omitempty"`
	ApprovedBy string    `json:"approvedBy,omitempty"`
	ApprovedAt time.Time `json:"approvedAt,omitzero"`
	Digest     string    `json:"digest,omitempty"`
}

// Criteria are what the evidence is judged against.
type Criteria struct {
	Framework      string `json:"framework"`
	FrameworkTitle string `json:"frameworkTitle"`
	Requirements   int    `json:"requirements"`
	// DuePeriods are the due periods of Findings by severity (the remediation SLA).
	DuePeriods []DuePeriod `json:"duePeriods"`
	// Rules are the grading rules, as sentences.
	Rules []string `json:"rules"`
}

// DuePeriod is the due period of Findings of one severity.
type DuePeriod struct {
	Severity string   `json:"severity"`
	Period   Duration `json:"period"`
}

// Methodology is how the evidence was gathered: automated continuous evaluation.
type Methodology struct {
	Description string `json:"description"`
	// Controls are the evaluated controls with their policy digests and heartbeat.
	Controls []ControlEvaluation `json:"controls"`
	// Coverage is the share of the period (0..1) for which the controls in scope were
	// evaluated, averaged over them.
	Coverage float64 `json:"coverage"`
	// Gaps are the spans when nothing was evaluated: operator outages and heartbeats missed
	// by every control, by start.
	Gaps []Gap `json:"gaps"`
	// Entries counts the ledger entries the report was computed from.
	Entries uint64 `json:"entries"`
	// RisksReadAt is when the risk register was read for AcceptedRisks; zero when it was not
	// read (the Controls came from files), and then no accepted risk is listed.
	RisksReadAt time.Time `json:"risksReadAt,omitzero"`
}

// ControlEvaluation sums up one control's evaluation over the period.
type ControlEvaluation struct {
	Control string `json:"control"`
	// Digests are the policy digests in force during the period, in order of first use.
	Digests          []string `json:"digests"`
	HeartbeatSeconds int64    `json:"heartbeatSeconds"`
	Time             Times    `json:"time"`
	// Coverage is the share of the period the control was evaluated (Pass, Fail or Error).
	Coverage float64 `json:"coverage"`
	// Transitions counts the control's result changes in the period.
	Transitions int        `json:"transitions"`
	Evidence    []Citation `json:"evidence"`
}

// Times splits a span by result; the four add up to the span.
type Times struct {
	Passing      Duration `json:"passing"`
	Failing      Duration `json:"failing"`
	Error        Duration `json:"error"`
	NotEvaluated Duration `json:"notEvaluated"`
}

// Gap is a span of the period without evidence.
type Gap struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Reason string    `json:"reason"`
	// Evidence are the operator-stopped/started leaves around it, when there are any.
	Evidence []Citation `json:"evidence,omitempty"`
}

// Status is where a requirement stands over the period.
type Status string

// The requirement statuses.
const (
	// StatusCompliant: every mapped control passed whenever it was evaluated, and was
	// evaluated for most of the period.
	StatusCompliant Status = "Compliant"
	// StatusNonCompliant: a mapped control failed (or errored) at some time in the period.
	StatusNonCompliant Status = "NonCompliant"
	// StatusNotEvaluated: mapped controls exist but were not evaluated for most of the period.
	StatusNotEvaluated Status = "NotEvaluated"
	// StatusNoEvidence: applicable, but no control maps to it or none left any evidence.
	StatusNoEvidence Status = "NoEvidence"
	// StatusNotApplicable: excluded by the Statement of Applicability.
	StatusNotApplicable Status = "NotApplicable"
	// StatusNotAssessed: no control maps to it and no SoA says it is applicable.
	StatusNotAssessed Status = "NotAssessed"
)

// Requirement is one requirement's compliance over the period.
type Requirement struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Group string `json:"group"`
	// Applicable is true when the SoA includes it, or (without one) a control maps to it.
	Applicable    bool   `json:"applicable"`
	Justification string `json:"justification,omitempty"`
	Status        Status `json:"status"`
	// Controls are the controls mapped to it, by name.
	Controls []string `json:"controls"`
	// Time splits the period: at each instant the requirement fails if any mapped control
	// fails or errors, is not evaluated if none fails and one is not evaluated, else passes.
	Time Times `json:"time"`
	// PassingShare and NotEvaluatedShare are Time.Passing and Time.NotEvaluated over the period.
	PassingShare      float64 `json:"passingShare"`
	NotEvaluatedShare float64 `json:"notEvaluatedShare"`
	// Findings are the keys (control/namespace/name) of the Findings against it.
	Findings []string `json:"findings,omitempty"`
	// Grade is the proposed grade, if the requirement is a nonconformity.
	Grade    *Grade     `json:"grade,omitempty"`
	Evidence []Citation `json:"evidence"`
}

// Finding is one Finding as the period saw it.
type Finding struct {
	// Key is control/namespace/name.
	Key       string `json:"key"`
	Control   string `json:"control"`
	ControlID string `json:"controlID,omitempty"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Severity  string `json:"severity"`
	Owner     string `json:"owner,omitempty"`
	// Requirements are the framework requirements its control maps to.
	Requirements []string `json:"requirements"`
	// Subjects are some of the subjects that failed (at most MaxFindingSubjects);
	// SubjectCount is how many distinct subjects failed in its namespace in the period.
	Subjects     []string `json:"subjects"`
	SubjectCount int      `json:"subjectCount"`
	// FirstSeen is when it first opened in (or before, if open at the start) the period.
	FirstSeen time.Time `json:"firstSeen"`
	// OpenedAt is when it last opened; DueAt is OpenedAt plus its severity's due period.
	OpenedAt       time.Time `json:"openedAt"`
	DueAt          time.Time `json:"dueAt,omitzero"`
	AcknowledgedAt time.Time `json:"acknowledgedAt,omitzero"`
	// ResolvedAt is when it last resolved; zero while open at the period's end.
	ResolvedAt time.Time `json:"resolvedAt,omitzero"`
	// TimeToRemediate is ResolvedAt - OpenedAt of its last remediation.
	TimeToRemediate Duration `json:"timeToRemediate,omitempty"`
	// Late: resolved after DueAt, or still open past it at the period's end.
	Late bool `json:"late"`
	// Reopened counts how often it opened again after a resolution in the period.
	Reopened int        `json:"reopened"`
	Open     bool       `json:"open"`
	Grade    *Grade     `json:"grade,omitempty"`
	Evidence []Citation `json:"evidence"`
}

// Severity of a nonconformity, as ISO 19011 audits grade them.
type Severity string

// The grades, most severe first.
const (
	SeverityMajor       Severity = "major"
	SeverityMinor       Severity = "minor"
	SeverityObservation Severity = "observation"
)

// Rule names the grading rule that produced a grade.
type Rule string

// The grading rules (see grade.go).
const (
	// RuleFailingMostOfPeriod: an applicable requirement failed for most of the period.
	RuleFailingMostOfPeriod Rule = "failing-most-of-period"
	// RuleUnevaluatedMostOfPeriod: an applicable requirement was not evaluated for most of it.
	RuleUnevaluatedMostOfPeriod Rule = "unevaluated-most-of-period"
	// RuleNoEvidence: an applicable requirement with no evidence at all.
	RuleNoEvidence Rule = "no-evidence"
	// RuleRemediatedLate: a Finding resolved after its due date, or open past it.
	RuleRemediatedLate Rule = "remediated-late"
	// RuleRemediatedInTime: a Finding resolved within its due period.
	RuleRemediatedInTime Rule = "remediated-in-time"
	// RuleOpenWithinDue: a Finding still open at the end, its due date ahead.
	RuleOpenWithinDue Rule = "open-within-due"
	// RuleOverride: the auditor's grade (Input.Overrides).
	RuleOverride Rule = "override"
)

// Grade is a proposed grade and why; an auditor overrides it through Input.Overrides.
type Grade struct {
	Severity Severity `json:"severity"`
	Rule     Rule     `json:"rule"`
	Reason   string   `json:"reason"`
	// Proposed is the computed grade when an override replaced it.
	Proposed *Grade `json:"proposed,omitempty"`
}

// Nonconformity is one graded item: a requirement (Requirement set) or a Finding (Finding
// set, the Finding's key).
type Nonconformity struct {
	Requirement string `json:"requirement,omitempty"`
	Finding     string `json:"finding,omitempty"`
	Grade       Grade  `json:"grade"`
	// Requirements are the requirements the item concerns.
	Requirements []string   `json:"requirements"`
	Evidence     []Citation `json:"evidence"`
}

// Recommendation is the remediation advice of a control that failed in the period.
type Recommendation struct {
	Control      string   `json:"control"`
	Title        string   `json:"title,omitempty"`
	Requirements []string `json:"requirements"`
	Text         string   `json:"text"`
}

// KPIs are the period's figures for a management review, per week and in total.
type KPIs struct {
	Weeks []WeekKPI `json:"weeks"`
	Total KPI       `json:"total"`
}

// WeekKPI is the KPI of one week [From, To) (the last may be shorter).
type WeekKPI struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	KPI
}

// KPI is the figures of a span.
type KPI struct {
	// Compliance is the share of requirement-time passing over the evaluated requirement-time
	// of the applicable requirements with controls (0..1).
	Compliance        float64  `json:"compliance"`
	FindingsOpened    int      `json:"findingsOpened"`
	FindingsClosed    int      `json:"findingsClosed"`
	MeanAcknowledge   Duration `json:"meanTimeToAcknowledge"`
	P90Acknowledge    Duration `json:"p90TimeToAcknowledge"`
	MeanRemediate     Duration `json:"meanTimeToRemediate"`
	P90Remediate      Duration `json:"p90TimeToRemediate"`
	Overdue           int      `json:"overdue"`
	ExceptionsOpened  int      `json:"exceptionsOpened"`
	ExceptionsExpired int      `json:"exceptionsExpired"`
}

// Exception is a ControlException in force at some time in the period.
type Exception struct {
	// Key is namespace/name.
	Key          string   `json:"key"`
	Namespace    string   `json:"namespace"`
	Name         string   `json:"name"`
	Controls     []string `json:"controls"`
	Requirements []string `json:"requirements"`
	// ActiveFrom is when it became Active (the period's start if it was already);
	// ExpiredAt when it expired, zero if still active at the end.
	ActiveFrom time.Time  `json:"activeFrom"`
	ExpiredAt  time.Time  `json:"expiredAt,omitzero"`
	Evidence   []Citation `json:"evidence"`
}

// AcceptedRisk is a Risk whose owner accepted it (treatment accept), with an acceptance in
// force at some time in the period. It is the Risk as the cluster held it when the report was
// computed, not as the ledger recorded it: its rating is the current one.
type AcceptedRisk struct {
	Name          string `json:"name"`
	Title         string `json:"title"`
	Owner         string `json:"owner"`
	AcceptedBy    string `json:"acceptedBy"`
	Justification string `json:"justification"`
	// Since is when the Risk was created: the register does not record when the acceptance
	// was made, which is at or after it. Until is when the acceptance ends.
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until"`
	// Expired: the acceptance ended before the period's end.
	Expired bool `json:"expired"`
	// InherentScore and ResidualScore are likelihood × impact (1..25) before treatment and
	// with the Controls that pass now; zero when the operator has not scored the Risk yet.
	InherentScore  int32  `json:"inherentScore,omitempty"`
	ResidualScore  int32  `json:"residualScore,omitempty"`
	ResidualLevel  string `json:"residualLevel,omitempty"`
	Appetite       int32  `json:"appetite"`
	WithinAppetite bool   `json:"withinAppetite"`
	// Controls are the Controls linked to the Risk (in scope of the framework or not).
	Controls []string `json:"controls"`
	// Requirements are the framework's requirements that the in-scope Controls map to.
	Requirements []string `json:"requirements"`
}

// FollowUp is an action left open at the period's end: an open Finding.
type FollowUp struct {
	Finding  string    `json:"finding"`
	Control  string    `json:"control"`
	Owner    string    `json:"owner,omitempty"`
	Severity string    `json:"severity"`
	DueAt    time.Time `json:"dueAt,omitzero"`
	Overdue  bool      `json:"overdue"`
	Action   string    `json:"action"`
}

// Conclusion is the report's overall verdict.
type Conclusion struct {
	// Summary is one paragraph.
	Summary      string `json:"summary"`
	Majors       int    `json:"majors"`
	Minors       int    `json:"minors"`
	Observations int    `json:"observations"`
	// Compliance is the period's total compliance (KPIs.Total.Compliance).
	Compliance float64 `json:"compliance"`
	// Requirements counts the requirements by status.
	Requirements map[Status]int `json:"requirements"`
}

// Citation is a ledger entry a claim rests on: its index and leaf hash, included in the
// report's Checkpoint (check with `kubectl isms evidence verify`).
type Citation struct {
	Index    uint64 `json:"index"`
	LeafHash []byte `json:"leafHash"`
}

// Checkpoint is the signed checkpoint at or after the period's end.
type Checkpoint struct {
	Size uint64 `json:"size"`
	Root []byte `json:"root"`
	// Text is the signed note.
	Text string `json:"text"`
}

// Duration is a time.Duration that reads as "72h0m0s" in JSON.
type Duration time.Duration

// D returns it as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes the duration as its Go string, rounded to the second.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Round(time.Second).String())
}

// UnmarshalJSON reads what MarshalJSON writes.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}
