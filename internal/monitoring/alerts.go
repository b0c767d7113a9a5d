// Package monitoring holds what a Prometheus needs to watch the operator: the ServiceMonitor
// that scrapes it and the PrometheusRule of its alerts, built with prometheus-operator's API
// types and written to config/prometheus by hack/gen-prometheus; and the Grafana dashboard's
// expressions, read from config/grafana. The alerts' unit tests and the check that every
// expression names only metrics the manager exports live beside them and in controllers.
package monitoring

import (
	"time"
)

const (
	// Job is the job label of the manager's series: the ServiceMonitor sets it, so that the
	// rules do not depend on the Service's name.
	Job = "isms-operator"
	// OperatorOwner is the owner label of the alerts about the operator itself (a Control's
	// alerts carry the Control's spec.owner). Patch the PrometheusRule to name your team.
	OperatorOwner = "isms-operator-admins"
	// RunbookBase is the page the alerts' runbook_url annotations point into, at the anchor
	// of each alert's section.
	RunbookBase = "https://github.com/isms-operator/isms-operator/blob/main/docs/operations.md"
)

// Alert is one alerting rule. Its labels are the series' (control, id, severity and owner
// for a Control's alerts), plus Severity and Owner when set.
type Alert struct {
	Name string
	Expr string
	For  time.Duration
	// Severity and Owner label the alert when its series has no such label: the alerts
	// about the operator itself.
	Severity, Owner string
	Summary         string
	Description     string
}

// RunbookURL is the alert's section in docs/operations.md.
func (a Alert) RunbookURL() string { return RunbookBase + "#" + Anchor(a.Name) }

// Anchor is the fragment GitHub gives a Markdown heading: lower case, spaces as hyphens,
// punctuation other than hyphens and underscores dropped.
func Anchor(heading string) string {
	var out []rune
	for _, r := range heading {
		switch {
		case r >= 'A' && r <= 'Z':
			out = append(out, r-'A'+'a')
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			out = append(out, r)
		case r == ' ':
			out = append(out, '-')
		}
	}
	return string(out)
}

// controlLabels joins a Control's labels (id, severity, owner) onto a per-Control series.
const controlLabels = ` * on (job, instance, control) group_left (id, severity, owner) isms_control_result`

// Alerts are the operator's alerting rules, in the order of their runbooks.
func Alerts() []Alert {
	return []Alert{{
		Name:        "IsmsControlFailing",
		Expr:        `isms_control_result{result="Fail", severity=~"critical|high"} == 1`,
		For:         15 * time.Minute,
		Summary:     `Control {{ $labels.id }} ({{ $labels.severity }}) is failing`,
		Description: `Control {{ $labels.control }} ({{ $labels.id }}, owner {{ $labels.owner }}) has failed for 15 minutes: kubectl get findings -A -l isms.dev/control={{ $labels.control }} lists where.`,
	}, {
		Name:        "IsmsFindingsOverdue",
		Expr:        `(isms_control_findings_overdue > 0)` + controlLabels,
		For:         5 * time.Minute,
		Summary:     `Control {{ $labels.id }} has {{ $value }} overdue Finding(s)`,
		Description: `{{ $value }} open Finding(s) of control {{ $labels.control }} ({{ $labels.id }}, owner {{ $labels.owner }}) are past their due date.`,
	}, {
		Name:        "IsmsControlError",
		Expr:        `isms_control_result{result="Error"} == 1`,
		For:         15 * time.Minute,
		Summary:     `Control {{ $labels.id }} cannot be evaluated`,
		Description: `Control {{ $labels.control }} ({{ $labels.id }}, owner {{ $labels.owner }}) has been in Error for 15 minutes: its conditions say why (kubectl describe control {{ $labels.control }}).`,
	}, {
		Name:        "IsmsEvaluationErrors",
		Expr:        `(isms_control_errored_subjects > 0)` + controlLabels,
		For:         30 * time.Minute,
		Summary:     `Control {{ $labels.id }}: {{ $value }} subject(s) fail to evaluate`,
		Description: `The policy of control {{ $labels.control }} ({{ $labels.id }}, owner {{ $labels.owner }}) errors on {{ $value }} subject(s) for 30 minutes.`,
	}, {
		Name:        "IsmsControlStuckPending",
		Expr:        `isms_control_result{result="Pending"} == 1`,
		For:         30 * time.Minute,
		Summary:     `Control {{ $labels.id }} has been Pending for 30 minutes`,
		Description: `Control {{ $labels.control }} ({{ $labels.id }}, owner {{ $labels.owner }}) has no result after 30 minutes: the watches of its kinds have not synced.`,
	}, {
		Name:        "IsmsOperatorDown",
		Expr:        `absent(up{job="` + Job + `"} == 1)`,
		For:         10 * time.Minute,
		Severity:    "critical",
		Owner:       OperatorOwner,
		Summary:     `The isms-operator manager is down or not scraped`,
		Description: `No isms-operator manager has been scraped successfully for 10 minutes: Controls are not evaluated and no evidence is recorded.`,
	}, {
		Name: "IsmsSweepsLate",
		Expr: `count by (job) (` +
			`(time() - isms_control_last_sweep_timestamp_seconds) > 3 * isms_control_sweep_interval_seconds` +
			` and on (job, instance, control) isms_control_result{result=~"Pass|Fail"}) > 0`,
		For:         15 * time.Minute,
		Severity:    "high",
		Owner:       OperatorOwner,
		Summary:     `{{ $value }} Control(s) not swept in three intervals`,
		Description: `{{ $value }} evaluated Control(s) have not had a full evaluation for more than three times their interval: results may be stale.`,
	}, {
		Name:        "IsmsEvidenceLedgerBehind",
		Expr:        `max by (job, instance) (isms_evidence_queue_length) > 16384 or max by (job, instance) (isms_evidence_append_lag_seconds) > 30`,
		For:         10 * time.Minute,
		Severity:    "high",
		Owner:       OperatorOwner,
		Summary:     `The evidence ledger is falling behind`,
		Description: `The evidence ledger's queue holds more than a quarter of its capacity, or leaves wait more than 30s to be committed, for 10 minutes.`,
	}, {
		Name:        "IsmsEvidenceLedgerFailing",
		Expr:        `sum by (job, instance) (increase(isms_evidence_failed_batches_total[10m]) + increase(isms_evidence_leaves_dropped_total[10m])) > 0`,
		For:         5 * time.Minute,
		Severity:    "high",
		Owner:       OperatorOwner,
		Summary:     `Evidence ledger commits fail or leaves are dropped`,
		Description: `In the last 10 minutes the evidence store refused batch commits, or leaves were dropped because the queue was full.`,
	}}
}
