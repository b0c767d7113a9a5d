package reporttest

import (
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
)

const digest = "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"

// writer numbers and hashes leaves as the ledger would.
type writer struct {
	index uint64
	yield func(evidence.Entry, error) bool
	ok    bool
}

func (w *writer) put(l evidence.Leaf) {
	if !w.ok {
		return
	}
	l.V = evidence.LeafVersion
	data, err := evidence.EncodeLeaf(l)
	if err != nil {
		w.ok = w.yield(evidence.Entry{}, fmt.Errorf("generated leaf %d: %w", w.index, err))
		w.ok = false
		return
	}
	w.ok = w.yield(evidence.Entry{Index: w.index, LeafHash: evidence.LeafHash(data), Leaf: l}, nil)
	w.index++
}

// Entries streams the ledger's entries in index order; each is generated as it is read.
func (l *Ledger) Entries() iter.Seq2[evidence.Entry, error] {
	return func(yield func(evidence.Entry, error) bool) {
		w := &writer{yield: yield, ok: true}
		s := l.Shape
		hours := int(s.To.Sub(s.From) / time.Hour)
		w.put(evidence.Leaf{Kind: evidence.KindOperatorStarted, Time: s.From, Operator: &evidence.OperatorEvent{HeartbeatSeconds: l.hb(), Version: "v0.0.0-gen"}})
		for h := 0; h < hours && w.ok; h++ {
			t := s.From.Add(time.Duration(h) * time.Hour)
			switch {
			case h == l.outage[0]:
				w.put(evidence.Leaf{Kind: evidence.KindOperatorStopped, Time: t, Operator: &evidence.OperatorEvent{}})
				continue
			case h > l.outage[0] && h < l.outage[1]:
				continue
			case h == l.outage[1]:
				w.put(evidence.Leaf{Kind: evidence.KindOperatorStarted, Time: t, Operator: &evidence.OperatorEvent{HeartbeatSeconds: l.hb(), Version: "v0.0.0-gen"}})
			}
			baseline := h == 0 || h == l.outage[1]
			for i := range l.Controls {
				l.hour(w, i, h, t.Add(time.Duration(i)*time.Second), baseline)
			}
		}
	}
}

func (l *Ledger) hb() int64 { return int64(l.Shape.Heartbeat / time.Second) }

// hour writes control i's leaves of hour h.
func (l *Ledger) hour(w *writer, i, h int, t time.Time, baseline bool) {
	if i == l.silent && len(l.Controls) > 1 {
		return
	}
	name := l.Controls[i].Name
	if i == 0 && h == l.exception[0] {
		w.put(evidence.Leaf{Kind: evidence.KindException, Control: name, Time: t,
			Exception: &evidence.ExceptionChange{Name: "accepted-legacy", Namespace: "ns-03", To: "Active"}})
	}
	if i == 0 && h == l.exception[1] {
		w.put(evidence.Leaf{Kind: evidence.KindException, Control: name, Time: t,
			Exception: &evidence.ExceptionChange{From: "Active", Name: "accepted-legacy", Namespace: "ns-03", To: "Expired"}})
	}
	changed := baseline
	for _, in := range l.incidents[i] {
		switch h {
		case in.start:
			l.subjects(w, name, in, t, evidence.SubjectPassing, evidence.SubjectFailing)
			w.put(findingLeaf(name, in.namespace, t, "Resolved", "Open", true))
			changed = true
		case in.start + in.acked:
			if in.acked > 0 {
				w.put(findingLeaf(name, in.namespace, t, "Open", "Acknowledged", true))
			}
		case in.start + in.hours:
			l.subjects(w, name, in, t, evidence.SubjectFailing, evidence.SubjectPassing)
			w.put(findingLeaf(name, in.namespace, t, "Acknowledged", "Resolved", false))
			changed = true
		}
	}
	kind := evidence.KindHeartbeat
	if changed {
		kind = evidence.KindControl
	}
	w.put(evidence.Leaf{Kind: kind, Control: name, Time: t, State: l.state(i, h)})
}

func (l *Ledger) state(i, h int) *evidence.State {
	s := &evidence.State{Digest: digest, Generation: 1, HeartbeatSeconds: l.hb(), Result: evidence.ResultPass}
	for _, in := range l.incidents[i] {
		if h >= in.start && h < in.start+in.hours {
			s.Result, s.Counts = evidence.ResultFail, evidence.Counts{Failing: len(uniq(in.subjects))}
		}
	}
	return s
}

func (l *Ledger) subjects(w *writer, control string, in incident, t time.Time, from, to evidence.SubjectState) {
	ids := uniq(in.subjects)
	for n, s := range ids {
		failing := n + 1
		if to == evidence.SubjectPassing {
			failing = len(ids) - n - 1
		}
		w.put(evidence.Leaf{Kind: evidence.KindSubject, Control: control, Time: t, Subject: &evidence.SubjectTransition{
			Counts: evidence.Counts{Failing: failing}, From: from, To: to,
			ID: fmt.Sprintf("apps/v1/Deployment/%s/app-%05d", in.namespace, s)}})
	}
}

func findingLeaf(control, namespace string, t time.Time, from, to string, open bool) evidence.Leaf {
	return evidence.Leaf{Kind: evidence.KindFinding, Control: control, Time: t,
		Finding: &evidence.FindingChange{From: from, Name: control, Namespace: namespace, Open: open, To: to}}
}

func uniq(s []int) []int {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}
