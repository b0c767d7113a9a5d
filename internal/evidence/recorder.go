package evidence

import (
	"sort"
	"time"
)

// DefaultHeartbeat is how often an unchanged control's state is confirmed in the ledger.
const DefaultHeartbeat = time.Hour

// ControlState is one control's state after an evaluation, as the recorder compares it.
type ControlState struct {
	Control    string
	Result     Result
	Digest     string
	Generation int64
	// Message is the evaluation error of an Error result (cut to MaxMessageLen).
	Message string
	Counts  Counts
	// Subjects holds the non-passing subjects by key; any other subject is passing.
	Subjects map[string]SubjectState
}

// Recorded is what the ledger last recorded for a control: the state it holds and when its
// last control or heartbeat leaf was written. The caller keeps it per control and replaces it
// with Decide's result once the leaves were enqueued.
type Recorded struct {
	State ControlState
	At    time.Time
}

// Decide decides which leaves an evaluation calls for, given what was last recorded (nil
// after an operator start: the new state is a baseline) and the new state:
//   - a subject leaf for each subject whose state changed (from Unknown in a baseline),
//     carrying the control's new counts;
//   - a control leaf when the result, digest, generation or message changed, when counts
//     changed without a subject leaf saying so, or for a baseline;
//   - otherwise a heartbeat when the last control or heartbeat leaf is a heartbeat old.
//
// An evaluation that changes nothing before the heartbeat is due writes nothing. A subject
// key longer than MaxSubjectLen gets no leaf of its own (it still counts in Counts).
func Decide(prev *Recorded, next ControlState, now time.Time, heartbeat time.Duration) ([]Leaf, Recorded) {
	if heartbeat <= 0 {
		heartbeat = DefaultHeartbeat
	}
	now = now.UTC()
	next.Message = truncate(next.Message, MaxMessageLen-3)
	var prevState ControlState
	if prev != nil {
		prevState = prev.State
	}
	leaves := subjectLeaves(prevState.Subjects, next, prev == nil, now)
	kind := stateLeafKind(prev, next, len(leaves) > 0, now, heartbeat)
	rec := Recorded{State: next}
	if prev != nil {
		rec.At = prev.At
	}
	if kind != "" {
		state := &State{Counts: next.Counts, Digest: next.Digest, Generation: next.Generation,
			HeartbeatSeconds: int64(heartbeat / time.Second), Message: next.Message, Result: next.Result}
		if state.HeartbeatSeconds == 0 {
			state.HeartbeatSeconds = 1
		}
		leaves = append(leaves, Leaf{V: LeafVersion, Kind: kind, Control: next.Control, Time: now, State: state})
		rec.At = now
	}
	return leaves, rec
}

// stateLeafKind returns the kind of state leaf to write, or "" for none.
func stateLeafKind(prev *Recorded, next ControlState, subjectsChanged bool, now time.Time, heartbeat time.Duration) Kind {
	if prev == nil {
		return KindControl
	}
	p := prev.State
	if p.Result != next.Result || p.Digest != next.Digest || p.Generation != next.Generation || p.Message != next.Message {
		return KindControl
	}
	if p.Counts != next.Counts && !subjectsChanged {
		return KindControl
	}
	if now.Sub(prev.At) >= heartbeat {
		return KindHeartbeat
	}
	return ""
}

// subjectLeaves returns a leaf per changed subject, in key order so the output is stable.
func subjectLeaves(prev map[string]SubjectState, next ControlState, baseline bool, now time.Time) []Leaf {
	keys := make([]string, 0, len(prev)+len(next.Subjects))
	for k := range next.Subjects {
		keys = append(keys, k)
	}
	for k := range prev {
		if _, ok := next.Subjects[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var leaves []Leaf
	for _, k := range keys {
		from, to := stateOf(prev, k), stateOf(next.Subjects, k)
		if baseline {
			from = SubjectUnknown
		}
		if from == to || (baseline && to == SubjectPassing) || len(k) > MaxSubjectLen {
			continue
		}
		leaves = append(leaves, Leaf{V: LeafVersion, Kind: KindSubject, Control: next.Control, Time: now,
			Subject: &SubjectTransition{Counts: next.Counts, From: from, ID: k, To: to}})
	}
	return leaves
}

func stateOf(m map[string]SubjectState, key string) SubjectState {
	if s, ok := m[key]; ok && s != "" {
		return s
	}
	return SubjectPassing
}
