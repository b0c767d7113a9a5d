package main

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// testStatement is a statement as the operator leaves it: three decided entries, one of them
// with hostile text, and the status rows of three requirements.
func testStatement() *ismsv1.StatementOfApplicability {
	s := &ismsv1.StatementOfApplicability{ObjectMeta: metav1.ObjectMeta{Name: "platform", Generation: 2},
		Spec: ismsv1.StatementOfApplicabilitySpec{Framework: "iso27001-2022", Scope: "The platform", Version: "2026.1",
			Entries: []ismsv1.SoAEntry{
				{Requirement: "A.8.9", Applicable: true, Owner: "platform-team",
					Inclusions: []ismsv1.SoAInclusion{{Reason: ismsv1.InclusionRiskAssessment, Risks: []string{"lateral-movement"}}, {Reason: ismsv1.InclusionContractual, Note: "MSA §4"}}},
				{Requirement: "A.7.4", ExclusionJustification: "=HYPERLINK(\"x\") | no premises\n<b>cloud</b>"},
			}},
		Status: ismsv1.StatementOfApplicabilityStatus{ObservedGeneration: 2,
			Totals: ismsv1.SoATotals{Requirements: 3, Applicable: 1, NotApplicable: 1, NotAssessed: 1, Partial: 1},
			Conditions: []metav1.Condition{{Type: ismsv1.SoAConditionApproved, Status: metav1.ConditionTrue, Reason: ismsv1.ReasonSoAApproved,
				Message: "Version 2026.1 was approved by bob at 2026-03-14T09:00:00Z"}},
			Requirements: []ismsv1.SoARequirementStatus{
				{ID: "A.7.4", Title: "Physical security monitoring", State: ismsv1.SoANotApplicable},
				{ID: "A.8.1", Title: "User endpoint devices", State: ismsv1.SoANotAssessed},
				{ID: "A.8.9", Title: "Configuration management", State: ismsv1.SoAPartial, ControlCount: 3, OpenFindings: 2,
					Controls:   []ismsv1.SoAControlResult{{Name: "no-privileged", Result: ismsv1.ResultFail}, {Name: "image-tag", Result: ismsv1.ResultPass}},
					Exceptions: []string{"legacy-batch"}, Risks: []string{"lateral-movement"}},
			}}}
	return s
}

func renderSoA(t *testing.T, format string) string {
	t.Helper()
	var out bytes.Buffer
	if err := printSoA(&out, format, soaReportOf(testStatement())); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestSoAMarkdown(t *testing.T) {
	got := renderSoA(t, "md")
	want := `# Statement of Applicability: platform

- Framework: iso27001-2022
- Version: 2026.1
- Scope: The platform
- Approval: Version 2026.1 was approved by bob at 2026-03-14T09:00:00Z
- 3 requirements: 1 applicable (0 implemented, 0 attested, 1 partial, 0 not implemented, 0 not evaluated), 1 not applicable, 1 not assessed

| ID | Title | Applicable | Justification | Owner | State | Controls | Open findings | Exceptions | Risks |
|---|---|---|---|---|---|---|---|---|---|
| A.7.4 | Physical security monitoring | no | =HYPERLINK("x") \| no premises &lt;b&gt;cloud&lt;/b&gt; |  | NotApplicable |  | 0 |  |  |
| A.8.1 | User endpoint devices |  |  |  | NotAssessed |  | 0 |  |  |
| A.8.9 | Configuration management | yes | RiskAssessment (lateral-movement); Contractual: MSA §4 | platform-team | Partial | no-privileged (Fail), image-tag (Pass), and 1 more | 2 | legacy-batch | lateral-movement |
`
	if got != want {
		t.Fatalf("markdown:\n%s\nwant:\n%s", got, want)
	}
}

func TestSoACSV(t *testing.T) {
	records, err := csv.NewReader(strings.NewReader(renderSoA(t, "csv"))).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v", err)
	}
	if len(records) != 4 || len(records[0]) != len(soaColumns) || records[0][0] != "ID" {
		t.Fatalf("CSV of %d records: %q", len(records), records)
	}
	cases := map[string]struct {
		row, col int
		want     string
	}{
		"a formula is defused":          {1, 3, `'=HYPERLINK("x") | no premises <b>cloud</b>`},
		"a not-assessed row is kept":    {2, 5, "NotAssessed"},
		"controls, with how many more":  {3, 6, "no-privileged (Fail), image-tag (Pass), and 1 more"},
		"inclusion reasons with risks":  {3, 3, "RiskAssessment (lateral-movement); Contractual: MSA §4"},
		"open findings of the controls": {3, 7, "2"},
	}
	for name, tc := range cases {
		if got := records[tc.row][tc.col]; got != tc.want {
			t.Errorf("%s: cell %d,%d is %q, want %q", name, tc.row, tc.col, got, tc.want)
		}
	}
}

func TestSoAHTMLEscapes(t *testing.T) {
	got := renderSoA(t, "html")
	if strings.Contains(got, "<b>cloud</b>") || !strings.Contains(got, "&lt;b&gt;cloud&lt;/b&gt;") {
		t.Fatal("the justification's markup is not escaped")
	}
	for _, external := range []string{"<script", "src=", "href="} {
		if strings.Contains(got, external) {
			t.Errorf("the page is not self-contained: it has %q", external)
		}
	}
	if !strings.Contains(got, `<tr class="Partial"><td>A.8.9</td>`) {
		t.Error("the A.8.9 row is missing")
	}
}
