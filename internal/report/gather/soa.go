package gather

import (
	"fmt"
	"strings"
	"time"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/report"
	"github.com/isms-operator/isms-operator/internal/soa"
)

// AddStatements keeps the cluster's Statements of Applicability of the input's framework, by
// the digest of their content (soa.Digest), for FromLedger: the ledger records the digest of
// each approved version, not its text, so the entries of the version in force are those of a
// statement whose content still has that digest.
func AddStatements(in *report.Input, list []ismsv1.StatementOfApplicability) {
	framework := in.Catalog.Name
	out := map[string]map[string]report.Applicability{}
	for i := range list {
		spec := &list[i].Spec
		if f := spec.Framework; f != framework && (f != "" || framework != ismsv1.DefaultSoAFramework) {
			continue
		}
		entries := map[string]report.Applicability{}
		for _, e := range spec.Entries {
			entries[e.Requirement] = report.Applicability{Applicable: e.Applicable, Justification: justification(e)}
		}
		out[soa.Digest(spec)] = entries
	}
	in.Statements = out
}

// justification is why an entry is excluded, or the reasons it is included.
func justification(e ismsv1.SoAEntry) string {
	if !e.Applicable {
		return e.ExclusionJustification
	}
	reasons := make([]string, 0, len(e.Inclusions))
	for _, in := range e.Inclusions {
		r := string(in.Reason)
		if len(in.Risks) > 0 {
			r += " (" + strings.Join(in.Risks, ", ") + ")"
		}
		reasons = append(reasons, r)
	}
	return "included: " + strings.Join(reasons, "; ")
}

// ApplySoA sets the report's Statement of Applicability to the one the ledger says was in
// force at the period's end (inForce: Snapshot.SoAs of that instant) for the input's
// framework, and its applicability when a statement of the cluster still has the approved
// content. It returns a note when the ledger names a version the cluster no longer holds:
// the report then says which version was in force, and applicability follows the Controls'
// mappings. With several statements of the framework in force, the latest approval wins.
func ApplySoA(in *report.Input, inForce []evidence.Proved) string {
	var latest *evidence.SoADecision
	var at time.Time
	for _, p := range inForce {
		d := p.Leaf.SoA
		if d == nil || d.Framework != in.Catalog.Name || d.Decision != string(ismsv1.SoAApproved) {
			continue
		}
		if latest == nil || p.Leaf.Time.After(at) {
			latest, at = d, p.Leaf.Time
		}
	}
	if latest == nil {
		return ""
	}
	decided, _ := time.Parse(time.RFC3339, latest.DecidedAt)
	in.SoA = &report.SoARef{Name: latest.Name, Version: latest.Version, ApprovedBy: latest.DecidedBy, ApprovedAt: decided, Digest: latest.Digest}
	entries, ok := in.Statements[latest.Digest]
	if !ok {
		return fmt.Sprintf("the Statement of Applicability %s version %s in force at the period's end is no longer in the cluster with that content (digest %s): applicability follows the Controls' mappings",
			latest.Name, latest.Version, latest.Digest)
	}
	in.Applicability = entries
	return ""
}
