package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// typoControl maps to A.8.99 (no such Annex A control) and to the real A.8.9.
const typoControl = `apiVersion: isms.dev/v1alpha1
kind: Control
metadata:
  name: typo-control
spec:
  id: TYPO-001
  title: A control whose mapping has a typo
  owner: platform-security
  severity: low
  frameworks:
  - framework: iso27001-2022
    requirements: [A.8.9, A.8.99]
  targets:
    kinds:
    - apiGroups: [apps]
      kinds: [Deployment]
  policy:
    rego: |
      package test.typo
      violation contains {"msg": "never"} if { false }
`

func TestFrameworksLists(t *testing.T) {
	r := kubectlISMS(t, "", "frameworks", "-o", "json")
	r.expectCode(t, 0)
	var list struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Items      []struct {
			Name         string `json:"name"`
			Title        string `json:"title"`
			Complete     bool   `json:"complete"`
			Groups       int    `json:"groups"`
			Requirements int    `json:"requirements"`
		} `json:"items"`
	}
	decodeStrict(t, []byte(r.stdout), &list)
	var names []string
	for _, f := range list.Items {
		names = append(names, f.Name)
		if f.Name == "iso27001-2022" && (f.Requirements != 93 || f.Groups != 4 || !f.Complete) {
			t.Errorf("iso27001-2022: %+v", f)
		}
	}
	if list.Kind != "FrameworkList" || strings.Join(names, ",") != "cis-k8s-1.9,iso27001-2022,nist-800-53-r5,soc2-2017" {
		t.Errorf("list: %+v", list)
	}

	r = kubectlISMS(t, "", "frameworks", "soc2-2017")
	r.expectCode(t, 0)
	for _, want := range []string{"ID      SERIES", "\nCC6.1   CC6 Logical and physical access   ", "\nPI1.5   PI Processing integrity"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the soc2-2017 table lacks %q:\n%s", want, r.stdout)
		}
	}
	r = kubectlISMS(t, "", "frameworks", "iso-27001")
	if r.code != 2 || !strings.Contains(r.stderr, `no catalog for framework "iso-27001": the catalogs are cis-k8s-1.9, iso27001-2022`) {
		t.Errorf("an unknown framework: exit %d, stderr %s", r.code, r.stderr)
	}
	kubectlISMS(t, "", "frameworks", "-f", "x").expectCode(t, 2) // -f without --coverage
	if help := kubectlISMS(t, "", "frameworks", "--help"); !strings.Contains(help.stdout, "kubectl isms frameworks iso27001-2022 --coverage") {
		t.Errorf("help:\n%s", help.stdout)
	}
}

// coverageReport is the documented JSON schema of `frameworks --coverage -o json`.
type coverageReport struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Source     string `json:"source"`
	Controls   int    `json:"controls"`
	Frameworks []struct {
		Framework string `json:"framework"`
		Title     string `json:"title"`
		GroupKind string `json:"groupKind"`
		Complete  bool   `json:"complete"`
		Totals    counts `json:"totals"`
		Groups    []struct {
			ID    string `json:"id"`
			Title string `json:"title"`
			counts
			UncoveredIDs []string `json:"uncoveredIDs"`
		} `json:"groups"`
		Requirements []struct {
			ID        string   `json:"id"`
			Title     string   `json:"title"`
			Group     string   `json:"group"`
			State     string   `json:"state"`
			Automated []string `json:"automated"`
			Attested  []string `json:"attested"`
		} `json:"requirements"`
		Unknown []struct {
			Requirement string   `json:"requirement"`
			Sources     []string `json:"sources"`
		} `json:"unknown"`
	} `json:"frameworks"`
}

type counts struct {
	Requirements int `json:"requirements"`
	Automated    int `json:"automated"`
	Attested     int `json:"attested"`
	Uncovered    int `json:"uncovered"`
}

// libraryISO reads, independently of the plugin, the Annex A ids the library maps to.
func libraryISO(t *testing.T) []string {
	files, _ := filepath.Glob(filepath.Join(repoRoot(), "policies", "*", "policy.yaml"))
	return isoIDsOf(t, files)
}

// attestedISO reads the Annex A ids the attested library (config/library/attested) maps to.
func attestedISO(t *testing.T) []string {
	files, _ := filepath.Glob(filepath.Join(repoRoot(), "config", "library", "attested", "a-*.yaml"))
	return isoIDsOf(t, files)
}

// isoIDsOf reads the iso27001-2022 ids of policy.yaml files or Controls (under spec).
func isoIDsOf(t *testing.T, files []string) []string {
	var ids []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		type mappings struct {
			Frameworks []struct {
				Framework    string   `json:"framework"`
				Requirements []string `json:"requirements"`
			} `json:"frameworks"`
		}
		var meta struct {
			mappings
			Spec mappings `json:"spec"`
		}
		if err := yaml.Unmarshal(raw, &meta); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, m := range append(meta.Frameworks, meta.Spec.Frameworks...) {
			if m.Framework == "iso27001-2022" {
				ids = append(ids, m.Requirements...)
			}
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// TestFrameworksCoverageOffline: the coverage of Annex A by the library's Controls read from
// config/library, with a Control whose typo is listed, not dropped.
func TestFrameworksCoverageOffline(t *testing.T) {
	file := filepath.Join(t.TempDir(), "typo.yaml")
	if err := os.WriteFile(file, []byte(typoControl), 0o600); err != nil {
		t.Fatal(err)
	}
	r := kubectlISMS(t, "", "frameworks", "iso27001-2022", "--coverage", "-f", filepath.Join(repoRoot(), "config", "library"), "-f", file, "-o", "json")
	r.expectCode(t, 0)
	var report coverageReport
	decodeStrict(t, []byte(r.stdout), &report)
	library := libraryISO(t)
	if len(report.Frameworks) != 1 || len(library) < 10 {
		t.Fatalf("report %+v, library ids %v", report, library)
	}
	iso := report.Frameworks[0]
	// The attested Controls (config/library/attested) count for what no automated one covers.
	attested := slices.DeleteFunc(attestedISO(t), func(id string) bool { return slices.Contains(library, id) })
	if len(attested) < 10 {
		t.Fatalf("attested library ids %v", attested)
	}
	if want := (counts{Requirements: 93, Automated: len(library), Attested: len(attested), Uncovered: 93 - len(library) - len(attested)}); iso.Totals != want || report.Source != "files" {
		t.Errorf("totals %+v from %s, want %+v from files", iso.Totals, report.Source, want)
	}
	people := 8 - len(slices.DeleteFunc(slices.Clone(append(library, attested...)), func(id string) bool { return !strings.HasPrefix(id, "A.6.") }))
	if len(iso.Groups) != 4 || iso.Groups[1].ID != "6" || iso.Groups[1].Uncovered != people || len(iso.Groups[1].UncoveredIDs) != people {
		t.Errorf("groups: %+v", iso.Groups)
	}
	if len(iso.Unknown) != 1 || iso.Unknown[0].Requirement != "A.8.99" || strings.Join(iso.Unknown[0].Sources, ",") != "typo-control" {
		t.Errorf("unknown: %+v", iso.Unknown)
	}
	for _, req := range iso.Requirements {
		if req.ID == "A.8.9" && (req.State != "Automated" || !slices.Contains(req.Automated, "typo-control")) {
			t.Errorf("A.8.9: %+v", req)
		}
	}

	table := kubectlISMS(t, "", "frameworks", "iso27001-2022", "--coverage", "--library", "-f", file)
	table.expectCode(t, 0)
	for _, want := range []string{"read from the files and embedded library", "THEME              REQUIREMENTS   AUTOMATED   ATTESTED   UNCOVERED\n",
		"6 People           8              0           0          8\n", "\nUncovered:\n  5 Organizational: A.5.1, A.5.2,", "\n  \"A.8.99\" by typo-control\n"} {
		if !strings.Contains(table.stdout, want) {
			t.Errorf("the coverage table lacks %q:\n%s", want, table.stdout)
		}
	}
}

// TestEvalWarnsOfUnknownRequirements: eval names the typo on standard error and still
// evaluates (exit code 0: the control passes).
func TestEvalWarnsOfUnknownRequirements(t *testing.T) {
	r := kubectlISMS(t, typoControl, "eval", "-f", "-", "-f", "testdata/manifests", "-o", "json")
	r.expectCode(t, 0)
	want := `warning: <stdin>: document 1: Control typo-control: spec.frameworks[0].requirements[1]: iso27001-2022 has no requirement "A.8.99"`
	if !strings.Contains(r.stderr, want) || strings.Count(r.stderr, "warning:") != 1 {
		t.Errorf("stderr lacks %q (once):\n%s", want, r.stderr)
	}
	if r = kubectlISMS(t, "", "eval", "--library", "-f", "testdata/manifests", "--fail-on", "none"); strings.Contains(r.stderr, "warning:") {
		t.Errorf("the library's mappings are warned of:\n%s", r.stderr)
	}
}
