package report

import (
	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// ControlsOf returns the Controls that map to framework, as Compute reads them, with the
// requirements of that framework only.
func ControlsOf(framework string, controls []ismsv1.Control) []Control {
	var out []Control
	for _, c := range controls {
		var reqs []string
		for _, m := range c.Spec.Frameworks {
			if m.Framework == framework {
				reqs = append(reqs, m.Requirements...)
			}
		}
		if len(reqs) == 0 {
			continue
		}
		out = append(out, Control{Name: c.Name, ID: c.Spec.ID, Title: c.Spec.Title, Description: c.Spec.Description,
			Owner: c.Spec.Owner, Severity: string(c.Spec.Severity), Attested: c.IsAttested(), Requirements: sortedCopy(reqs)})
	}
	return out
}

// RisksOf returns the accepted Risks (treatment accept, with an acceptance) as Compute reads
// them, rated as their status stands now.
func RisksOf(risks []ismsv1.Risk) []Risk {
	var out []Risk
	for _, r := range risks {
		a := r.Spec.Acceptance
		if r.Spec.Treatment != ismsv1.TreatmentAccept || a == nil {
			continue
		}
		controls := make([]string, 0, len(r.Spec.Controls))
		for _, c := range r.Spec.Controls {
			controls = append(controls, c.Name)
		}
		out = append(out, Risk{Name: r.Name, Title: r.Spec.Title, Owner: r.Spec.Owner, AcceptedBy: a.AcceptedBy,
			Justification: a.Justification, AcceptedUntil: a.Until.UTC(), Created: r.CreationTimestamp.UTC(),
			InherentScore: r.Status.InherentScore, ResidualScore: r.Status.ResidualScore, Appetite: r.Spec.Appetite,
			ResidualLevel: string(r.Status.ResidualLevel), Controls: sortedCopy(controls)})
	}
	return out
}
