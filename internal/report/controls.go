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
