// Package gather turns a report request, the cluster's Controls and Risks, and reads of the
// evidence ledger into an audit report: the one path that `kubectl isms report` and the
// manager's GET /evidence/report both take, so that the two compute the same report from
// the same ledger.
package gather

import (
	"fmt"
	"strings"
	"time"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/finding"
	"github.com/isms-operator/isms-operator/internal/frameworks"
	"github.com/isms-operator/isms-operator/internal/policy"
	"github.com/isms-operator/isms-operator/internal/report"
)

// Request is a report asked for by name: the flags of `kubectl isms report` or the query of
// GET /evidence/report.
type Request struct {
	Framework string
	// From is inclusive and To exclusive: RFC 3339 times or dates; a To given as a date
	// includes that day.
	From, To string
	// Overrides are auditor's grades, each ID=major|minor|observation[:reason].
	Overrides []string
	// DuePeriods are the Findings' due periods by severity; nil means the operator's
	// defaults (finding.DefaultWorkflow).
	DuePeriods map[ismsv1.Severity]time.Duration
	// Prefix is put before each parameter's name in messages: "--" for flags.
	Prefix string
}

// RequestError is a request that cannot be served as asked: a usage error, or a 400.
type RequestError struct{ msg string }

func (e *RequestError) Error() string { return e.msg }

func requestErrorf(format string, args ...any) error {
	return &RequestError{fmt.Sprintf(format, args...)}
}

// maxEcho bounds how much of a bad value a message repeats.
const maxEcho = 60

// Input checks the request and returns the report's input without the ledger, Controls and
// Risks (see AddObjects and FromLedger).
func Input(req Request) (report.Input, error) {
	catalog, found := frameworks.Default().Lookup(req.Framework)
	if !found {
		return report.Input{}, requestErrorf("%sframework %q has no catalog; known: %s", req.Prefix, policy.Truncate(req.Framework, maxEcho),
			strings.Join(frameworks.Default().Names(), ", "))
	}
	period, err := ParsePeriod(req.Prefix, req.From, req.To)
	if err != nil {
		return report.Input{}, err
	}
	overrides, err := ParseOverrides(req.Prefix, req.Overrides)
	if err != nil {
		return report.Input{}, err
	}
	periods := req.DuePeriods
	if periods == nil {
		periods = finding.DefaultWorkflow().DuePeriods
	}
	due := make(map[string]time.Duration, len(periods))
	for sev, d := range periods {
		due[string(sev)] = d
	}
	return report.Input{Catalog: catalog, Period: period, DuePeriods: due, Overrides: overrides}, nil
}

// AddObjects adds the Controls that map to the input's framework and the accepted Risks of
// the register, read at readAt (Risks are not in the ledger). A nil risks with a zero readAt
// means the register was not read.
func AddObjects(in *report.Input, controls []ismsv1.Control, risks []ismsv1.Risk, readAt time.Time) {
	in.Controls = report.ControlsOf(in.Catalog.Name, controls)
	in.Risks, in.RisksReadAt = report.RisksOf(risks), readAt
}

// ParsePeriod reads the period's bounds; a date-only to includes its day.
func ParsePeriod(prefix, fromText, toText string) (report.Period, error) {
	if fromText == "" || toText == "" {
		return report.Period{}, requestErrorf("%sfrom and %sto are required", prefix, prefix)
	}
	from, err := ParseTime(prefix+"from", fromText)
	if err != nil {
		return report.Period{}, err
	}
	to, err := ParseTime(prefix+"to", toText)
	if err != nil {
		return report.Period{}, err
	}
	if _, dateErr := time.Parse(time.DateOnly, toText); dateErr == nil {
		to = to.AddDate(0, 0, 1)
	}
	if !from.Before(to) {
		return report.Period{}, requestErrorf("%sfrom must be before %sto", prefix, prefix)
	}
	if to.Sub(from) > report.MaxPeriod {
		return report.Period{}, requestErrorf("the period is longer than %d days", int(report.MaxPeriod.Hours()/24))
	}
	return report.Period{From: from, To: to}, nil
}

// ParseTime reads an RFC 3339 time, or a date meaning midnight UTC. Empty is zero.
func ParseTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, requestErrorf("%s: %q is not an RFC 3339 time (2026-03-14T09:00:00Z) or a date (2026-03-14)", name, policy.Truncate(v, maxEcho))
}

// ParseOverrides reads ID=grade[:reason] overrides.
func ParseOverrides(prefix string, texts []string) (map[string]report.Override, error) {
	out := map[string]report.Override{}
	for _, text := range texts {
		id, rest, ok := strings.Cut(text, "=")
		grade, reason, _ := strings.Cut(rest, ":")
		o := report.Override{Severity: report.Severity(grade), Reason: policy.Truncate(reason, 256)}
		if !ok || id == "" || !report.ValidSeverity(o.Severity) {
			return nil, requestErrorf("%soverride %q: want ID=major|minor|observation[:reason]", prefix, policy.Truncate(text, 80))
		}
		out[id] = o
	}
	return out, nil
}
