package soa

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/frameworks"
)

var now = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

func iso(t *testing.T) *frameworks.Catalog {
	t.Helper()
	cat, ok := frameworks.Default().Lookup(ismsv1.DefaultSoAFramework)
	if !ok {
		t.Fatal("no ISO/IEC 27001:2022 catalog")
	}
	return cat
}

// control is a Control named name mapping to ISO requirements, with a result.
func control(name string, result ismsv1.ControlResult, attested bool, requirements ...string) ismsv1.Control {
	c := ismsv1.Control{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: ismsv1.ControlStatus{Result: result}}
	c.Spec.Frameworks = []ismsv1.FrameworkMapping{{Framework: ismsv1.DefaultSoAFramework, Requirements: requirements}}
	if attested {
		c.Spec.Attestation = &ismsv1.ControlAttestationSchedule{Every: "90d"}
	}
	return c
}

func applicable(id string) ismsv1.SoAEntry {
	return ismsv1.SoAEntry{Requirement: id, Applicable: true, Inclusions: []ismsv1.SoAInclusion{{Reason: ismsv1.InclusionBusinessNeed}}}
}

func TestStateOf(t *testing.T) {
	pass := ismsv1.SoAControlResult{Name: "p", Result: ismsv1.ResultPass}
	fail := ismsv1.SoAControlResult{Name: "f", Result: ismsv1.ResultFail}
	pending := ismsv1.SoAControlResult{Name: "w", Result: ismsv1.ResultPending}
	errored := ismsv1.SoAControlResult{Name: "e", Result: ismsv1.ResultError}
	nothing := ismsv1.SoAControlResult{Name: "n", Result: ismsv1.ResultNotApplicable}
	attestedPass := ismsv1.SoAControlResult{Name: "a", Result: ismsv1.ResultPass, Attested: true}
	attestedFail := ismsv1.SoAControlResult{Name: "x", Result: ismsv1.ResultFail, Attested: true}
	entry := applicable("A.8.9")
	excluded := ismsv1.SoAEntry{Requirement: "A.8.9", ExclusionJustification: "no such thing here"}
	cases := map[string]struct {
		entry    *ismsv1.SoAEntry
		controls []ismsv1.SoAControlResult
		want     ismsv1.SoAImplementation
	}{
		"no entry, even with passing controls":   {nil, []ismsv1.SoAControlResult{pass}, ismsv1.SoANotAssessed},
		"not applicable, even with failures":     {&excluded, []ismsv1.SoAControlResult{fail}, ismsv1.SoANotApplicable},
		"applicable, no control maps to it":      {&entry, nil, ismsv1.SoANotEvaluated},
		"only pending and errored controls":      {&entry, []ismsv1.SoAControlResult{pending, errored}, ismsv1.SoANotEvaluated},
		"only controls with nothing to evaluate": {&entry, []ismsv1.SoAControlResult{nothing}, ismsv1.SoANotEvaluated},
		"every control passes":                   {&entry, []ismsv1.SoAControlResult{pass, nothing}, ismsv1.SoAImplemented},
		"attested and automated pass":            {&entry, []ismsv1.SoAControlResult{pass, attestedPass}, ismsv1.SoAImplemented},
		"only attested controls, passing":        {&entry, []ismsv1.SoAControlResult{attestedPass}, ismsv1.SoAAttested},
		"an attested control fails":              {&entry, []ismsv1.SoAControlResult{attestedPass, attestedFail}, ismsv1.SoAPartial},
		"one passes, one fails":                  {&entry, []ismsv1.SoAControlResult{pass, fail}, ismsv1.SoAPartial},
		"one passes, one pending":                {&entry, []ismsv1.SoAControlResult{pass, pending}, ismsv1.SoAPartial},
		"every control fails":                    {&entry, []ismsv1.SoAControlResult{fail, attestedFail}, ismsv1.SoANotImplemented},
		"fails and errors, none passes":          {&entry, []ismsv1.SoAControlResult{fail, errored}, ismsv1.SoANotImplemented},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := StateOf(tc.entry, tc.controls); got != tc.want {
				t.Fatalf("StateOf = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestComputeKeepsEveryRequirement: a statement of three entries still lists all 93 Annex A
// controls, the unnamed ones NotAssessed, and the totals add up.
func TestComputeKeepsEveryRequirement(t *testing.T) {
	in := Input{Catalog: iso(t),
		Entries: []ismsv1.SoAEntry{applicable("A.8.9"), applicable("A.5.1"),
			{Requirement: "A.7.4", ExclusionJustification: "a cloud-only organisation: no premises"}},
		Controls: []ismsv1.Control{control("config-pass", ismsv1.ResultPass, false, "A.8.9"),
			control("config-fail", ismsv1.ResultFail, false, "A.8.9"),
			control("policies", ismsv1.ResultPass, true, "A.5.1")},
	}
	res := Compute(in, now)
	if len(res.Requirements) != 93 {
		t.Fatalf("%d requirements, want the 93 of Annex A", len(res.Requirements))
	}
	states := map[string]ismsv1.SoAImplementation{}
	for _, r := range res.Requirements {
		states[r.ID] = r.State
	}
	for id, want := range map[string]ismsv1.SoAImplementation{"A.8.9": ismsv1.SoAPartial, "A.5.1": ismsv1.SoAAttested,
		"A.7.4": ismsv1.SoANotApplicable, "A.8.1": ismsv1.SoANotAssessed, "A.6.8": ismsv1.SoANotAssessed} {
		if states[id] != want {
			t.Errorf("%s is %s, want %s", id, states[id], want)
		}
	}
	want := ismsv1.SoATotals{Requirements: 93, Applicable: 2, NotApplicable: 1, NotAssessed: 90, Attested: 1, Partial: 1}
	if diff := cmp.Diff(want, res.Totals); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
	if res.Requirements[0].ID != "A.5.1" || res.Requirements[92].ID != "A.8.34" {
		t.Errorf("rows are not in the catalog's order: first %s, last %s", res.Requirements[0].ID, res.Requirements[92].ID)
	}
}

// TestComputeRow: a row lists its Controls with their results, counts their open Findings,
// names the exceptions in force (not the expired ones) and the Risks the Controls treat.
func TestComputeRow(t *testing.T) {
	finding := func(ctl string, state ismsv1.FindingState) ismsv1.Finding {
		return ismsv1.Finding{Spec: ismsv1.FindingSpec{Control: ctl}, Status: ismsv1.FindingStatus{State: state}}
	}
	ex := func(name string, expires time.Time, controls ...string) ismsv1.ControlException {
		return ismsv1.ControlException{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: ismsv1.ControlExceptionSpec{Controls: controls, ExpiresAt: metav1.NewTime(expires)}}
	}
	rk := func(name string, controls ...string) ismsv1.Risk {
		r := ismsv1.Risk{ObjectMeta: metav1.ObjectMeta{Name: name}}
		for _, c := range controls {
			r.Spec.Controls = append(r.Spec.Controls, ismsv1.RiskControlRef{Name: c})
		}
		return r
	}
	in := Input{Catalog: iso(t), Entries: []ismsv1.SoAEntry{applicable("A.8.9")},
		Controls: []ismsv1.Control{control("b", ismsv1.ResultFail, false, "A.8.9"), control("a", ismsv1.ResultPass, false, "A.8.9", "A.8.20"),
			control("elsewhere", ismsv1.ResultFail, false, "A.8.20")},
		Findings: []ismsv1.Finding{finding("b", ismsv1.FindingOpen), finding("b", ismsv1.FindingAcknowledged),
			finding("b", ismsv1.FindingResolved), finding("elsewhere", ismsv1.FindingOpen)},
		Exceptions: []ismsv1.ControlException{ex("in-force", now.Add(time.Hour), "b"), ex("expired", now.Add(-time.Hour), "b"),
			ex("other", now.Add(time.Hour), "elsewhere")},
		Risks: []ismsv1.Risk{rk("r2", "a", "b"), rk("r1", "b"), rk("r3", "elsewhere")},
	}
	row := Compute(in, now).Requirements[rowIndex(t, "A.8.9")]
	want := ismsv1.SoARequirementStatus{ID: "A.8.9", Title: row.Title, State: ismsv1.SoAPartial, ControlCount: 2,
		Controls:     []ismsv1.SoAControlResult{{Name: "a", Result: ismsv1.ResultPass}, {Name: "b", Result: ismsv1.ResultFail}},
		OpenFindings: 2, ExceptionCount: 1, Exceptions: []string{"in-force"}, RiskCount: 2, Risks: []string{"r1", "r2"}}
	if diff := cmp.Diff(want, row); diff != "" {
		t.Errorf("row (-want +got):\n%s", diff)
	}
	if row.Title == "" {
		t.Error("the row has no title")
	}
}

// TestComputeCapsRows: a requirement with more Controls, exceptions and Risks than a row
// holds lists the first by name and counts them all.
func TestComputeCapsRows(t *testing.T) {
	in := Input{Catalog: iso(t), Entries: []ismsv1.SoAEntry{applicable("A.8.9")}}
	for i := range 25 {
		name := strings.Repeat("c", 200) + string(rune('a'+i))
		in.Controls = append(in.Controls, control(name, ismsv1.ResultPass, false, "A.8.9"))
		in.Exceptions = append(in.Exceptions, ismsv1.ControlException{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: ismsv1.ControlExceptionSpec{Controls: []string{name}, ExpiresAt: metav1.NewTime(now.Add(time.Hour))}})
		in.Risks = append(in.Risks, ismsv1.Risk{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: ismsv1.RiskSpec{Controls: []ismsv1.RiskControlRef{{Name: name}}}})
	}
	row := Compute(in, now).Requirements[rowIndex(t, "A.8.9")]
	if len(row.Controls) != ismsv1.MaxSoARowControls || len(row.Exceptions) != ismsv1.MaxSoARowExceptions || len(row.Risks) != ismsv1.MaxSoARowRisks {
		t.Fatalf("lists of %d, %d, %d", len(row.Controls), len(row.Exceptions), len(row.Risks))
	}
	if row.ControlCount != 25 || row.ExceptionCount != 25 || row.RiskCount != 25 {
		t.Fatalf("counts %d, %d, %d, want 25 each", row.ControlCount, row.ExceptionCount, row.RiskCount)
	}
	if !strings.HasSuffix(row.Controls[0].Name, "a") || row.State != ismsv1.SoAImplemented {
		t.Fatalf("first listed %q, state %s", row.Controls[0].Name, row.State)
	}
}

// TestComputeReportsUnknownIDs: an entry naming an id the catalog lacks is reported with its
// field path, and does not add a row.
func TestComputeReportsUnknownIDs(t *testing.T) {
	in := Input{Catalog: iso(t), Entries: []ismsv1.SoAEntry{applicable("A.5.1"), applicable("A.8.99"), applicable("8.9")}}
	res := Compute(in, now)
	if len(res.Requirements) != 93 || len(res.Unknown) != 2 {
		t.Fatalf("%d rows, %d unknown", len(res.Requirements), len(res.Unknown))
	}
	msg := UnknownMessage(res.Unknown)
	for _, want := range []string{"spec.entries[1].requirement", `"A.8.99"`, "spec.entries[2].requirement", `did you mean "A.8.9"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if got := UnknownIDs(res.Unknown); !cmp.Equal(got, []string{"A.8.99", "8.9"}) {
		t.Errorf("unknown ids %q", got)
	}
	if msg := UnknownMessage(nil); !strings.Contains(msg, "Every entry") {
		t.Errorf("message without problems: %q", msg)
	}
}

// TestCatalogsFitTheStatus: every embedded catalog fits in status.requirements, and the CRD's
// framework enum names exactly the embedded catalogs.
func TestCatalogsFitTheStatus(t *testing.T) {
	for _, cat := range frameworks.Default().Catalogs() {
		if len(cat.Requirements) > ismsv1.MaxSoARequirements {
			t.Errorf("%s has %d requirements, more than status holds (%d)", cat.Name, len(cat.Requirements), ismsv1.MaxSoARequirements)
		}
	}
	if diff := cmp.Diff(frameworks.Default().Names(), crdFrameworkEnum(t)); diff != "" {
		t.Errorf("the frameworks a statement may name differ from the catalogs (-catalogs +enum):\n%s", diff)
	}
}

// crdFrameworkEnum reads spec.framework's enum from the generated CRD, sorted.
func crdFrameworkEnum(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", "isms.dev_statementofapplicabilities.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["framework"].Enum {
		out = append(out, strings.Trim(string(v.Raw), `"`))
	}
	slices.Sort(out)
	return out
}

func rowIndex(t *testing.T, id string) int {
	t.Helper()
	for i, r := range iso(t).Requirements {
		if r.ID == id {
			return i
		}
	}
	t.Fatalf("no requirement %s", id)
	return -1
}
