package frameworks

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

// TestEmbeddedCatalogs checks the shipped data: every file loads (shape, unique ids, ids in
// their group), and each framework has the requirements it is known to have, per group.
func TestEmbeddedCatalogs(t *testing.T) {
	set := Default()
	if got, want := strings.Join(set.Names(), ","), "cis-k8s-1.9,iso27001-2022,nist-800-53-r5,soc2-2017"; got != want {
		t.Fatalf("catalogs %s, want %s", got, want)
	}
	want := map[string]map[string]int{
		// Annex A: 5.1-5.37, 6.1-6.8, 7.1-7.14, 8.1-8.34.
		"iso27001-2022": {"5": 37, "6": 8, "7": 14, "8": 34},
		"soc2-2017": {"CC1": 5, "CC2": 3, "CC3": 4, "CC4": 2, "CC5": 3, "CC6": 8, "CC7": 5, "CC8": 1, "CC9": 2,
			"A": 3, "C": 2, "PI": 5, "P": 18},
		// Section 5 (Policies) in full.
		"cis-k8s-1.9": {"5.1": 13, "5.2": 13, "5.3": 2, "5.4": 2, "5.5": 1, "5.7": 4},
	}
	for name, groups := range want {
		cat, ok := set.Lookup(name)
		if !ok {
			t.Fatalf("no catalog %s", name)
		}
		got := map[string]int{}
		for _, r := range cat.Requirements {
			got[r.Group]++
		}
		if fmt.Sprint(got) != fmt.Sprint(groups) {
			t.Errorf("%s: requirements per group %v, want %v", name, got, groups)
		}
		for _, g := range cat.Groups {
			if _, listed := groups[g.ID]; listed != g.Complete {
				t.Errorf("%s: group %s complete=%v, but %d requirements are expected of it", name, g.ID, g.Complete, groups[g.ID])
			}
		}
	}
	if nist, _ := set.Lookup("nist-800-53-r5"); len(nist.Groups) != 20 || nist.Complete() {
		t.Errorf("nist-800-53-r5: %d families (want the 20), complete=%v (want a partial catalog)", len(nist.Groups), nist.Complete())
	}
}

// TestEmbeddedCatalogIDsAreSequential checks that the complete groups of ISO and SOC 2 list
// each number once, from 1 up: a skipped or doubled control shows here.
func TestEmbeddedCatalogIDsAreSequential(t *testing.T) {
	iso, _ := Default().Lookup("iso27001-2022")
	next := map[string]int{}
	for _, r := range iso.Requirements {
		next[r.Group]++
		if want := fmt.Sprintf("A.%s.%d", r.Group, next[r.Group]); r.ID != want {
			t.Errorf("iso27001-2022: %s where %s was expected", r.ID, want)
		}
	}
	soc2, _ := Default().Lookup("soc2-2017")
	for _, id := range []string{"CC1.1", "CC6.8", "CC9.2", "A1.3", "C1.2", "PI1.5", "P6.7", "P8.1"} {
		if _, ok := soc2.Requirement(id); !ok {
			t.Errorf("soc2-2017 lacks %s", id)
		}
	}
}

func TestLoadRejectsMalformedCatalogs(t *testing.T) {
	const header = "name: fw\ntitle: Framework\nidPattern: '^(X)-[0-9]+$'\ngroupKind: family\ngroups:\n- {id: X, title: Ex}\n"
	cases := map[string]struct {
		file, body, wantErr string
	}{
		"name differs from file": {"other.yaml", header + "requirements:\n- {id: X-1, group: X, title: One}\n", `must be the file's name`},
		"duplicate id":           {"fw.yaml", header + "requirements:\n- {id: X-1, group: X, title: One}\n- {id: X-1, group: X, title: Again}\n", "must be unique"},
		"id not matching":        {"fw.yaml", header + "requirements:\n- {id: Y-1, group: X, title: One}\n", "must match idPattern"},
		"group not listed":       {"fw.yaml", "name: fw\ntitle: F\nidPattern: '^(X|Y)-[0-9]+$'\ngroupKind: family\ngroups:\n- {id: X, title: Ex}\nrequirements:\n- {id: Y-1, group: \"Y\", title: One}\n", "not among the groups"},
		"missing title":          {"fw.yaml", header + "requirements:\n- {id: X-1, group: X}\n", "title set"},
		"unknown field":          {"fw.yaml", header + "requirements:\n- {id: X-1, group: X, title: One, text: copied}\n", "unknown field"},
		"pattern without group":  {"fw.yaml", "name: fw\ntitle: F\nidPattern: '^X-[0-9]+$'\ngroupKind: family\ngroups:\n- {id: X, title: Ex}\nrequirements:\n- {id: X-1, group: X, title: One}\n", "first group"},
		"long title": {"fw.yaml", header + "requirements:\n- {id: X-1, group: X, title: " + strings.Repeat("w", maxTitleLen+1) + "}\n",
			"at most 64"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load(fstest.MapFS{tc.file: {Data: []byte(tc.body)}})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.file) {
				t.Fatalf("error %v, want one naming %s and saying %q", err, tc.file, tc.wantErr)
			}
		})
	}
	if _, err := Load(fstest.MapFS{"fw.yaml": {Data: []byte(header + "requirements:\n- {id: X-1, group: X, title: One}\n")}}); err != nil {
		t.Fatalf("a well-formed catalog: %v", err)
	}
}
