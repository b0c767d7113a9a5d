package report

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"

	oscal "github.com/defenseunicorns/go-oscal/src/types/oscal-1-1-3"
)

// oscalObservations makes one observation per control's evaluation over the period, and
// returns their UUIDs by control name for the findings to relate to.
func oscalObservations(r Report, key []string) ([]oscal.Observation, map[string]string) {
	byControl := map[string]string{}
	var observations []oscal.Observation
	for _, ev := range r.Methodology.Controls {
		id := contentUUID("observation", append(append([]string{}, key...), ev.Control)...)
		byControl[ev.Control] = id
		observations = append(observations, oscal.Observation{
			UUID:        id,
			Title:       "Evaluation of Control " + ev.Control,
			Description: observationText(ev),
			Methods:     []string{"TEST"},
			Types:       &[]string{"control-objective"},
			Collected:   oscalTime(r.Period.To),
			Props: nilIfEmpty(props(
				"control", ev.Control,
				"coverage", fmt.Sprintf("%.4f", clampShare(ev.Coverage)),
				"heartbeat-seconds", fmt.Sprint(ev.HeartbeatSeconds),
				"result-changes", fmt.Sprint(ev.Transitions),
				"policy-digests", strings.Join(ev.Digests, " "))),
			RelevantEvidence: nilIfEmpty(relevantEvidence(ev.Evidence)),
		})
	}
	return observations, byControl
}

func observationText(ev ControlEvaluation) string {
	return fmt.Sprintf("Control %s was evaluated automatically for %s of the period (heartbeat %d s): "+
		"passing %s, failing %s, error %s, not evaluated %s; its result changed %d times.",
		ev.Control, htmlPercent(ev.Coverage), ev.HeartbeatSeconds, spanText(ev.Time.Passing),
		spanText(ev.Time.Failing), spanText(ev.Time.Error), spanText(ev.Time.NotEvaluated),
		ev.Transitions)
}

// spanText is a duration in days, hours and minutes, "0" when there was none.
func spanText(d Duration) string {
	if d.D() < time.Minute {
		return "0"
	}
	return htmlDuration(d)
}

// relevantEvidence cites ledger entries by index and leaf hash: `kubectl isms evidence
// verify` checks each against the checkpoint in back-matter.
func relevantEvidence(cites []Citation) []oscal.RelevantEvidence {
	var evidence []oscal.RelevantEvidence
	for _, c := range cites {
		evidence = append(evidence, oscal.RelevantEvidence{
			Description: fmt.Sprintf("Evidence ledger entry #%d", c.Index),
			Props: nilIfEmpty(props(
				"ledger-index", fmt.Sprint(c.Index),
				"leaf-hash", hex.EncodeToString(c.LeafHash))),
		})
	}
	return evidence
}

// oscalFindings makes one finding per assessed requirement: satisfied when it complied over
// the period, not satisfied otherwise, with the observations of its Controls.
func oscalFindings(r Report, key []string, observationOf map[string]string) []oscal.Finding {
	var findings []oscal.Finding
	for _, req := range assessed(r) {
		var related []oscal.RelatedObservation
		for _, control := range req.Controls {
			if id, ok := observationOf[control]; ok {
				related = append(related, oscal.RelatedObservation{ObservationUuid: id})
			}
		}
		findings = append(findings, oscal.Finding{
			UUID:                contentUUID("finding", append(append([]string{}, key...), req.ID)...),
			Title:               strings.TrimSpace(req.ID + " " + req.Title),
			Description:         requirementText(req),
			Target:              findingTarget(req),
			Props:               nilIfEmpty(requirementProps(req)),
			RelatedObservations: nilIfEmpty(related),
		})
	}
	return findings
}

func findingTarget(req Requirement) oscal.FindingTarget {
	status := oscal.ObjectiveStatus{State: "not-satisfied", Reason: "fail"}
	switch req.Status {
	case StatusCompliant:
		status = oscal.ObjectiveStatus{State: "satisfied", Reason: "pass"}
	case StatusNotEvaluated, StatusNoEvidence:
		status.Reason = "other"
	}
	status.Remarks = string(req.Status)
	return oscal.FindingTarget{
		Type:     "objective-id",
		TargetId: oscalToken(req.ID),
		Title:    req.Title,
		Status:   status,
	}
}

func requirementText(req Requirement) string {
	controls := "no Control maps to it"
	if len(req.Controls) > 0 {
		controls = "Controls " + strings.Join(req.Controls, ", ")
	}
	text := fmt.Sprintf("%s over the period (%s): passing %s, not evaluated %s of the period.",
		req.Status, controls, htmlPercent(req.PassingShare), htmlPercent(req.NotEvaluatedShare))
	if len(req.Findings) > 0 {
		text += " Findings: " + strings.Join(req.Findings, ", ") + "."
	}
	if req.Grade != nil {
		text += fmt.Sprintf(" Proposed grade: %s (%s).", req.Grade.Severity, req.Grade.Reason)
	}
	return text
}

func requirementProps(req Requirement) []oscal.Property {
	kv := []string{"requirement-id", req.ID, "status", string(req.Status),
		"passing-share", fmt.Sprintf("%.4f", clampShare(req.PassingShare)),
		"not-evaluated-share", fmt.Sprintf("%.4f", clampShare(req.NotEvaluatedShare))}
	if req.Grade != nil {
		kv = append(kv, "grade", string(req.Grade.Severity), "grade-rule", string(req.Grade.Rule))
	}
	return props(kv...)
}

// oscalBackMatter holds the assessment plan the document imports (the methodology) and the
// signed checkpoint every citation is included in.
func oscalBackMatter(r Report, plan string, key []string) *oscal.BackMatter {
	resources := []oscal.Resource{{
		UUID:        plan,
		Title:       "Assessment plan: continuous automated evaluation",
		Description: nonEmpty(r.Methodology.Description, "Automated continuous evaluation."),
	}, {
		UUID:        contentUUID("checkpoint", key...),
		Title:       "Evidence ledger checkpoint",
		Description: "The signed checkpoint every ledger entry cited here is included in; check with kubectl isms evidence verify.",
		Props: nilIfEmpty(props(
			"checkpoint-size", fmt.Sprint(r.Checkpoint.Size),
			"checkpoint-root", hex.EncodeToString(r.Checkpoint.Root))),
		Remarks: r.Checkpoint.Text,
	}}
	return &oscal.BackMatter{Resources: &resources}
}

// props makes the export's properties from name, value pairs, in the export's namespace;
// a pair with an empty value is left out (OSCAL values are non-empty), and values are
// trimmed (OSCAL values neither start nor end with white space).
func props(kv ...string) []oscal.Property {
	var out []oscal.Property
	for i := 0; i+1 < len(kv); i += 2 {
		if v := strings.TrimSpace(kv[i+1]); v != "" {
			out = append(out, oscal.Property{Name: kv[i], Value: v, Ns: oscalPropNS})
		}
	}
	return out
}

// oscalToken writes a requirement id as an OSCAL token (a letter or _ first, then letters,
// digits, '.', '-', '_'): NIST's "SC-7(5)" becomes "SC-7.5" as in NIST's own OSCAL catalog,
// CIS's "5.1.1" becomes "_5.1.1"; the original id is kept in the requirement-id property.
func oscalToken(id string) string {
	id = strings.NewReplacer("(", ".", ")", "").Replace(id)
	var b strings.Builder
	for i, c := range id {
		valid := unicode.IsLetter(c) || c == '_' || (i > 0 && (unicode.IsDigit(c) || c == '.' || c == '-'))
		switch {
		case valid:
			b.WriteRune(c)
		case i == 0 && (unicode.IsDigit(c) || c == '.' || c == '-'):
			b.WriteRune('_')
			b.WriteRune(c)
		default:
			b.WriteRune('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// oscalTime is t in UTC: OSCAL date-times carry their zone, and UTC keeps exports identical
// whatever the exporter's local zone.
func oscalTime(t time.Time) time.Time { return t.UTC() }

func ptr[T any](v T) *T { return &v }

// nilIfEmpty turns an empty list into an absent one: OSCAL lists, when present, have an item.
func nilIfEmpty[T any](s []T) *[]T {
	if len(s) == 0 {
		return nil
	}
	return &s
}

func nonEmpty(values ...string) string {
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
