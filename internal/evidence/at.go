package evidence

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// MaxFindingsPerControl caps the open Findings listed in one control's answer.
const MaxFindingsPerControl = 1000

// Proved is an entry with its inclusion proof in the tree of a Snapshot's checkpoint.
type Proved struct {
	Entry
	Proof [][]byte `json:"proof"`
}

// ControlAt is one control's state at an instant.
type ControlAt struct {
	Control    string `json:"control"`
	Result     Result `json:"result"`
	Counts     Counts `json:"counts"`
	Digest     string `json:"digest,omitempty"`
	Generation int64  `json:"generation,omitempty"`
	// OpenFindings are the namespace/name of the control's open Findings.
	OpenFindings []string `json:"openFindings,omitempty"`
	// Reason says why a control is NotEvaluated.
	Reason string `json:"reason,omitempty"`
	// Evidence are the leaves this answer rests on, each with its inclusion proof.
	Evidence []Proved `json:"evidence"`
}

// Snapshot is every control's state at an instant, proved against one signed checkpoint.
type Snapshot struct {
	At         time.Time   `json:"at"`
	Size       uint64      `json:"size"`
	Root       []byte      `json:"root"`
	Checkpoint string      `json:"checkpoint"`
	Controls   []ControlAt `json:"controls"`
	// SoAs are the Statements of Applicability in force at the instant: for each statement,
	// its latest Approved soa leaf at or before it, by statement name.
	SoAs []Proved `json:"soas,omitempty"`
}

// At returns the state of every control at instant t. A state is carried forward from its
// control or heartbeat leaf only while that leaf covers t: for at most two heartbeat
// intervals, and not past an operator start or stop recorded after it. Elsewhere the answer
// is NotEvaluated, so an outage never reads as a pass.
func (l *Ledger) At(ctx context.Context, t time.Time) (Snapshot, error) {
	t = t.UTC()
	controls, err := l.store.Controls(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	started, hasStart, err := l.store.Latest(ctx, "", KindOperatorStarted, t)
	if err != nil {
		return Snapshot{}, err
	}
	stopped, hasStop, err := l.store.Latest(ctx, "", KindOperatorStopped, t)
	if err != nil {
		return Snapshot{}, err
	}
	answers := make([]ControlAt, 0, len(controls))
	for _, c := range controls {
		a, err := l.controlAt(ctx, c, t, markers{started, hasStart, stopped, hasStop})
		if err != nil {
			return Snapshot{}, fmt.Errorf("control %q at %s: %w", c, t.Format(time.RFC3339), err)
		}
		answers = append(answers, a)
	}
	soas, err := l.soasInForce(ctx, t)
	if err != nil {
		return Snapshot{}, err
	}
	// The head is read after the leaves, so it covers every leaf the answers rest on.
	head, err := l.store.Head(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	nodes := l.nodes.withMemo()
	for i := range answers {
		if err := prove(ctx, nodes, answers[i].Evidence, head.Size); err != nil {
			return Snapshot{}, err
		}
	}
	if err := prove(ctx, nodes, soas, head.Size); err != nil {
		return Snapshot{}, err
	}
	return Snapshot{At: t, Size: head.Size, Root: head.Root, Checkpoint: string(head.Checkpoint), Controls: answers, SoAs: soas}, nil
}

// soasInForce returns, for each Statement of Applicability, its latest Approved soa leaf at
// or before t (a rejection does not unseat the version in force), by statement name. Proofs
// are added by the caller. Statements are few and approvals rare, so all soa leaves up to t
// are read.
func (l *Ledger) soasInForce(ctx context.Context, t time.Time) ([]Proved, error) {
	recs, err := l.store.Find(ctx, Query{Kinds: []Kind{KindSoA}, To: t.Add(time.Nanosecond)})
	if err != nil {
		return nil, err
	}
	latest := map[string]Entry{}
	for _, r := range recs {
		e, err := entryOf(r)
		if err != nil {
			return nil, err
		}
		if e.Leaf.SoA.Decision == SoAApproved {
			latest[e.Leaf.SoA.Name] = e
		}
	}
	names := make([]string, 0, len(latest))
	for n := range latest {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []Proved
	for _, n := range names {
		out = append(out, Proved{Entry: latest[n]})
	}
	return out, nil
}

type markers struct {
	started  Record
	hasStart bool
	stopped  Record
	hasStop  bool
}

// controlAt answers for one control; proofs are added by the caller.
func (l *Ledger) controlAt(ctx context.Context, control string, t time.Time, m markers) (ControlAt, error) {
	a := ControlAt{Control: control, Result: ResultNotEvaluated}
	st, ok, err := l.latestState(ctx, control, t)
	if err != nil || !ok {
		a.Reason = "no state recorded at or before this instant"
		return a, err
	}
	a.Evidence = []Proved{{Entry: st}}
	if reason, marker := notCovered(st, t, m); reason != "" {
		a.Reason = reason
		if marker != nil {
			e, err := entryOf(*marker)
			if err != nil {
				return a, err
			}
			a.Evidence = append(a.Evidence, Proved{Entry: e})
		}
		return a, nil
	}
	s := st.Leaf.State
	a.Result, a.Counts, a.Digest, a.Generation = s.Result, s.Counts, s.Digest, s.Generation
	if err := l.addSubjectCounts(ctx, &a, st.Index, t); err != nil {
		return a, err
	}
	return a, l.addOpenFindings(ctx, &a, t)
}

// notCovered says why a state leaf does not cover t ("" when it does), with the marker
// leaf that ends its coverage, if any.
func notCovered(st Entry, t time.Time, m markers) (string, *Record) {
	if m.hasStart && m.started.Index > st.Index {
		return fmt.Sprintf("not evaluated since the operator started at %s", m.started.Time.Format(time.RFC3339)), &m.started
	}
	if m.hasStop && m.stopped.Index > st.Index {
		return fmt.Sprintf("the operator stopped at %s", m.stopped.Time.Format(time.RFC3339)), &m.stopped
	}
	cover := 2 * time.Duration(st.Leaf.State.HeartbeatSeconds) * time.Second
	if t.Sub(st.Leaf.Time) > cover {
		return fmt.Sprintf("no heartbeat since %s", st.Leaf.Time.Format(time.RFC3339)), nil
	}
	return "", nil
}

// addSubjectCounts takes the counts from a subject leaf newer than the state leaf.
func (l *Ledger) addSubjectCounts(ctx context.Context, a *ControlAt, stateIndex uint64, t time.Time) error {
	r, ok, err := l.store.Latest(ctx, a.Control, KindSubject, t)
	if err != nil || !ok || r.Index < stateIndex {
		return err
	}
	e, err := entryOf(r)
	if err != nil {
		return err
	}
	a.Counts = e.Leaf.Subject.Counts
	a.Evidence = append(a.Evidence, Proved{Entry: e})
	return nil
}

// addOpenFindings folds the control's Finding leaves up to t into the open ones.
func (l *Ledger) addOpenFindings(ctx context.Context, a *ControlAt, t time.Time) error {
	recs, err := l.store.Find(ctx, Query{Control: a.Control, Kinds: []Kind{KindFinding}, To: t.Add(time.Nanosecond)})
	if err != nil {
		return err
	}
	latest := map[string]Record{}
	for _, r := range recs {
		latest[r.Key] = r
	}
	keys := make([]string, 0, len(latest))
	for k := range latest {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e, err := entryOf(latest[k])
		if err != nil {
			return err
		}
		if e.Leaf.Finding.Open && len(a.OpenFindings) < MaxFindingsPerControl {
			a.OpenFindings = append(a.OpenFindings, k)
			a.Evidence = append(a.Evidence, Proved{Entry: e})
		}
	}
	return nil
}

// prove fills in the inclusion proofs of entries in the tree of size.
func prove(ctx context.Context, nodes nodeSource, evidence []Proved, size uint64) error {
	for i := range evidence {
		p, err := nodes.inclusion(ctx, evidence[i].Index, size)
		if err != nil {
			return fmt.Errorf("proving leaf %d: %w", evidence[i].Index, err)
		}
		evidence[i].Proof = p
	}
	return nil
}

// VerifySnapshot checks a Snapshot offline: its checkpoint is signed by the key, and every
// evidence leaf hashes to its leaf hash and is included in the checkpoint's tree.
func VerifySnapshot(s Snapshot, verifierKey string) error {
	v, err := parseVerifier(verifierKey)
	if err != nil {
		return err
	}
	cp, err := OpenCheckpoint([]byte(s.Checkpoint), v)
	if err != nil {
		return err
	}
	for _, c := range s.Controls {
		if err := verifyProved(c.Evidence, cp); err != nil {
			return fmt.Errorf("control %q %w", c.Control, err)
		}
	}
	if err := verifyProved(s.SoAs, cp); err != nil {
		return fmt.Errorf("statement of applicability %w", err)
	}
	return nil
}

// verifyProved checks that each entry hashes to its leaf and is included in cp's tree.
func verifyProved(evidence []Proved, cp Checkpoint) error {
	for _, e := range evidence {
		data, err := EncodeLeaf(e.Leaf)
		if err != nil {
			return fmt.Errorf("leaf %d: %w", e.Index, err)
		}
		if err := VerifyInclusion(e.Index, cp.Size, LeafHash(data), e.Proof, cp.Root); err != nil {
			return fmt.Errorf("leaf %d: %w", e.Index, err)
		}
	}
	return nil
}
