// Package soa computes the live Statement of Applicability: for every requirement of a
// framework's catalog, whether the statement says it applies, and how far the Controls that
// map to it implement it now, with their open Findings, the exceptions in force and the
// Risks they treat. It also stamps and checks the approval of a statement's versions.
//
// It is a pure core: plain inputs, a clock passed in, no Kubernetes client. The reconciler
// (controllers/soa_controller.go), the admission webhook and the CLI all decide through it.
package soa

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/exception"
	"github.com/isms-operator/isms-operator/internal/frameworks"
)

// Input is everything one statement's status is computed from.
type Input struct {
	Catalog    *frameworks.Catalog
	Entries    []ismsv1.SoAEntry
	Controls   []ismsv1.Control
	Findings   []ismsv1.Finding
	Exceptions []ismsv1.ControlException
	Risks      []ismsv1.Risk
}

// Result is a statement's computed status: one row per requirement of the catalog, in its
// order, the totals, and the entries naming ids the catalog lacks.
type Result struct {
	Requirements []ismsv1.SoARequirementStatus
	Totals       ismsv1.SoATotals
	Unknown      []frameworks.Problem
}

// EntriesPath is where a statement's entries are: spec.entries.
var EntriesPath = field.NewPath("spec", "entries")

// Compute returns the status of a statement at now. Requirements the entries do not name are
// NotAssessed, never left out; entries the catalog lacks are reported in Unknown.
func Compute(in Input, now time.Time) Result {
	entries := map[string]*ismsv1.SoAEntry{}
	for i := range in.Entries {
		entries[in.Entries[i].Requirement] = &in.Entries[i]
	}
	idx := newIndex(in, now)
	res := Result{Requirements: make([]ismsv1.SoARequirementStatus, 0, len(in.Catalog.Requirements)),
		Unknown: frameworks.CheckRequirements(in.Catalog, EntriesPath, RequirementIDs(in.Entries))}
	for _, r := range in.Catalog.Requirements {
		row := idx.row(r)
		row.State = StateOf(entries[r.ID], row.Controls)
		res.Requirements = append(res.Requirements, capRow(row))
		addTotal(&res.Totals, row.State)
	}
	return res
}

// RequirementIDs are the ids the entries name, in their order.
func RequirementIDs(entries []ismsv1.SoAEntry) []string {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.Requirement
	}
	return ids
}

// StateOf is a requirement's state from its entry (nil: none names it) and the results of
// the Controls that map to it:
//   - NotAssessed without an entry, NotApplicable when the entry says so;
//   - NotEvaluated when no mapped Control has a Pass or Fail result (none maps to it, or they
//     are Pending, Error, or have nothing to evaluate);
//   - Implemented when every mapped Control passes or has nothing to evaluate (Attested when
//     every one is attested);
//   - NotImplemented when none passes and at least one fails;
//   - Partial otherwise: some pass, others fail or have no result yet.
func StateOf(entry *ismsv1.SoAEntry, controls []ismsv1.SoAControlResult) ismsv1.SoAImplementation {
	switch {
	case entry == nil:
		return ismsv1.SoANotAssessed
	case !entry.Applicable:
		return ismsv1.SoANotApplicable
	}
	var pass, fail, unknown int
	allAttested := true
	for _, c := range controls {
		switch c.Result {
		case ismsv1.ResultPass:
			pass++
		case ismsv1.ResultFail:
			fail++
		case ismsv1.ResultNotApplicable:
		default: // Pending, Error, or never reconciled
			unknown++
		}
		allAttested = allAttested && c.Attested
	}
	switch {
	case pass+fail == 0:
		return ismsv1.SoANotEvaluated
	case fail == 0 && unknown == 0 && allAttested:
		return ismsv1.SoAAttested
	case fail == 0 && unknown == 0:
		return ismsv1.SoAImplemented
	case pass == 0:
		return ismsv1.SoANotImplemented
	}
	return ismsv1.SoAPartial
}

func addTotal(t *ismsv1.SoATotals, s ismsv1.SoAImplementation) {
	t.Requirements++
	switch s {
	case ismsv1.SoANotAssessed:
		t.NotAssessed++
		return
	case ismsv1.SoANotApplicable:
		t.NotApplicable++
		return
	case ismsv1.SoAImplemented:
		t.Implemented++
	case ismsv1.SoAAttested:
		t.Attested++
	case ismsv1.SoAPartial:
		t.Partial++
	case ismsv1.SoANotImplemented:
		t.NotImplemented++
	case ismsv1.SoANotEvaluated:
		t.NotEvaluated++
	}
	t.Applicable++
}

// capRow cuts the row's lists to their bounds; the counts stay exact.
func capRow(row ismsv1.SoARequirementStatus) ismsv1.SoARequirementStatus {
	row.Controls = row.Controls[:min(len(row.Controls), ismsv1.MaxSoARowControls)]
	row.Exceptions = row.Exceptions[:min(len(row.Exceptions), ismsv1.MaxSoARowExceptions)]
	row.Risks = row.Risks[:min(len(row.Risks), ismsv1.MaxSoARowRisks)]
	return row
}

// UnknownMessage is the RequirementsKnown condition's message for the problems of a
// statement's entries: the first few, with their field paths, and how many more.
func UnknownMessage(problems []frameworks.Problem) string {
	if len(problems) == 0 {
		return fmt.Sprintf("Every entry of %s names a requirement of the framework's catalog", EntriesPath)
	}
	return frameworks.Summarize(problems).Message
}

// UnknownIDs are the ids of the problems, at most MaxSoAUnknownEntries.
func UnknownIDs(problems []frameworks.Problem) []string {
	var out []string
	for _, p := range problems {
		if len(out) == ismsv1.MaxSoAUnknownEntries {
			break
		}
		out = append(out, p.Requirement)
	}
	return out
}

// sortedUnique returns the names sorted, without repeats.
func sortedUnique(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}

// activeExceptions are the names of the exceptions in force at now, by the Control they name.
func activeExceptions(items []ismsv1.ControlException, now time.Time) map[string][]string {
	out := map[string][]string{}
	for i := range items {
		ex := &items[i]
		if !exception.Active(ex, now) {
			continue
		}
		for _, c := range ex.Spec.Controls {
			out[c] = append(out[c], ex.Name)
		}
	}
	return out
}

// controlKey orders the mapped Controls: by name.
func controlKey(a, b ismsv1.SoAControlResult) int { return strings.Compare(a.Name, b.Name) }
