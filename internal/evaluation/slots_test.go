package evaluation

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

// checkSlots checks that the evaluator's slot table agrees with its controls' memos: every
// held slot is counted once for each control that holds it, and no other slot is numbered.
func checkSlots(t *testing.T, e *Evaluator) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	counted := map[types.UID]int32{}
	for name, cs := range e.controls {
		keys := cs.matched.keys(&e.slots)
		if len(keys) != cs.matched.len() {
			t.Fatalf("control %s: %d keys held, count says %d", name, len(keys), cs.matched.len())
		}
		for _, k := range keys {
			counted[k]++
		}
	}
	if e.slots.live() != len(counted) {
		t.Fatalf("%d subjects numbered, %d held by controls", e.slots.live(), len(counted))
	}
	for k, n := range counted {
		slot, ok := e.slots.lookup(k)
		if !ok || e.slots.holders[slot] != n || e.slots.keys[slot] != k {
			t.Fatalf("subject %s: slot %d (numbered %v) has %d holders and key %q; %d controls hold it", k, slot, ok, e.slots.holders[slot], e.slots.keys[slot], n)
		}
	}
	for _, slot := range e.slots.free {
		if e.slots.holders[slot] != 0 || e.slots.keys[slot] != "" {
			t.Fatalf("free slot %d has %d holders and key %q", slot, e.slots.holders[slot], e.slots.keys[slot])
		}
	}
}

func TestVerdictMemosShareSlotsAndFreeThem(t *testing.T) {
	var slots subjectSlots
	var a, b verdictMemos
	memo := func(rv uint64) verdictMemo { return verdictMemo{resourceVersion: rv, inputs: 1} }
	for i, key := range []types.UID{"u0", "u1", "u2", "u3"} {
		if a.set(&slots, key, memo(uint64(i+1))) {
			t.Fatalf("%s: held before it was set", key)
		}
	}
	if !a.set(&slots, "u1", memo(10)) {
		t.Fatal("u1: not held when set again")
	}
	b.set(&slots, "u2", memo(20))
	if got, ok := a.get(&slots, "u1"); !ok || got != memo(10) {
		t.Fatalf("a's u1: %+v %v", got, ok)
	}
	if _, ok := b.get(&slots, "u1"); ok {
		t.Fatal("b holds u1, which only a set")
	}
	if got, _ := b.get(&slots, "u2"); got != memo(20) {
		t.Fatalf("b's u2: %+v; a's memo leaked into b's slot", got)
	}
	if !a.remove(&slots, "u2") || a.remove(&slots, "u2") {
		t.Fatal("u2: removed other than once")
	}
	if _, ok := slots.lookup("u2"); !ok {
		t.Fatal("u2's slot freed while b still holds it")
	}
	b.releaseAll(&slots)
	if _, ok := slots.lookup("u2"); ok || slots.live() != 3 {
		t.Fatalf("after b let go: u2 numbered, or %d subjects numbered; want 3", slots.live())
	}
	// A freed slot goes to the next new subject, which starts with no memo in a.
	a.set(&slots, "u4", memo(4))
	if got := slots.byKey["u4"]; got != 2 {
		t.Fatalf("u4 got slot %d, want the freed slot 2", got)
	}
	if got := a.keys(&slots); !slices.Equal(got, []types.UID{"u0", "u1", "u4", "u3"}) {
		t.Fatalf("a's keys %v", got)
	}
	a.releaseAll(&slots)
	if slots.live() != 0 || a.len() != 0 {
		t.Fatalf("after a let go: %d subjects numbered, a holds %d", slots.live(), a.len())
	}
}
