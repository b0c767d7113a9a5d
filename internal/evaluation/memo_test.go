package evaluation

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/policy"
)

func TestReusable(t *testing.T) {
	memo := verdictMemo{resourceVersion: 42, inputs: 3}
	cases := map[string]struct {
		prev     verdictMemo
		known    bool
		cur      verdictMemo
		volatile bool
		want     bool
	}{
		"same object, same inputs":                  {prev: memo, known: true, cur: memo, want: true},
		"no verdict recorded (new in scope)":        {prev: memo, cur: memo},
		"object changed":                            {prev: memo, known: true, cur: verdictMemo{resourceVersion: 43, inputs: 3}},
		"control's inputs changed":                  {prev: memo, known: true, cur: verdictMemo{resourceVersion: 42, inputs: 4}},
		"volatile policy":                           {prev: memo, known: true, cur: memo, volatile: true},
		"last verdict an error (remembers nothing)": {prev: verdictMemo{}, known: true, cur: memo},
		"object without a resourceVersion":          {prev: verdictMemo{inputs: 3}, known: true, cur: verdictMemo{inputs: 3}},
		"inputs never numbered":                     {prev: verdictMemo{resourceVersion: 42}, known: true, cur: verdictMemo{resourceVersion: 42}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := reusable(tc.prev, tc.known, tc.cur, tc.volatile); got != tc.want {
				t.Errorf("reusable(%+v, %v, %+v, %v) = %v, want %v", tc.prev, tc.known, tc.cur, tc.volatile, got, tc.want)
			}
		})
	}
}

func TestResourceVersionOf(t *testing.T) {
	for rv, want := range map[string]uint64{"": 0, "123": 123, "abc": 0, "-1": 0, "18446744073709551615": 1<<64 - 1} {
		s := &Subject{}
		s.ResourceVersion = rv
		if got := resourceVersionOf(s); got != want {
			t.Errorf("resourceVersionOf(%q) = %d, want %d", rv, got, want)
		}
	}
}

func versioned(s *Subject, rv int) *Subject {
	s.ResourceVersion = strconv.Itoa(rv)
	return s
}

// sweepAll sweeps the controls over every Deployment and returns each one's summary.
func (h *harness) sweepAll(controls ...string) map[string]Summary {
	h.t.Helper()
	list := func() []*Subject { return h.list([]schema.GroupKind{deploymentGVK.GroupKind()}) }
	if _, err := h.ev.SweepControls(h.ctx, controls, list); err != nil {
		h.t.Fatal(err)
	}
	out := map[string]Summary{}
	for _, c := range controls {
		out[c] = h.ev.Summarize(c)
	}
	return out
}

func TestSweepSkipsWhatDidNotChange(t *testing.T) {
	h := newHarness(t, policy.Options{})
	targets := ismsv1.Targets{Kinds: kinds("apps", "Deployment")}
	h.setControl(ControlDefinition{Name: "priv", Generation: 1, Targets: targets, Policy: h.compile(privilegedPolicy)})
	const n = 10
	for i := range n {
		h.subjects[deploy(t, "a", fmt.Sprint(i)).Key()] = versioned(deploy(t, "a", fmt.Sprint(i), "c"), 100+i)
	}
	want := func(step string, sum Summary, evaluated, skipped int) {
		t.Helper()
		if sum.SweepEvaluated != evaluated || sum.SweepSkipped != skipped || sum.Failing != n {
			t.Fatalf("%s: evaluated %d, skipped %d, failing %d; want %d, %d, %d", step, sum.SweepEvaluated, sum.SweepSkipped, sum.Failing, evaluated, skipped, n)
		}
	}
	want("first sweep", h.sweepAll("priv")["priv"], n, 0)
	want("nothing changed", h.sweepAll("priv")["priv"], 0, n)

	// An update the events did not evaluate (deferred): the new resourceVersion is evaluated.
	h.subjects[deploy(t, "a", "3").Key()] = versioned(deploy(t, "a", "3", "c"), 200)
	want("one object changed", h.sweepAll("priv")["priv"], 1, n-1)

	// An update an event evaluated: the sweep has nothing to do.
	h.upsert(versioned(deploy(t, "a", "4", "c"), 201))
	want("one object changed on an event", h.sweepAll("priv")["priv"], 0, n)

	// The Policy is edited (same generation): everything again.
	h.setControl(ControlDefinition{Name: "priv", Generation: 1, Targets: targets, Policy: h.compile(privilegedPolicy + "\n# edited\n")})
	want("policy edited", h.sweepAll("priv")["priv"], n, 0)

	h.setControl(ControlDefinition{Name: "priv", Generation: 1, Targets: targets, Policy: h.compile(privilegedPolicy + "\n# edited\n"), Parameters: object(t, map[string]any{"x": 1})})
	want("parameters changed", h.sweepAll("priv")["priv"], n, 0)
	h.setControl(ControlDefinition{Name: "priv", Generation: 2, Targets: targets, Policy: h.compile(privilegedPolicy + "\n# edited\n"), Parameters: object(t, map[string]any{"x": 1})})
	want("generation changed", h.sweepAll("priv")["priv"], n, 0)
	want("nothing changed again", h.sweepAll("priv")["priv"], 0, n)
}

func TestSweepAlwaysEvaluatesVolatilePoliciesAndErrors(t *testing.T) {
	h := newHarness(t, policy.Options{})
	targets := ismsv1.Targets{Kinds: kinds("apps", "Deployment")}
	h.setControl(ControlDefinition{Name: "clock", Generation: 1, Targets: targets, Policy: h.compile(`package isms.clock

violation contains {"msg": "late"} if time.now_ns() > 0`)})
	h.setControl(ControlDefinition{Name: "conflict", Generation: 1, Targets: targets, Policy: h.compile(conflictPolicy)})
	for i := range 4 {
		s := versioned(labelledDeploy(t, "a", fmt.Sprint(i), map[string]string{"mode": "x"}), 10+i)
		h.subjects[s.Key()] = s
	}
	for range 2 {
		sums := h.sweepAll("clock", "conflict")
		if c := sums["clock"]; c.SweepEvaluated != 4 || c.SweepSkipped != 0 || c.Failing != 4 {
			t.Fatalf("clock: %+v, want all 4 evaluated and failing", c)
		}
		if c := sums["conflict"]; c.SweepEvaluated != 4 || c.SweepSkipped != 0 || c.Errored != 4 {
			t.Fatalf("conflict: %+v, want all 4 evaluated and errored", c)
		}
	}
}

func TestSweepEvaluatesWhatTheBudgetCut(t *testing.T) {
	h := newHarness(t, policy.Options{})
	h.ev.SetSweepBudget(time.Nanosecond)
	targets := ismsv1.Targets{Kinds: kinds("apps", "Deployment")}
	h.setControl(ControlDefinition{Name: "priv", Generation: 1, Targets: targets, Policy: h.compile(privilegedPolicy)})
	const n = 40
	for i := range n {
		s := versioned(deploy(t, "a", fmt.Sprint(i), "c"), 10+i)
		h.subjects[s.Key()] = s
	}
	cut := h.sweepAll("priv")["priv"]
	if !cut.SweepBudgetSpent || cut.Errored == 0 || cut.SweepEvaluated != n-cut.Errored {
		t.Fatalf("first sweep: %+v, want the budget spent after a few evaluations", cut)
	}
	h.ev.SetSweepBudget(time.Hour)
	if sum := h.ev.Summarize("priv"); sum.Failing+sum.Errored != n {
		t.Fatalf("%+v", sum)
	}
	sum := h.sweepAll("priv")["priv"]
	if sum.Errored != 0 || sum.Failing != n || sum.SweepEvaluated != cut.Errored || sum.SweepSkipped != n-cut.Errored {
		t.Fatalf("after the cut: %+v, want the %d cut subjects evaluated and the rest skipped", sum, cut.Errored)
	}
}

func TestSweepEvaluatesAgainWhenTheInventoryItReadsChanges(t *testing.T) {
	h := newHarness(t, policy.Options{})
	inventory := kinds("networking.k8s.io", "NetworkPolicy")
	targets := ismsv1.Targets{Kinds: kinds("apps", "Deployment")}
	h.setControl(ControlDefinition{Name: "netpol", Generation: 1, Targets: targets, Inventory: inventory, Policy: h.compile(deployNetpolPolicy)})
	h.setControl(ControlDefinition{Name: "priv", Generation: 1, Targets: targets, Policy: h.compile(privilegedPolicy)})
	for i, ns := range []string{"a", "b"} {
		s := versioned(deploy(t, ns, "d"), 10+i)
		h.subjects[s.Key()] = s
	}
	if sum := h.sweepAll("netpol")["netpol"]; sum.Failing != 2 {
		t.Fatalf("%+v, want both failing", sum)
	}
	h.sweepAll("priv")
	h.upsert(versioned(networkPolicy(t, "a", "deny"), 20))
	sums := h.sweepAll("netpol", "priv")
	if sum := sums["netpol"]; sum.Failing != 1 || sum.SweepEvaluated != 2 {
		t.Fatalf("netpol after a NetworkPolicy appeared: %+v, want both evaluated, one failing", sum)
	}
	if sum := sums["priv"]; sum.SweepSkipped != 2 {
		t.Fatalf("priv, which reads no inventory: %+v, want both skipped", sum)
	}
}
