package evaluation

import (
	"maps"
	"slices"
)

func (cs *controlState) markDirty(ns string) {
	if !cs.allDirty {
		cs.dirty[ns] = struct{}{}
	}
}

// TakeDirty returns the namespaces whose Findings of the control must be synced since the last
// call, and forgets them; all is true when every namespace must be (after a sweep), with the
// failing namespaces listed. A caller that fails to sync a namespace gives it back with
// MarkDirty.
func (e *Evaluator) TakeDirty(control string) (namespaces []string, all bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cs, ok := e.controls[control]
	if !ok {
		return nil, false
	}
	all = cs.allDirty
	if all {
		for ns := range cs.failing {
			cs.dirty[ns] = struct{}{}
		}
	}
	namespaces = slices.Sorted(maps.Keys(cs.dirty))
	clear(cs.dirty)
	cs.allDirty = false
	return namespaces, all
}

// MarkDirty asks for the Findings of a control in the given namespaces to be synced again, for
// example because a sync failed or someone changed or deleted a Finding. It reports whether the
// control is known.
func (e *Evaluator) MarkDirty(control string, namespaces ...string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	cs, ok := e.controls[control]
	if !ok {
		return false
	}
	for _, ns := range namespaces {
		cs.markDirty(ns)
	}
	return true
}

// MarkAllDirty asks for every Finding of a control to be synced again, as after a sweep, for
// example because the exceptions that apply to it changed. It reports whether the control is
// known.
func (e *Evaluator) MarkAllDirty(control string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	cs, ok := e.controls[control]
	if ok {
		cs.allDirty = true
	}
	return ok
}
