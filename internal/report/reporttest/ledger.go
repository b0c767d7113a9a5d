// Package reporttest generates ledger data for the report's golden files and benchmark:
// a deterministic stream of entries shaped like a real cluster's (hourly heartbeats, most
// subjects never changing, incidents that fail some subjects and get fixed, an operator
// outage, exceptions), without a store.
package reporttest

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/isms-operator/isms-operator/internal/report"
)

// Shape says what to generate.
type Shape struct {
	From, To  time.Time
	Controls  int
	Subjects  int // per control
	Heartbeat time.Duration
	// IncidentsPerControl is the mean number of incidents of a control in the period.
	IncidentsPerControl int
	Seed                uint64
}

// incident: from hour start for hours, subjects fail in one namespace.
type incident struct {
	start, hours int
	namespace    string
	subjects     []int
	acked        int // hours after start it is acknowledged, 0 for never
}

// Ledger is a generated ledger: its Controls and its entries.
type Ledger struct {
	Shape     Shape
	Controls  []report.Control
	incidents [][]incident
	outage    [2]int // hours of the operator stop and start
	exception [2]int // hours the exception of control 0 is active and expires
	// silent is a control that never leaves evidence, to show NoEvidence.
	silent int
}

var severities = []string{"critical", "high", "medium", "low"}

// requirementsOf gives control i one or two Annex A technological requirements.
func requirementsOf(i int) []string {
	first := fmt.Sprintf("A.8.%d", 1+i%34)
	if i%3 == 0 {
		return []string{first, fmt.Sprintf("A.5.%d", 15+i%4)}
	}
	return []string{first}
}

// Generate plans a ledger of the shape; Entries streams it.
func Generate(s Shape) *Ledger {
	rng := rand.New(rand.NewPCG(s.Seed, s.Seed^0x5eed))
	hours := int(s.To.Sub(s.From) / time.Hour)
	l := &Ledger{Shape: s, silent: s.Controls - 1}
	for i := range s.Controls {
		l.Controls = append(l.Controls, report.Control{Name: fmt.Sprintf("ctl-%03d", i), ID: fmt.Sprintf("K8S-%03d", i),
			Title: fmt.Sprintf("Generated control %d", i), Owner: fmt.Sprintf("team-%d", i%5),
			Severity: severities[i%len(severities)], Requirements: requirementsOf(i),
			Description: fmt.Sprintf("Fix the workloads that control %d flags, then re-run the evaluation.", i)})
		l.incidents = append(l.incidents, planIncidents(rng, s, hours, i))
	}
	l.outage = [2]int{hours / 3, hours/3 + 6}
	l.exception = [2]int{hours / 4, hours / 2}
	return l
}

func planIncidents(rng *rand.Rand, s Shape, hours, control int) []incident {
	var out []incident
	n := rng.IntN(2*s.IncidentsPerControl + 1)
	if control == 1 {
		// One control fails for most of the period: a major nonconformity.
		return []incident{{start: 2, hours: hours * 3 / 4, namespace: "ns-00", subjects: []int{0, 1, 2}}}
	}
	for range n {
		in := incident{start: rng.IntN(max(hours-1, 1)), hours: 1 + rng.IntN(24*30), namespace: fmt.Sprintf("ns-%02d", rng.IntN(20))}
		for range 1 + rng.IntN(20) {
			in.subjects = append(in.subjects, rng.IntN(max(s.Subjects, 1)))
		}
		if rng.IntN(2) == 0 {
			in.acked = 1 + rng.IntN(in.hours)
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start < out[j].start })
	// Incidents of one control do not overlap: one Finding per namespace at a time.
	for i := 1; i < len(out); i++ {
		if prev := out[i-1]; out[i].start <= prev.start+prev.hours {
			out[i].start = prev.start + prev.hours + 1
		}
	}
	return out
}

// DuePeriods are the operator's default due periods (finding.DefaultWorkflow).
var DuePeriods = map[string]time.Duration{
	"critical": 7 * 24 * time.Hour, "high": 30 * 24 * time.Hour, "medium": 90 * 24 * time.Hour, "low": 180 * 24 * time.Hour,
}

// Checkpoint stands for the signed checkpoint of a generated ledger (it is not signed).
var Checkpoint = report.Checkpoint{Size: 1, Root: make([]byte, 32),
	Text: "isms.example/evidence\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— isms.example/evidence generated\n"}
