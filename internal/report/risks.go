package report

import (
	"sort"
	"time"
)

// risksMethodology is added to the methodology when the risk register was read.
const risksMethodology = " Accepted risks are not recorded in the ledger: they are read from the cluster's risk " +
	"register when the report is computed, with their current acceptance and residual rating."

// acceptedRisks lists the accepted Risks whose acceptance was in force at some time in the
// period: created before its end and accepted until after its start. A Risk deleted, or
// accepted and then treated otherwise, before the report was computed is not known to it.
func (e *engine) acceptedRisks() []AcceptedRisk {
	out := []AcceptedRisk{}
	for _, r := range e.in.Risks {
		if !r.AcceptedUntil.After(e.period.From) || (!r.Created.IsZero() && !r.Created.Before(e.period.To)) {
			continue
		}
		ar := AcceptedRisk{Name: r.Name, Title: truncate(r.Title, 256), Owner: r.Owner, AcceptedBy: r.AcceptedBy,
			Justification: truncate(r.Justification, 2048), Since: r.Created.UTC(), Until: r.AcceptedUntil.UTC(),
			Expired: r.AcceptedUntil.Before(e.period.To), InherentScore: r.InherentScore, ResidualScore: r.ResidualScore,
			ResidualLevel: r.ResidualLevel, Appetite: r.Appetite, WithinAppetite: r.ResidualScore > 0 && r.ResidualScore <= r.Appetite,
			Controls: sortedCopy(r.Controls), Requirements: []string{}}
		for _, c := range r.Controls {
			if ct, ok := e.controls[c]; ok {
				ar.Requirements = append(ar.Requirements, ct.ctl.Requirements...)
			}
		}
		ar.Requirements = sortedCopy(ar.Requirements)
		out = append(out, ar)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out[:min(len(out), MaxFindings)]
}

// risksReadAt is when the register was read, in UTC; zero when it was not.
func (e *engine) risksReadAt() time.Time {
	if e.in.RisksReadAt.IsZero() {
		return time.Time{}
	}
	return e.in.RisksReadAt.UTC()
}
