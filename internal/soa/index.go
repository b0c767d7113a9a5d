package soa

import (
	"slices"
	"time"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/frameworks"
)

// index holds, once per computation, what each Control contributes to the requirements it
// maps to, so that a row costs the size of its own lists rather than a walk of every object.
type index struct {
	byRequirement map[string][]ismsv1.SoAControlResult // requirement id -> mapped Controls
	openFindings  map[string]int32                     // Control name -> open Findings
	exceptions    map[string][]string                  // Control name -> exceptions in force
	risks         map[string][]string                  // Control name -> Risks linking it
}

func newIndex(in Input, now time.Time) *index {
	idx := &index{byRequirement: map[string][]ismsv1.SoAControlResult{}, openFindings: map[string]int32{},
		exceptions: activeExceptions(in.Exceptions, now), risks: map[string][]string{}}
	for i := range in.Controls {
		c := &in.Controls[i]
		for _, m := range c.Spec.Frameworks {
			if m.Framework != in.Catalog.Name {
				continue
			}
			for _, id := range m.Requirements {
				idx.byRequirement[id] = append(idx.byRequirement[id],
					ismsv1.SoAControlResult{Name: c.Name, Result: c.Status.Result, Attested: c.IsAttested()})
			}
		}
	}
	for i := range in.Findings {
		if f := &in.Findings[i]; f.Status.State.IsOpen() {
			idx.openFindings[f.Spec.Control]++
		}
	}
	for i := range in.Risks {
		for _, ref := range in.Risks[i].Spec.Controls {
			idx.risks[ref.Name] = append(idx.risks[ref.Name], in.Risks[i].Name)
		}
	}
	return idx
}

// row is the requirement's row before its state is decided and its lists are capped.
func (idx *index) row(r frameworks.Requirement) ismsv1.SoARequirementStatus {
	controls := slices.Clone(idx.byRequirement[r.ID])
	slices.SortFunc(controls, controlKey)
	controls = slices.CompactFunc(controls, func(a, b ismsv1.SoAControlResult) bool { return a.Name == b.Name })
	row := ismsv1.SoARequirementStatus{ID: r.ID, Title: r.Title, ControlCount: int32(len(controls)), Controls: controls}
	var exceptions, risks []string
	for _, c := range controls {
		row.OpenFindings += idx.openFindings[c.Name]
		exceptions = append(exceptions, idx.exceptions[c.Name]...)
		risks = append(risks, idx.risks[c.Name]...)
	}
	row.Exceptions, row.Risks = sortedUnique(exceptions), sortedUnique(risks)
	row.ExceptionCount, row.RiskCount = int32(len(row.Exceptions)), int32(len(row.Risks))
	if len(row.Controls) == 0 {
		row.Controls = nil
	}
	return row
}
