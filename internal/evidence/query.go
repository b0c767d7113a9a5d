package evidence

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// MaxLogEntries caps one Log answer; page on with LogQuery.AfterIndex.
const MaxLogEntries = 10000

// Entry is one leaf as the ledger holds it.
type Entry struct {
	Index    uint64 `json:"index"`
	LeafHash []byte `json:"leafHash"`
	Leaf     Leaf   `json:"leaf"`
	// Digest and Generation are those of the control's state in force at this leaf (its own
	// for control and heartbeat leaves, the last state leaf before it for the others).
	Digest     string `json:"digest,omitempty"`
	Generation int64  `json:"generation,omitempty"`
}

// LogQuery selects a control's history.
type LogQuery struct {
	Control string
	From    time.Time
	To      time.Time // exclusive; zero means up to now
	// Heartbeats includes heartbeat leaves, which only confirm an unchanged state.
	Heartbeats bool
	AfterIndex uint64
	Limit      int // 0 or more than MaxLogEntries means MaxLogEntries
}

// Log returns a control's changes in a period: state changes, subject transitions, Finding
// and exception changes, and the operator's start and stop markers, by index.
func (l *Ledger) Log(ctx context.Context, q LogQuery) ([]Entry, error) {
	if q.Limit <= 0 || q.Limit > MaxLogEntries {
		q.Limit = MaxLogEntries
	}
	kinds := []Kind{KindControl, KindSubject, KindFinding, KindException, KindAttestation}
	if q.Heartbeats {
		kinds = append(kinds, KindHeartbeat)
	}
	base := Query{From: q.From, To: q.To, AfterIndex: q.AfterIndex, Limit: q.Limit}
	ctlQ, opQ := base, base
	ctlQ.Control, ctlQ.Kinds = q.Control, kinds
	opQ.Kinds = []Kind{KindOperatorStarted, KindOperatorStopped}
	recs, err := l.store.Find(ctx, ctlQ)
	if err != nil {
		return nil, err
	}
	markers, err := l.store.Find(ctx, opQ)
	if err != nil {
		return nil, err
	}
	recs = mergeByIndex(recs, markers, q.Limit)
	return l.entries(ctx, q.Control, recs)
}

// mergeByIndex merges two index-ordered lists and keeps the first limit records.
func mergeByIndex(a, b []Record, limit int) []Record {
	out := append(append(make([]Record, 0, len(a)+len(b)), a...), b...)
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// entries decodes records and attributes each to the control state in force.
func (l *Ledger) entries(ctx context.Context, control string, recs []Record) ([]Entry, error) {
	var digest string
	var generation int64
	if control != "" && len(recs) > 0 {
		if st, ok, err := l.stateBefore(ctx, control, recs[0]); err != nil {
			return nil, err
		} else if ok {
			digest, generation = st.Leaf.State.Digest, st.Leaf.State.Generation
		}
	}
	out := make([]Entry, 0, len(recs))
	for _, r := range recs {
		e, err := entryOf(r)
		if err != nil {
			return nil, err
		}
		if e.Leaf.State != nil {
			digest, generation = e.Leaf.State.Digest, e.Leaf.State.Generation
		}
		if e.Leaf.Control != "" {
			e.Digest, e.Generation = digest, generation
		}
		out = append(out, e)
	}
	return out, nil
}

// stateBefore returns the control's last control or heartbeat leaf with an index below
// rec's: the state in force when rec was written, on every page of a Log. Leaf times are
// kept to the millisecond and a batch shares one, so the state leaves of rec's own
// millisecond are looked at by index first; then the last one before that millisecond.
func (l *Ledger) stateBefore(ctx context.Context, control string, rec Record) (Entry, bool, error) {
	first, err := entryOf(rec)
	if err != nil {
		return Entry{}, false, err
	}
	t := first.Leaf.Time
	same, err := l.store.Find(ctx, Query{Control: control, Kinds: []Kind{KindControl, KindHeartbeat},
		From: t, To: t.Add(time.Millisecond), Limit: MaxLogEntries})
	if err != nil {
		return Entry{}, false, err
	}
	for i := len(same) - 1; i >= 0; i-- {
		if same[i].Index < rec.Index {
			e, err := entryOf(same[i])
			return e, err == nil, err
		}
	}
	return l.latestState(ctx, control, t.Add(-time.Nanosecond))
}

func entryOf(r Record) (Entry, error) {
	leaf, err := DecodeLeaf(r.Data)
	if err != nil {
		return Entry{}, fmt.Errorf("ledger leaf %d: %w", r.Index, err)
	}
	e := Entry{Index: r.Index, LeafHash: LeafHash(r.Data), Leaf: leaf}
	if leaf.State != nil {
		e.Digest, e.Generation = leaf.State.Digest, leaf.State.Generation
	}
	return e, nil
}

// latestState returns the control's last control or heartbeat leaf at or before t.
func (l *Ledger) latestState(ctx context.Context, control string, t time.Time) (Entry, bool, error) {
	var best Record
	found := false
	for _, k := range []Kind{KindControl, KindHeartbeat} {
		r, ok, err := l.store.Latest(ctx, control, k, t)
		if err != nil {
			return Entry{}, false, err
		}
		if ok && (!found || r.Index > best.Index) {
			best, found = r, true
		}
	}
	if !found {
		return Entry{}, false, nil
	}
	e, err := entryOf(best)
	return e, err == nil, err
}
