package report_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/defenseunicorns/go-oscal/src/pkg/validation"
	oscal "github.com/defenseunicorns/go-oscal/src/types/oscal-1-1-3"

	"github.com/isms-operator/isms-operator/internal/report"
)

// exportOSCAL writes the report as OSCAL and validates it against the official OSCAL 1.1.3
// JSON schema go-oscal embeds: every export the tests make is checked.
func exportOSCAL(t *testing.T, r report.Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := report.WriteOSCAL(&buf, r); err != nil {
		t.Fatal(err)
	}
	validator, err := validation.NewValidatorDesiredVersion(buf.Bytes(), oscal.Version)
	if err != nil {
		t.Fatalf("OSCAL export: %v", err)
	}
	if err := validator.Validate(); err != nil {
		result, _ := validator.GetValidationResult()
		for i, e := range result.Errors {
			if i == 20 {
				break
			}
			t.Errorf("schema: %s at %s: %v", e.Error, e.InstanceLocation, e.FailedValue)
		}
		t.Fatalf("OSCAL export is not valid OSCAL %s: %v", oscal.Version, err)
	}
	return buf.Bytes()
}

func decodeOSCAL(t *testing.T, doc []byte) *oscal.AssessmentResults {
	t.Helper()
	var models oscal.OscalModels
	if err := json.Unmarshal(doc, &models); err != nil {
		t.Fatal(err)
	}
	if models.AssessmentResults == nil {
		t.Fatal("the export has no assessment-results")
	}
	return models.AssessmentResults
}

func TestWriteOSCALIsValidOSCAL(t *testing.T) {
	computed, err := report.Compute(goldenInput(t))
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]report.Report{
		"generated report with hostile Control texts": fixtureReport(1),
		"computed from a generated ledger":            computed,
		"a period and nothing else":                   {Period: report.Period{From: goldenFrom, To: goldenTo}},
	} {
		t.Run(name, func(t *testing.T) { exportOSCAL(t, r) })
	}
}

// OSCAL dates every result by its period: a report without one is refused, not exported
// with the year 1.
func TestWriteOSCALRefusesAReportWithoutAPeriod(t *testing.T) {
	var buf bytes.Buffer
	if err := report.WriteOSCAL(&buf, report.Report{}); err == nil || buf.Len() != 0 {
		t.Fatalf("WriteOSCAL of an empty report: err %v, %d bytes written", err, buf.Len())
	}
}

// The same period exports byte for byte the same document: computed twice at different
// times (GeneratedAt differs), and from a report whose times are in another zone.
func TestWriteOSCALIsByteIdentical(t *testing.T) {
	first, second := goldenInput(t), goldenInput(t)
	second.Now = func() time.Time { return goldenTo.Add(48 * time.Hour) }
	a, err := report.Compute(first)
	if err != nil {
		t.Fatal(err)
	}
	b, err := report.Compute(second)
	if err != nil {
		t.Fatal(err)
	}
	if a.GeneratedAt.Equal(b.GeneratedAt) {
		t.Fatal("the two reports were generated at the same time: the test shows nothing")
	}
	zoned := b
	zoned.Period = report.Period{From: b.Period.From.In(time.FixedZone("CET", 3600)), To: b.Period.To.In(time.FixedZone("CET", 3600))}
	docA, docB, docZoned := exportOSCAL(t, a), exportOSCAL(t, b), exportOSCAL(t, zoned)
	if !bytes.Equal(docA, docB) || !bytes.Equal(docA, docZoned) {
		t.Fatal("two exports of the same period differ")
	}
	// And the UUIDs follow the content: another checkpoint is another document.
	other := a
	other.Checkpoint.Size++
	if docOther := exportOSCAL(t, other); decodeOSCAL(t, docOther).UUID == decodeOSCAL(t, docA).UUID {
		t.Fatal("a report on another checkpoint exports the same document UUID")
	}
}

// The export says what the report says: one result for the period, a finding per assessed
// requirement with its status, an observation per control evaluation citing its entries.
func TestWriteOSCALContent(t *testing.T) {
	r, err := report.Compute(goldenInput(t))
	if err != nil {
		t.Fatal(err)
	}
	ar := decodeOSCAL(t, exportOSCAL(t, r))
	if len(ar.Results) != 1 {
		t.Fatalf("%d results, want one for the period", len(ar.Results))
	}
	result := ar.Results[0]
	if !result.Start.Equal(r.Period.From) || result.End == nil || !result.End.Equal(r.Period.To) ||
		!ar.Metadata.LastModified.Equal(r.Period.To) {
		t.Errorf("result from %v to %v, last modified %v; want the period %v to %v",
			result.Start, result.End, ar.Metadata.LastModified, r.Period.From, r.Period.To)
	}
	checkOSCALFindings(t, r, result)
	checkOSCALObservations(t, r, result)
}

func checkOSCALFindings(t *testing.T, r report.Report, result oscal.Result) {
	t.Helper()
	want := map[string]string{} // requirement id -> objective state
	for _, req := range r.Requirements {
		switch req.Status {
		case report.StatusNotApplicable, report.StatusNotAssessed:
		case report.StatusCompliant:
			want[req.ID] = "satisfied"
		default:
			want[req.ID] = "not-satisfied"
		}
	}
	if len(want) == 0 || result.Findings == nil || len(*result.Findings) != len(want) {
		t.Fatalf("findings: %v for %d assessed requirements", result.Findings, len(want))
	}
	states := map[string]int{}
	for _, f := range *result.Findings {
		states[f.Target.Status.State]++
		if f.Target.Type != "objective-id" || want[f.Target.TargetId] != f.Target.Status.State {
			t.Errorf("finding %q: target %s %q is %s, want objective-id %s", f.Title, f.Target.Type,
				f.Target.TargetId, f.Target.Status.State, want[f.Target.TargetId])
		}
	}
	if states["satisfied"] == 0 || states["not-satisfied"] == 0 {
		t.Errorf("the generated ledger should give both states, got %v", states)
	}
	var reviewed []string
	for _, c := range *result.ReviewedControls.ControlSelections[0].IncludeControls {
		reviewed = append(reviewed, c.ControlId)
	}
	if len(reviewed) != len(want) {
		t.Errorf("reviewed controls %v, want the %d assessed requirements", reviewed, len(want))
	}
}

func checkOSCALObservations(t *testing.T, r report.Report, result oscal.Result) {
	t.Helper()
	if result.Observations == nil || len(*result.Observations) != len(r.Methodology.Controls) {
		t.Fatalf("observations: %v for %d control evaluations", result.Observations, len(r.Methodology.Controls))
	}
	for i, o := range *result.Observations {
		ev := r.Methodology.Controls[i]
		if len(o.Methods) != 1 || o.Methods[0] != "TEST" {
			t.Errorf("observation of %s: methods %v, want [TEST]", ev.Control, o.Methods)
		}
		var got []string
		if o.RelevantEvidence != nil {
			for _, e := range *o.RelevantEvidence {
				got = append(got, propValue(e.Props, "ledger-index")+" "+propValue(e.Props, "leaf-hash"))
			}
		}
		var wantCites []string
		for _, c := range ev.Evidence {
			wantCites = append(wantCites, fmt.Sprintf("%d %x", c.Index, c.LeafHash))
		}
		if fmt.Sprint(got) != fmt.Sprint(wantCites) {
			t.Errorf("observation of %s cites %v, want %v", ev.Control, got, wantCites)
		}
	}
}

func propValue(props *[]oscal.Property, name string) string {
	if props == nil {
		return ""
	}
	for _, p := range *props {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}
