package report

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	oscal "github.com/defenseunicorns/go-oscal/src/types/oscal-1-1-3"
	"github.com/google/uuid"
)

// The OSCAL export: the report as OSCAL 1.1.3 assessment-results, through go-oscal's types.
// It is a function of the report's content alone: every UUID is a version-5 UUID of stable
// strings (what the object is about), and every time is one of the period's, so the same
// period of the same ledger exports byte for byte the same document.

// oscalNamespace is the UUID namespace of every UUID the export derives.
var oscalNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://isms.dev/oscal/assessment-results"))

// oscalPropNS is the namespace of the export's own properties (OSCAL's are unqualified).
const oscalPropNS = "https://isms.dev/ns/oscal"

// contentUUID derives a UUID from the kind of object and the strings that identify it.
func contentUUID(kind string, parts ...string) string {
	return uuid.NewSHA1(oscalNamespace, []byte(kind+"\x00"+strings.Join(parts, "\x00"))).String()
}

// WriteOSCAL writes the report as an OSCAL 1.1.3 assessment-results document (JSON): one
// result for the period, a finding per assessed requirement, an observation per control's
// evaluation over the period citing its ledger entries.
func WriteOSCAL(w io.Writer, r Report) error {
	// OSCAL dates every result; a report without a period has nothing to date it by.
	if r.Period.From.IsZero() || !r.Period.To.After(r.Period.From) {
		return fmt.Errorf("writing the OSCAL assessment results: the report has no period (from %s to %s)",
			r.Period.From.Format(time.RFC3339), r.Period.To.Format(time.RFC3339))
	}
	doc := oscal.OscalModels{AssessmentResults: oscalAssessmentResults(r)}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("writing the OSCAL assessment results: %w", err)
	}
	return nil
}

// reportKey is what identifies the report's content: the framework, the ISMS, the period,
// and the checkpoint the evidence is in.
func reportKey(r Report) []string {
	return []string{r.Criteria.Framework, r.Scope.Origin, oscalTime(r.Period.From).Format(time.RFC3339Nano),
		oscalTime(r.Period.To).Format(time.RFC3339Nano), fmt.Sprint(r.Checkpoint.Size), hex.EncodeToString(r.Checkpoint.Root)}
}

func oscalAssessmentResults(r Report) *oscal.AssessmentResults {
	key := reportKey(r)
	plan := contentUUID("assessment-plan", key...)
	observations, byControl := oscalObservations(r, key)
	result := oscal.Result{
		UUID:  contentUUID("result", key...),
		Title: fmt.Sprintf("Continuous control monitoring, %s to %s", htmlDate(r.Period.From), htmlDate(r.Period.To)),
		Description: nonEmpty(r.Methodology.Description,
			"Automated continuous evaluation of the Controls mapped to the framework."),
		Start:            oscalTime(r.Period.From),
		End:              ptr(oscalTime(r.Period.To)),
		Props:            oscalResultProps(r),
		ReviewedControls: oscalReviewedControls(r),
		Observations:     nilIfEmpty(observations),
		Findings:         nilIfEmpty(oscalFindings(r, key, byControl)),
		Remarks:          r.Conclusion.Summary,
	}
	return &oscal.AssessmentResults{
		UUID:       contentUUID("assessment-results", key...),
		Metadata:   oscalMetadata(r),
		ImportAp:   oscal.ImportAp{Href: "#" + plan, Remarks: "The assessment plan is the continuous evaluation described in back-matter."},
		Results:    []oscal.Result{result},
		BackMatter: oscalBackMatter(r, plan, key),
	}
}

// oscalMetadata dates the document at the period's end, not at the export: the document
// describes the period, and two exports of it must not differ.
func oscalMetadata(r Report) oscal.Metadata {
	return oscal.Metadata{
		Title: fmt.Sprintf("Audit report: %s, %s to %s",
			nonEmpty(r.Criteria.FrameworkTitle, r.Criteria.Framework, "framework"),
			htmlDate(r.Period.From), htmlDate(r.Period.To)),
		LastModified: oscalTime(r.Period.To),
		Version:      fmt.Sprintf("checkpoint-%d", r.Checkpoint.Size),
		OscalVersion: oscal.Version,
		Props: nilIfEmpty(props(
			"framework", r.Criteria.Framework,
			"ledger-origin", r.Scope.Origin,
			"report-format-version", fmt.Sprint(r.Version))),
	}
}

func oscalResultProps(r Report) *[]oscal.Property {
	return nilIfEmpty(props(
		"coverage", fmt.Sprintf("%.4f", clampShare(r.Methodology.Coverage)),
		"compliance", fmt.Sprintf("%.4f", clampShare(r.Conclusion.Compliance)),
		"ledger-entries", fmt.Sprint(r.Methodology.Entries),
		"majors", fmt.Sprint(r.Conclusion.Majors),
		"minors", fmt.Sprint(r.Conclusion.Minors),
		"observations", fmt.Sprint(r.Conclusion.Observations)))
}

// assessed are the requirements the period assessed: the applicable ones (not excluded by
// the SoA, and not left unassessed without one).
func assessed(r Report) []Requirement {
	var reqs []Requirement
	for _, req := range r.Requirements {
		if req.Status != StatusNotApplicable && req.Status != StatusNotAssessed {
			reqs = append(reqs, req)
		}
	}
	return reqs
}

func oscalReviewedControls(r Report) oscal.ReviewedControls {
	var ids []oscal.AssessedControlsSelectControlById
	for _, req := range assessed(r) {
		ids = append(ids, oscal.AssessedControlsSelectControlById{ControlId: oscalToken(req.ID)})
	}
	selection := oscal.AssessedControls{
		Description:     fmt.Sprintf("The applicable requirements of %s.", nonEmpty(r.Criteria.Framework, "the framework")),
		IncludeControls: nilIfEmpty(ids),
	}
	if len(ids) == 0 {
		selection.Remarks = "No requirement was assessed in the period."
	}
	return oscal.ReviewedControls{ControlSelections: []oscal.AssessedControls{selection}}
}
