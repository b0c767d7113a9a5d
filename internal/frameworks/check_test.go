package frameworks

import (
	"strings"
	"testing"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

func mapping(framework string, ids ...string) ismsv1.FrameworkMapping {
	return ismsv1.FrameworkMapping{Framework: framework, Requirements: ids}
}

func TestCheck(t *testing.T) {
	type want struct{ field, reason, says string }
	cases := map[string]struct {
		mappings []ismsv1.FrameworkMapping
		want     []want
	}{
		"all known": {
			mappings: []ismsv1.FrameworkMapping{mapping("iso27001-2022", "A.8.9", "A.5.15"), mapping("soc2-2017", "CC6.1"),
				mapping("nist-800-53-r5", "SC-7(5)"), mapping("cis-k8s-1.9", "5.2.4")},
		},
		"typo in a complete theme": {
			mappings: []ismsv1.FrameworkMapping{mapping("iso27001-2022", "A.8.9", "A.8.99")},
			want:     []want{{"spec.frameworks[0].requirements[1]", ismsv1.ReasonUnknownRequirement, `iso27001-2022 has no requirement "A.8.99"`}},
		},
		"prefix left out": {
			mappings: []ismsv1.FrameworkMapping{mapping("iso27001-2022", "8.9")},
			want:     []want{{"spec.frameworks[0].requirements[0]", ismsv1.ReasonUnknownRequirement, `is not a requirement id of iso27001-2022 (did you mean "A.8.9", Configuration management?): not counted in coverage`}},
		},
		"wrong case": {
			mappings: []ismsv1.FrameworkMapping{mapping("soc2-2017", "cc6.1")},
			want:     []want{{"spec.frameworks[0].requirements[0]", ismsv1.ReasonUnknownRequirement, `did you mean "CC6.1"`}},
		},
		"malformed id": {
			mappings: []ismsv1.FrameworkMapping{mapping("nist-800-53-r5", "AC6")},
			want:     []want{{"spec.frameworks[0].requirements[0]", ismsv1.ReasonUnknownRequirement, `"AC6" is not a requirement id of nist-800-53-r5`}},
		},
		"well-formed id of a family listed in part": {
			mappings: []ismsv1.FrameworkMapping{mapping("nist-800-53-r5", "SI-3"), mapping("cis-k8s-1.9", "1.2.5")},
			want: []want{
				{"spec.frameworks[0].requirements[0]", ismsv1.ReasonUncataloguedRequirement, "lists only the requirements of SI (System and information integrity)"},
				{"spec.frameworks[1].requirements[0]", ismsv1.ReasonUncataloguedRequirement, `"1.2.5" is not in the catalog of cis-k8s-1.9`},
			},
		},
		"missing id of a CIS section listed in full": {
			mappings: []ismsv1.FrameworkMapping{mapping("cis-k8s-1.9", "5.2.14")},
			want:     []want{{"spec.frameworks[0].requirements[0]", ismsv1.ReasonUnknownRequirement, "cis-k8s-1.9 has no requirement"}},
		},
		"custom framework": {
			mappings: []ismsv1.FrameworkMapping{mapping("acme-controls", "ACME-1")},
			want:     []want{{"spec.frameworks[0].framework", ismsv1.ReasonUnknownFramework, "(the catalogs: cis-k8s-1.9, iso27001-2022, nist-800-53-r5, soc2-2017), so its requirements are not checked: a custom framework is allowed"}},
		},
		"misspelt framework": {
			mappings: []ismsv1.FrameworkMapping{mapping("iso-8.9"), mapping("ISO27001", "A.8.9")},
			want: []want{
				{"spec.frameworks[0].framework", ismsv1.ReasonUnknownFramework, `framework "iso-8.9" has no catalog (the catalogs`},
				{"spec.frameworks[1].framework", ismsv1.ReasonUnknownFramework, `did you mean "iso27001-2022"?`},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := Check(tc.mappings)
			if len(got) != len(tc.want) {
				t.Fatalf("problems %v, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if got[i].Field != w.field || got[i].Reason != w.reason || !strings.Contains(got[i].Message, w.says) {
					t.Errorf("problem %d: %+v, want %s %s saying %q", i, got[i], w.field, w.reason, w.says)
				}
			}
		})
	}
}

// TestCheckBoundsHostileInput: ids and names are quoted cut, so that a message stays short
// whatever a file holds.
func TestCheckBoundsHostileInput(t *testing.T) {
	long := strings.Repeat("é", 500)
	for _, p := range Check([]ismsv1.FrameworkMapping{mapping("iso27001-2022", long), mapping(long, "x")}) {
		if len(p.Message) > 400 || len(p.Requirement) > maxIDLen || len(p.Framework) > maxIDLen || !strings.Contains(p.Message, "...") {
			t.Errorf("unbounded problem (%d bytes): %s", len(p.Message), p.Message)
		}
	}
}

func TestSummarize(t *testing.T) {
	cases := map[string]struct {
		mappings []ismsv1.FrameworkMapping
		known    bool
		reason   string
		says     []string
	}{
		"no problem": {
			mappings: []ismsv1.FrameworkMapping{mapping("iso27001-2022", "A.8.9")},
			known:    true, reason: ismsv1.ReasonRequirementsKnown,
		},
		"no mapping": {known: true, reason: ismsv1.ReasonRequirementsKnown},
		"the surest mistake gives the reason and comes first": {
			mappings: []ismsv1.FrameworkMapping{mapping("acme", "1"), mapping("nist-800-53-r5", "SI-3"), mapping("iso27001-2022", "A.9.1")},
			reason:   ismsv1.ReasonUnknownRequirement,
			says:     []string{`spec.frameworks[2].requirements[0]: "A.9.1" is not a requirement id`, "; spec.frameworks[1].requirements[0]", "; spec.frameworks[0].framework"},
		},
		"many problems are counted, not all quoted": {
			mappings: []ismsv1.FrameworkMapping{mapping("iso27001-2022", "A.1", "A.2", "A.3", "A.4", "A.5")},
			reason:   ismsv1.ReasonUnknownRequirement,
			says:     []string{"requirements[2]", "; and 2 more"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			v := Summarize(Check(tc.mappings))
			if v.Known != tc.known || v.Reason != tc.reason || v.Message == "" {
				t.Fatalf("verdict %+v, want known=%v reason %s", v, tc.known, tc.reason)
			}
			at := 0
			for _, s := range tc.says {
				i := strings.Index(v.Message[at:], s)
				if i < 0 {
					t.Fatalf("message %q lacks %q (in this order)", v.Message, s)
				}
				at += i + len(s)
			}
			if strings.Contains(v.Message, "requirements[3]") {
				t.Errorf("message quotes more than %d problems: %s", maxListed, v.Message)
			}
		})
	}
}

func TestAdmissionWarnings(t *testing.T) {
	if w := AdmissionWarnings([]ismsv1.FrameworkMapping{mapping("iso27001-2022", "A.8.9")}); len(w) != 0 {
		t.Errorf("warnings for known mappings: %v", w)
	}
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = "A.8." + strings.Repeat("9", i+2)
	}
	w := AdmissionWarnings([]ismsv1.FrameworkMapping{mapping("iso27001-2022", ids...)})
	if len(w) != maxWarnings+1 || !strings.HasPrefix(w[0], "spec.frameworks[0].requirements[0]: ") || w[maxWarnings] != "12 more framework mapping problem(s)" {
		t.Fatalf("warnings %q", w)
	}
	for _, s := range w {
		if len(s) > maxWarningLen {
			t.Errorf("warning of %d bytes: %s", len(s), s)
		}
	}
}
