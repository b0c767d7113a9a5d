package frameworks

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation/field"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// Problem is a framework mapping the catalogs cannot confirm.
type Problem struct {
	// Field is the path of the offending value, e.g. spec.frameworks[0].requirements[2] (a
	// requirement) or spec.frameworks[1].framework (a framework without a catalog).
	Field string `json:"field"`
	// Reason is one of ismsv1.ReasonUnknownRequirement, ReasonUncataloguedRequirement and
	// ReasonUnknownFramework.
	Reason      string `json:"reason"`
	Framework   string `json:"framework"`
	Requirement string `json:"requirement,omitempty"`
	// Message says what is wrong and, where one is close, the id meant. Bounded.
	Message string `json:"message"`
}

func (p Problem) String() string { return p.Field + ": " + p.Message }

// reasonRank orders the reasons from the surest mistake down.
var reasonRank = map[string]int{
	ismsv1.ReasonUnknownRequirement:      3,
	ismsv1.ReasonUncataloguedRequirement: 2,
	ismsv1.ReasonUnknownFramework:        1,
}

// SpecPath is where a Control's mappings are: spec.frameworks.
var SpecPath = field.NewPath("spec", "frameworks")

// Check checks a Control's spec.frameworks against the embedded catalogs.
func Check(mappings []ismsv1.FrameworkMapping) []Problem {
	return Default().Check(SpecPath, mappings)
}

// Check returns the problems of mappings found at base (spec.frameworks for a Control,
// frameworks for a library policy's metadata), in the order of the mappings: frameworks
// without a catalog, and requirements their catalog lacks.
func (s *Set) Check(base *field.Path, mappings []ismsv1.FrameworkMapping) []Problem {
	var out []Problem
	for i, m := range mappings {
		at := base.Index(i)
		cat, ok := s.Lookup(m.Framework)
		if !ok {
			out = append(out, s.unknownFramework(at.Child("framework").String(), m.Framework))
			continue
		}
		for j, id := range m.Requirements {
			if _, ok := cat.Requirement(id); ok {
				continue
			}
			out = append(out, cat.unknownRequirement(at.Child("requirements").Index(j).String(), id))
		}
	}
	return out
}

// CheckRequirements returns the problems of requirement ids of one framework found at
// base[i].requirement (a StatementOfApplicability's spec.entries), in their order: the ids the
// catalog lacks, told apart as Check tells them.
func CheckRequirements(cat *Catalog, base *field.Path, ids []string) []Problem {
	var out []Problem
	for i, id := range ids {
		if _, ok := cat.Requirement(id); ok {
			continue
		}
		out = append(out, cat.unknownRequirement(base.Index(i).Child("requirement").String(), id))
	}
	return out
}

func (s *Set) unknownFramework(fieldPath, name string) Problem {
	msg := fmt.Sprintf("framework %s has no catalog (the catalogs: %s), so its requirements are not checked: a custom framework is allowed",
		quote(name), strings.Join(s.Names(), ", "))
	if near := nearestName(s.Names(), name); near != "" {
		msg = fmt.Sprintf("framework %s has no catalog, so its requirements are not checked: did you mean %q?", quote(name), near)
	}
	return Problem{Field: fieldPath, Reason: ismsv1.ReasonUnknownFramework, Framework: clip(name), Message: msg}
}

// unknownRequirement tells a certain typo (a malformed id, or one missing from a group the
// catalog lists in full) from an id the catalog may simply not list.
func (c *Catalog) unknownRequirement(fieldPath, id string) Problem {
	p := Problem{Field: fieldPath, Reason: ismsv1.ReasonUnknownRequirement, Framework: c.Name, Requirement: clip(id)}
	group, wellFormed := c.groupOf(id)
	g, grouped := c.Group(group)
	switch {
	case !wellFormed || !grouped:
		p.Message = fmt.Sprintf("%s is not a requirement id of %s", quote(id), c.Name)
	case g.Complete:
		p.Message = fmt.Sprintf("%s has no requirement %s", c.Name, quote(id))
	default:
		p.Reason = ismsv1.ReasonUncataloguedRequirement
		p.Message = fmt.Sprintf("%s is not in the catalog of %s, which lists only the requirements of %s (%s) that the policy library maps to",
			quote(id), c.Name, g.ID, g.Title)
	}
	if r, ok := c.nearest(id); ok {
		p.Message += fmt.Sprintf(" (did you mean %q, %s?)", r.ID, r.Title)
	}
	p.Message += ": not counted in coverage"
	return p
}

// nearest returns the one requirement whose id the given one most likely misspells: the same
// but for case and blanks, or with a prefix left out ("8.9" for A.8.9).
func (c *Catalog) nearest(id string) (Requirement, bool) {
	want := normalizeID(id)
	if want == "" {
		return Requirement{}, false
	}
	var found []Requirement
	for _, r := range c.Requirements {
		have := normalizeID(r.ID)
		if have == want || strings.HasSuffix(have, "."+want) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		return Requirement{}, false
	}
	return found[0], true
}

func normalizeID(id string) string {
	return strings.ToUpper(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, id))
}

// nearestName returns the one framework name that name abbreviates or misspells by its
// punctuation or case ("iso27001", "ISO-27001-2022"), or "".
func nearestName(names []string, name string) string {
	squash := func(s string) string {
		return strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return unicode.ToLower(r)
			}
			return -1
		}, s)
	}
	want := squash(name)
	if len(want) < 3 {
		return ""
	}
	var found []string
	for _, n := range names {
		if have := squash(n); strings.HasPrefix(have, want) || strings.HasPrefix(want, have) {
			found = append(found, n)
		}
	}
	if len(found) != 1 {
		return ""
	}
	return found[0]
}

// maxIDLen bounds an id or name quoted in a message: the API allows 63 characters, library
// metadata and files read by the CLI are not bounded by the API server.
const maxIDLen = 64

func clip(s string) string { return truncate(s, maxIDLen) }

func quote(s string) string { return fmt.Sprintf("%q", clip(s)) }

// Verdict is what a Control's FrameworksKnown condition says about its mappings.
type Verdict struct {
	Known   bool
	Reason  string
	Message string
}

// maxListed is how many problems a condition message quotes; the rest are counted.
const maxListed = 3

// Summarize turns the problems of one object into its FrameworksKnown condition: the reason
// of the surest mistake, and a message quoting the first problems, worst first.
func Summarize(problems []Problem) Verdict {
	if len(problems) == 0 {
		return Verdict{Known: true, Reason: ismsv1.ReasonRequirementsKnown,
			Message: "Every requirement of spec.frameworks is in its framework's catalog"}
	}
	sorted := append([]Problem(nil), problems...)
	sort.SliceStable(sorted, func(i, j int) bool { return reasonRank[sorted[i].Reason] > reasonRank[sorted[j].Reason] })
	parts := make([]string, 0, maxListed+1)
	for i, p := range sorted {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("and %d more", len(sorted)-maxListed))
			break
		}
		parts = append(parts, p.String())
	}
	return Verdict{Reason: sorted[0].Reason, Message: strings.Join(parts, "; ")}
}

// Admission warnings: the API server may cut a warning longer than 256 characters, and keeps
// at most 4 KiB of them in all.
const (
	maxWarningLen = 256
	maxWarnings   = 8
)

// AdmissionWarnings returns the warnings an admission webhook sends back when a Control is
// created or updated with mappings the catalogs cannot confirm: one per problem, bounded in
// length and number. None when the mappings are all known.
func AdmissionWarnings(mappings []ismsv1.FrameworkMapping) []string {
	problems := Check(mappings)
	out := make([]string, 0, min(len(problems), maxWarnings+1))
	for i, p := range problems {
		if i == maxWarnings {
			out = append(out, fmt.Sprintf("%d more framework mapping problem(s)", len(problems)-maxWarnings))
			break
		}
		out = append(out, truncate(p.String(), maxWarningLen))
	}
	return out
}

// truncate cuts s to at most n bytes, at a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
