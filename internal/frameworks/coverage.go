package frameworks

import (
	"slices"
	"sort"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// Evidence is how a source shows that the requirements it maps to are met.
type Evidence string

const (
	// EvidenceAutomated: a Control, evaluated by the operator against the cluster.
	EvidenceAutomated Evidence = "Automated"
	// EvidenceAttested: an attested Control (spec.attestation), whose evidence is a person's
	// approved statement on a schedule rather than an evaluation of the cluster.
	EvidenceAttested Evidence = "Attested"
)

// Source is anything that provides evidence for the requirements it maps to.
type Source struct {
	// Kind and Name identify it, e.g. Control isms-lib-no-host-ipc.
	Kind       string
	Name       string
	Evidence   Evidence
	Frameworks []ismsv1.FrameworkMapping
}

// ControlSources returns Controls as sources of evidence: attested ones of attested evidence,
// the others of automated evidence.
func ControlSources(controls []ismsv1.Control) []Source {
	out := make([]Source, len(controls))
	for i, c := range controls {
		evidence := EvidenceAutomated
		if c.IsAttested() {
			evidence = EvidenceAttested
		}
		out[i] = Source{Kind: "Control", Name: c.Name, Evidence: evidence, Frameworks: c.Spec.Frameworks}
	}
	return out
}

// State is how a requirement is covered: by the strongest evidence any source gives.
type State string

const (
	// StateAutomated: at least one Control maps to the requirement.
	StateAutomated State = "Automated"
	// StateAttested: no Control, but at least one attested control maps to it.
	StateAttested State = "Attested"
	// StateUncovered: nothing maps to it.
	StateUncovered State = "Uncovered"
)

// Counts counts requirements by State; each requirement is counted once.
type Counts struct {
	Requirements int `json:"requirements"`
	Automated    int `json:"automated"`
	Attested     int `json:"attested"`
	Uncovered    int `json:"uncovered"`
}

func (c *Counts) add(s State) {
	c.Requirements++
	switch s {
	case StateAutomated:
		c.Automated++
	case StateAttested:
		c.Attested++
	default:
		c.Uncovered++
	}
}

// Coverage is how the sources cover one framework's catalog.
type Coverage struct {
	Framework string `json:"framework"`
	Title     string `json:"title"`
	GroupKind string `json:"groupKind"`
	// Complete is false when the catalog lists only the requirements the policy library maps
	// to: the counts are then of those, not of the whole framework.
	Complete bool            `json:"complete"`
	Totals   Counts          `json:"totals"`
	Groups   []GroupCoverage `json:"groups"`
	// Requirements are every requirement of the catalog, in its order.
	Requirements []RequirementCoverage `json:"requirements"`
	// Unknown are the ids that sources map to and the catalog lacks: a typo shows up here
	// rather than vanishing from the counts.
	Unknown []UnknownMapping `json:"unknown"`
}

// GroupCoverage counts one theme, family or section. Groups the catalog lists no requirement
// of are left out.
type GroupCoverage struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Counts
	// UncoveredIDs are the ids of the group's requirements that nothing maps to.
	UncoveredIDs []string `json:"uncoveredIDs"`
}

// RequirementCoverage is one requirement with the sources that map to it, by evidence.
type RequirementCoverage struct {
	Requirement
	State     State    `json:"state"`
	Automated []string `json:"automated,omitempty"`
	Attested  []string `json:"attested,omitempty"`
}

// UnknownMapping is a requirement id the catalog lacks, with the sources naming it.
type UnknownMapping struct {
	Requirement string   `json:"requirement"`
	Sources     []string `json:"sources"`
}

// ComputeCoverage says, for every requirement of the catalog, which sources map to it and so
// whether it is covered by automated evidence, by attestation only, or not at all.
func ComputeCoverage(cat *Catalog, sources []Source) Coverage {
	mapped := map[string]map[Evidence][]string{} // requirement -> evidence -> source names
	for _, src := range sources {
		for _, m := range src.Frameworks {
			if m.Framework != cat.Name {
				continue
			}
			for _, id := range m.Requirements {
				if mapped[id] == nil {
					mapped[id] = map[Evidence][]string{}
				}
				if names := mapped[id][src.Evidence]; !slices.Contains(names, src.Name) {
					mapped[id][src.Evidence] = append(names, src.Name)
				}
			}
		}
	}
	cov := Coverage{Framework: cat.Name, Title: cat.Title, GroupKind: cat.GroupKind, Complete: cat.Complete(),
		Groups: []GroupCoverage{}, Requirements: make([]RequirementCoverage, 0, len(cat.Requirements)), Unknown: []UnknownMapping{}}
	groups := map[string]*GroupCoverage{}
	for _, g := range cat.Groups {
		groups[g.ID] = &GroupCoverage{ID: g.ID, Title: g.Title, UncoveredIDs: []string{}}
	}
	for _, r := range cat.Requirements {
		rc := RequirementCoverage{Requirement: r, Automated: sorted(mapped[r.ID][EvidenceAutomated]), Attested: sorted(mapped[r.ID][EvidenceAttested])}
		rc.State = stateOf(rc)
		cov.Requirements = append(cov.Requirements, rc)
		cov.Totals.add(rc.State)
		g := groups[r.Group]
		g.add(rc.State)
		if rc.State == StateUncovered {
			g.UncoveredIDs = append(g.UncoveredIDs, r.ID)
		}
	}
	for _, g := range cat.Groups {
		if groups[g.ID].Requirements > 0 {
			cov.Groups = append(cov.Groups, *groups[g.ID])
		}
	}
	cov.Unknown = unknownMappings(cat, mapped)
	return cov
}

func stateOf(rc RequirementCoverage) State {
	switch {
	case len(rc.Automated) > 0:
		return StateAutomated
	case len(rc.Attested) > 0:
		return StateAttested
	default:
		return StateUncovered
	}
}

// unknownMappings lists the mapped ids the catalog lacks, sorted, with every source naming
// them whatever its evidence.
func unknownMappings(cat *Catalog, mapped map[string]map[Evidence][]string) []UnknownMapping {
	out := []UnknownMapping{}
	for id, byEvidence := range mapped {
		if _, ok := cat.Requirement(id); ok {
			continue
		}
		var names []string
		for _, n := range byEvidence {
			names = append(names, n...)
		}
		out = append(out, UnknownMapping{Requirement: id, Sources: sorted(names)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Requirement < out[j].Requirement })
	return out
}

func sorted(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}
