package frameworks

import (
	"cmp"
	"slices"
	"strings"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// GroupRef names one group of one framework: an ISO 27001 theme, a NIST family, a SOC 2
// series, a CIS section.
type GroupRef struct {
	Framework string
	Group     string
}

// GroupsOf returns the groups of the set's catalogs that mappings provide evidence for, each
// once, sorted. A requirement the catalog does not know, and a framework the set has no
// catalog for, name no group: the groups are those of the binary's catalogs, so a series per
// group stays bounded whatever the Controls say.
func (s *Set) GroupsOf(mappings []ismsv1.FrameworkMapping) []GroupRef {
	var out []GroupRef
	for _, m := range mappings {
		cat, ok := s.Lookup(m.Framework)
		if !ok {
			continue
		}
		for _, id := range m.Requirements {
			if req, ok := cat.Requirement(id); ok {
				out = append(out, GroupRef{Framework: cat.Name, Group: req.Group})
			}
		}
	}
	slices.SortFunc(out, func(a, b GroupRef) int {
		return cmp.Or(strings.Compare(a.Framework, b.Framework), strings.Compare(a.Group, b.Group))
	})
	return slices.Compact(out)
}
