package fault

import (
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// TestRestartKeepsControlResults restarts a converged manager once (SIGKILL, as a crash or an
// eviction would) and watches the Controls until it has swept each again: a Control whose
// objects did not change should keep its result and counts, and announce no transition.
// TestFaults found that a restarted manager wrote every Control's status as Pending (counts 0,
// openFindings 0 while its Findings stayed Open) until its first sweep ended, and that Pending
// -> Fail then emitted a new ControlFailing Event for every failing Control (carriesResult).
func TestRestartKeepsControlResults(t *testing.T) {
	requireControlPlane(t)
	h := newHarness(t, uint64(time.Now().UnixNano()))
	if err := h.mgr.Start(); err != nil {
		t.Fatal(err)
	}
	h.converge(time.Now(), true, &roundResult{pendingControls: map[string]bool{}})
	before := h.resultsAndEvents()
	h.kill(1)
	if err := h.mgr.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(convergeTimeout)
	for time.Now().Before(deadline) && !h.sweptAll() {
		for name, result := range h.resultsAndEvents().results {
			if result != before.results[name] {
				t.Errorf("control %s read %s after the restart, was %s", name, result, before.results[name])
				before.results[name] = result // once per change
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // the Events of the first sweep
	if after := h.resultsAndEvents(); after.failingEvents != before.failingEvents {
		t.Errorf("%d ControlFailing Events after the restart, with no object changed", after.failingEvents-before.failingEvents)
	}
}

type controlView struct {
	results       map[string]ismsv1.ControlResult
	failingEvents int // ControlFailing Events, with their repetitions
}

func (h *harness) resultsAndEvents() controlView {
	v := controlView{results: map[string]ismsv1.ControlResult{}}
	var controls ismsv1.ControlList
	var events eventsv1.EventList
	if err := h.c.List(h.ctx, &controls); err != nil {
		h.fail("listing controls: %v", err)
	}
	if err := h.c.List(h.ctx, &events); err != nil {
		h.fail("listing events: %v", err)
	}
	for _, c := range controls.Items {
		v.results[c.Name] = c.Status.Result
	}
	for _, e := range events.Items {
		if e.Regarding.Kind == "Control" && e.Reason == ismsv1.EventControlFailing {
			v.failingEvents++
			if e.Series != nil {
				v.failingEvents += int(e.Series.Count) - 1
			}
		}
	}
	return v
}
