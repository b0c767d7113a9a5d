package evaluation

import (
	"fmt"
	"strings"
	"testing"
	"time"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/policy"
)

func TestEventBudget(t *testing.T) {
	type step struct {
		after    time.Duration // since the previous step
		took     time.Duration
		timedOut bool
		allows   bool // what allows says before the evaluation is charged
	}
	cases := map[string][]step{
		"a full bucket allows a burst": {
			{took: time.Second, allows: true},
			{took: 900 * time.Millisecond, allows: true},
			{took: 200 * time.Millisecond, allows: true},
			{allows: false}, // 2.1 s spent of a 2 s burst
		},
		"the bucket refills at the rate": {
			{took: 2 * time.Second, allows: true},
			{after: time.Second, allows: true}, // 0.2 s back
			{took: 300 * time.Millisecond, allows: true},
			{allows: false},
			{after: 500 * time.Millisecond, allows: false}, // 0.1 s back: exactly empty
			{after: 100 * time.Millisecond, allows: true},
		},
		"a deadline empties the bucket at once": {
			{took: 10 * time.Millisecond, timedOut: true, allows: true},
			{after: 5 * time.Second, allows: false},
			{after: 4900 * time.Millisecond, allows: false},
			{after: 200 * time.Millisecond, allows: true}, // EventBudgetBurst / EventBudgetRate
		},
		"refills stop at a full bucket": {
			{after: time.Hour, took: 1900 * time.Millisecond, allows: true},
			{took: 200 * time.Millisecond, allows: true},
			{allows: false},
		},
		"a clock that steps back refills nothing": {
			{took: 2 * time.Second, allows: true},
			{after: -time.Minute, allows: false},
			{after: time.Minute, allows: false}, // back where it was: nothing refilled
			{after: 100 * time.Millisecond, allows: true},
		},
	}
	for name, steps := range cases {
		t.Run(name, func(t *testing.T) {
			var b eventBudget
			now := start
			for i, s := range steps {
				now = now.Add(s.after)
				if got := b.allows(now); got != s.allows {
					t.Fatalf("step %d: allows = %v, want %v (debt %s)", i, got, s.allows, b.debt)
				}
				if s.took > 0 || s.timedOut {
					b.spend(now, s.took, s.timedOut)
				}
			}
		})
	}
}

// slowPolicy runs to its deadline on subjects labelled slow, and passes the others at once.
const slowPolicy = `package isms.slow

r := numbers.range(1, 20000)

violation contains {"msg": "done"} if {
	input.review.object.metadata.labels.slow
	every a in r {
		every b in r { a + b > 0 }
	}
}`

func slowDeploy(t *testing.T, ns, name string, slow bool, privileged ...string) *Subject {
	var labels map[string]string
	if slow {
		labels = map[string]string{"slow": "yes"}
	}
	return labelledDeploy(t, ns, name, labels, privileged...)
}

// fastAndSlowSwept registers a fast and a slow control on Deployments, and sweeps both over one
// Deployment that is cheap to evaluate.
func (h *harness) fastAndSlowSwept(t *testing.T) {
	targets := ismsv1.Targets{Kinds: kinds("apps", "Deployment")}
	h.setControl(ControlDefinition{Name: "fast", Generation: 1, Targets: targets, Policy: h.compile(privilegedPolicy)})
	h.setControl(ControlDefinition{Name: "slow", Generation: 1, Targets: targets, Policy: h.compile(slowPolicy)})
	h.upsert(slowDeploy(t, "ns-a", "web", false))
	h.sweep("fast")
	h.sweep("slow")
}

// A control whose policy runs to its deadline stops being evaluated on events once it has
// spent its event budget; the control beside it is evaluated on every event, and the slow one
// again once its budget refills or at its next sweep.
func TestSlowControlIsDeferredOnEvents(t *testing.T) {
	h := newHarness(t, policy.Options{Timeout: 20 * time.Millisecond})
	h.fastAndSlowSwept(t)

	h.upsert(slowDeploy(t, "ns-a", "web", true)) // runs to the deadline: the bucket empties
	if sum := h.ev.Summarize("slow"); sum.Errored != 1 || !strings.Contains(sum.FirstError, "deadline") {
		t.Fatalf("slow after its first slow event: %+v", sum)
	}
	for i := range 5 {
		privileged := []string{}
		if i%2 == 0 {
			privileged = append(privileged, "sidecar")
		}
		h.upsert(slowDeploy(t, "ns-a", "web", true, privileged...))
		if got, want := h.ev.Summarize("fast").Failing, len(privileged); got != want {
			t.Fatalf("event %d: fast control has %d failing subjects, want %d: it must be evaluated on every event", i, got, want)
		}
	}
	h.upsert(slowDeploy(t, "ns-a", "web", false)) // fixed, but the budget is spent
	sum := h.ev.Summarize("slow")
	if sum.Errored != 1 || !sum.EventsDeferred {
		t.Fatalf("slow with its budget spent: %+v, want the deadline error kept and EventsDeferred", sum)
	}
	if v := Judge(sum); !strings.Contains(v.Message, "event budget") {
		t.Errorf("Judge message %q does not say that events are deferred", v.Message)
	}

	h.clock = h.clock.Add(time.Duration(float64(EventBudgetBurst)/EventBudgetRate) + time.Second)
	h.upsert(slowDeploy(t, "ns-a", "web", false))
	if sum := h.ev.Summarize("slow"); sum.Errored != 0 || !sum.EventsDeferred {
		t.Fatalf("slow once its budget refilled: %+v, want the subject evaluated (deferral stands until a sweep)", sum)
	}
	h.sweep("slow")
	if sum := h.ev.Summarize("slow"); sum.EventsDeferred {
		t.Fatalf("slow after a sweep: %+v, want EventsDeferred cleared", sum)
	}
}

// An event evaluates its policies without the evaluator's lock: reading another control's
// standing does not wait for a slow evaluation.
func TestEventEvaluatesOutsideTheLock(t *testing.T) {
	const timeout = time.Second
	h := newHarness(t, policy.Options{Timeout: timeout})
	h.fastAndSlowSwept(t)

	done := make(chan struct{})
	slow := slowDeploy(t, "ns-a", "web", true)
	go func() {
		defer close(done)
		_, _ = h.ev.Upsert(h.ctx, slow)
	}()
	time.Sleep(50 * time.Millisecond)
	began := time.Now()
	_ = h.ev.Summarize("fast")
	if _, err := h.ev.Upsert(h.ctx, deploy(t, "ns-b", "api", "sidecar")); err != nil {
		t.Fatal(err)
	}
	waited := time.Since(began)
	select {
	case <-done:
		t.Skip("the slow evaluation ended before the lock was tried: machine too slow to tell")
	default:
	}
	if waited > timeout/2 {
		t.Fatalf("Summarize and another Upsert waited %s behind a slow evaluation", waited)
	}
	<-done
}

// A sweep stops evaluating a control that has spent its sweep budget: its remaining subjects
// are errors with a reason of their own, the other control of the sweep is evaluated fully, and
// the next sweep tries again.
func TestSweepBudget(t *testing.T) {
	h := newHarness(t, policy.Options{Timeout: 20 * time.Millisecond})
	// Ten of the slow control's deadlines; the fast control's 40 evaluations take a millisecond
	// or two, and the margin is for a loaded machine descheduling them mid-evaluation.
	h.ev.SetSweepBudget(200 * time.Millisecond)
	targets := ismsv1.Targets{Kinds: kinds("apps", "Deployment")}
	h.setControl(ControlDefinition{Name: "fast", Generation: 1, Targets: targets, Policy: h.compile(privilegedPolicy)})
	h.setControl(ControlDefinition{Name: "slow", Generation: 1, Targets: targets, Policy: h.compile(slowPolicy)})
	const n = 40
	for i := range n {
		h.upsert(slowDeploy(t, "ns-a", fmt.Sprintf("d%02d", i), true, "sidecar"))
	}
	sweepBoth := func() {
		t.Helper()
		if _, err := h.ev.SweepControls(h.ctx, []string{"fast", "slow"}, func() []*Subject { return h.list(GroupKinds(targets.Kinds)) }); err != nil {
			t.Fatal(err)
		}
	}
	sweepBoth()
	if sum := h.ev.Summarize("fast"); sum.Failing != n || sum.Errored != 0 {
		t.Fatalf("fast control beside a slow one: %+v, want all %d subjects failing", sum, n)
	}
	sum := h.ev.Summarize("slow")
	if !sum.SweepBudgetSpent || sum.Errored != n || sum.Evaluated != n {
		t.Fatalf("slow control over its budget: %+v, want %d errored subjects and SweepBudgetSpent", sum, n)
	}
	_, errored := h.ev.NonPassing("slow")
	skipped := 0
	for _, r := range errored {
		if r.Err == ErrSweepBudget.Error() {
			skipped++
		}
	}
	if skipped == 0 || skipped >= n {
		t.Fatalf("%d of %d subjects skipped for the budget, want some but not all (the budget is spent by evaluating)", skipped, n)
	}
	// The deadlines are errors of the moment, retried sooner; the budget's are not.
	if sum.TransientErrors != n-skipped || sum.TransientRetries != 1 {
		t.Fatalf("TransientErrors = %d, TransientRetries = %d; want %d and 1", sum.TransientErrors, sum.TransientRetries, n-skipped)
	}
	if v := Judge(sum); v.Result != ismsv1.ResultError || v.Reason != ismsv1.ReasonSweepBudgetExceeded {
		t.Fatalf("Judge = %+v, want Error with reason %s", v, ismsv1.ReasonSweepBudgetExceeded)
	}

	for _, s := range h.list(GroupKinds(targets.Kinds)) {
		h.upsert(slowDeploy(t, s.Namespace, s.Name, false))
	}
	sweepBoth()
	if sum := h.ev.Summarize("slow"); sum.SweepBudgetSpent || sum.Errored != 0 || sum.Evaluated != n || sum.TransientRetries != 0 {
		t.Fatalf("slow control once its subjects are cheap: %+v, want all %d evaluated", sum, n)
	}
}
