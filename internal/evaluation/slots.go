package evaluation

import (
	"math/bits"
	"slices"

	"k8s.io/apimachinery/pkg/types"
)

// Dense verdict memos
//
// Every (control, subject) pair a control matched keeps what its verdict depended on
// (verdictMemo). A map per control keyed by uid cost about 50 bytes a pair: 250 MB at 100k
// subjects and 50 controls, held for as long as the operator runs. Instead, the evaluator
// gives each subject a slot (subjectSlots, one table for all the controls), and each control
// keeps its memos in a slice indexed by slot with a bit that says the slot is held
// (verdictMemos): 16 bytes and a bit a pair, and one table entry a subject.
//
// A slot is held by the controls that keep a memo in it, and is given to another subject
// once none does. A control's slice is as long as the highest slot it holds, and does not
// shrink. Both are guarded by e.mu.

// subjectSlots numbers subjects by their key (SubjectRef.key), counting the controls that
// hold each number.
type subjectSlots struct {
	byKey   map[types.UID]int32
	keys    []types.UID // by slot; "" for a free one
	holders []int32     // by slot
	free    []int32
}

func (t *subjectSlots) lookup(key types.UID) (int32, bool) {
	slot, ok := t.byKey[key]
	return slot, ok
}

// hold returns the subject's slot, numbering it if it has none, for one more holder.
func (t *subjectSlots) hold(key types.UID) int32 {
	slot, ok := t.byKey[key]
	if !ok {
		if n := len(t.free); n > 0 {
			slot, t.free = t.free[n-1], t.free[:n-1]
			t.keys[slot] = key
		} else {
			slot = int32(len(t.keys))
			t.keys = append(t.keys, key)
			t.holders = append(t.holders, 0)
		}
		if t.byKey == nil {
			t.byKey = map[types.UID]int32{}
		}
		t.byKey[key] = slot
	}
	t.holders[slot]++
	return slot
}

// release gives up one holder's claim on a slot, and frees it after the last.
func (t *subjectSlots) release(slot int32) {
	t.holders[slot]--
	if t.holders[slot] > 0 {
		return
	}
	delete(t.byKey, t.keys[slot])
	t.keys[slot] = ""
	t.free = append(t.free, slot)
}

// live is the number of subjects that hold a slot.
func (t *subjectSlots) live() int { return len(t.byKey) }

// verdictMemos are one control's memos, by slot of a subjectSlots.
type verdictMemos struct {
	memos []verdictMemo
	held  []uint64 // a bit per slot
	n     int
}

func (m *verdictMemos) has(slot int32) bool {
	w := int(slot >> 6)
	return w < len(m.held) && m.held[w]&(1<<(slot&63)) != 0
}

// get returns the memo of a subject, and whether the control holds one.
func (m *verdictMemos) get(t *subjectSlots, key types.UID) (verdictMemo, bool) {
	slot, ok := t.lookup(key)
	if !ok || !m.has(slot) {
		return verdictMemo{}, false
	}
	return m.memos[slot], true
}

// set keeps a subject's memo, and reports whether the control held one before.
func (m *verdictMemos) set(t *subjectSlots, key types.UID, memo verdictMemo) bool {
	if slot, ok := t.lookup(key); ok && m.has(slot) {
		m.memos[slot] = memo
		return true
	}
	slot := t.hold(key)
	// Grown as append grows (the slots a slice never held are zero), so that numbering the
	// subjects one by one costs no allocation each.
	if need := int(slot) + 1; need > len(m.memos) {
		m.memos = slices.Grow(m.memos, need-len(m.memos))[:need]
	}
	if need := int(slot>>6) + 1; need > len(m.held) {
		m.held = slices.Grow(m.held, need-len(m.held))[:need]
	}
	m.held[slot>>6] |= 1 << (slot & 63)
	m.memos[slot] = memo
	m.n++
	return false
}

// remove drops a subject's memo, and reports whether the control held one.
func (m *verdictMemos) remove(t *subjectSlots, key types.UID) bool {
	slot, ok := t.lookup(key)
	if !ok || !m.has(slot) {
		return false
	}
	m.held[slot>>6] &^= 1 << (slot & 63)
	m.memos[slot] = verdictMemo{}
	m.n--
	t.release(slot)
	return true
}

// len is the number of subjects the control holds a memo of.
func (m *verdictMemos) len() int { return m.n }

// keys returns the keys of the subjects the control holds a memo of, in slot order.
func (m *verdictMemos) keys(t *subjectSlots) []types.UID {
	out := make([]types.UID, 0, m.n)
	for w, word := range m.held {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &^= 1 << b
			out = append(out, t.keys[w<<6+b])
		}
	}
	return out
}

// releaseAll drops every memo, for a control that is removed.
func (m *verdictMemos) releaseAll(t *subjectSlots) {
	for _, key := range m.keys(t) {
		m.remove(t, key)
	}
}
