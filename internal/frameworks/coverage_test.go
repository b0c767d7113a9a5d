package frameworks

import (
	"fmt"
	"testing"
	"testing/fstest"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// testCatalog has two groups of two requirements and a group with none.
func testCatalog(t *testing.T) *Catalog {
	t.Helper()
	set, err := Load(fstest.MapFS{"fw.yaml": {Data: []byte(`name: fw
title: Framework
idPattern: '^([A-C])-[0-9]+$'
groupKind: family
groups:
- {id: A, title: Alpha, complete: true}
- {id: B, title: Beta}
- {id: C, title: Gamma}
requirements:
- {id: A-1, group: A, title: One}
- {id: A-2, group: A, title: Two}
- {id: B-1, group: B, title: Three}
- {id: B-2, group: B, title: Four}
`)}})
	if err != nil {
		t.Fatal(err)
	}
	cat, _ := set.Lookup("fw")
	return cat
}

func source(name string, evidence Evidence, mappings ...ismsv1.FrameworkMapping) Source {
	return Source{Kind: "Control", Name: name, Evidence: evidence, Frameworks: mappings}
}

func TestComputeCoverage(t *testing.T) {
	cases := map[string]struct {
		sources []Source
		totals  Counts
		// groups: "id automated/attested/uncovered uncovered-ids"
		groups  []string
		states  map[string]State
		unknown string
	}{
		"nothing maps": {
			totals: Counts{Requirements: 4, Uncovered: 4},
			groups: []string{"A 0/0/2 [A-1 A-2]", "B 0/0/2 [B-1 B-2]"},
		},
		"automated evidence covers, other frameworks are ignored": {
			sources: []Source{
				source("c1", EvidenceAutomated, mapping("fw", "A-1", "B-2"), mapping("other", "A-2")),
				source("c2", EvidenceAutomated, mapping("fw", "A-1")),
			},
			totals: Counts{Requirements: 4, Automated: 2, Uncovered: 2},
			groups: []string{"A 1/0/1 [A-2]", "B 1/0/1 [B-1]"},
			states: map[string]State{"A-1": StateAutomated, "B-2": StateAutomated, "A-2": StateUncovered},
		},
		"an attested source counts where no Control does": {
			sources: []Source{
				source("att", EvidenceAttested, mapping("fw", "A-1", "A-2")),
				source("c1", EvidenceAutomated, mapping("fw", "A-1")),
			},
			totals: Counts{Requirements: 4, Automated: 1, Attested: 1, Uncovered: 2},
			groups: []string{"A 1/1/0 []", "B 0/0/2 [B-1 B-2]"},
			states: map[string]State{"A-1": StateAutomated, "A-2": StateAttested},
		},
		"a typo is listed as unknown, not dropped": {
			sources: []Source{
				source("c2", EvidenceAutomated, mapping("fw", "A-3")),
				source("c1", EvidenceAutomated, mapping("fw", "A-3", "B-1", "a-1")),
			},
			totals:  Counts{Requirements: 4, Automated: 1, Uncovered: 3},
			groups:  []string{"A 0/0/2 [A-1 A-2]", "B 1/0/1 [B-2]"},
			unknown: "[{A-3 [c1 c2]} {a-1 [c1]}]",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cov := ComputeCoverage(testCatalog(t), tc.sources)
			if cov.Totals != tc.totals || cov.Complete {
				t.Errorf("totals %+v complete=%v, want %+v and a partial catalog", cov.Totals, cov.Complete, tc.totals)
			}
			var groups []string
			for _, g := range cov.Groups {
				groups = append(groups, fmt.Sprintf("%s %d/%d/%d %v", g.ID, g.Automated, g.Attested, g.Uncovered, g.UncoveredIDs))
			}
			if fmt.Sprint(groups) != fmt.Sprint(tc.groups) {
				t.Errorf("groups %v, want %v", groups, tc.groups)
			}
			for _, r := range cov.Requirements {
				if want, ok := tc.states[r.ID]; ok && r.State != want {
					t.Errorf("%s: %s, want %s", r.ID, r.State, want)
				}
			}
			if got := fmt.Sprint(cov.Unknown); tc.unknown != "" && got != tc.unknown || tc.unknown == "" && len(cov.Unknown) > 0 {
				t.Errorf("unknown %s, want %s", got, tc.unknown)
			}
		})
	}
}

// TestComputeCoverageNamesSources: each requirement lists its sources once, sorted, per
// evidence, so that a reader sees which Controls stand behind it.
func TestComputeCoverageNamesSources(t *testing.T) {
	cov := ComputeCoverage(testCatalog(t), []Source{
		source("zeta", EvidenceAutomated, mapping("fw", "A-1", "A-1")),
		source("alpha", EvidenceAutomated, mapping("fw", "A-1")),
		source("att", EvidenceAttested, mapping("fw", "A-1")),
	})
	r := cov.Requirements[0]
	if r.ID != "A-1" || fmt.Sprint(r.Automated) != "[alpha zeta]" || fmt.Sprint(r.Attested) != "[att]" || r.Title != "One" {
		t.Errorf("A-1: %+v", r)
	}
}

func TestControlSources(t *testing.T) {
	c := ismsv1.Control{}
	c.Name = "isms-lib-x"
	c.Spec.Frameworks = []ismsv1.FrameworkMapping{mapping("fw", "B-1")}
	cov := ComputeCoverage(testCatalog(t), ControlSources([]ismsv1.Control{c}))
	if cov.Totals.Automated != 1 || fmt.Sprint(cov.Requirements[2].Automated) != "[isms-lib-x]" {
		t.Errorf("a Control is automated evidence: %+v", cov.Requirements[2])
	}
}
