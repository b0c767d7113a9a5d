package evaluation

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/finding"
	"github.com/isms-operator/isms-operator/internal/policy"
	"github.com/isms-operator/isms-operator/internal/policy/policytest"
)

const clusterNS = "isms-system"

var (
	configMapGVK = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	start        = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
)

const privilegedPolicy = `package isms.privileged

violation contains {"msg": msg} if {
	some c in input.review.object.spec.template.spec.containers
	c.securityContext.privileged
	msg := sprintf("container %q is privileged", [c.name])
}`

const ownerPolicy = `package isms.owner

violation contains {"msg": "namespace has no owner label"} if {
	not input.review.object.metadata.labels.owner
}`

const netpolPolicy = `package isms.netpol

violation contains {"msg": "namespace has no NetworkPolicy"} if {
	name := input.review.object.metadata.name
	not has_netpol(name)
}

has_netpol(name) if {
	some _ in data.inventory.namespace[name]["networking.k8s.io/v1"].NetworkPolicy
}`

// conflictPolicy fails at runtime for subjects labelled mode: both rules apply and disagree.
// (1/0 would not do: OPA makes a failing builtin undefined, not an error.)
const conflictPolicy = `package isms.conflict

mode = "a" if input.review.object.metadata.labels.mode
mode = "b" if input.review.object.metadata.labels.mode

violation contains {"msg": mode} if mode
`

// harness wires an evaluator to a real engine and inventory, with a clock the test moves.
type harness struct {
	t        *testing.T
	ctx      context.Context
	engine   *policy.Engine
	clock    time.Time
	ev       *Evaluator
	subjects map[types.UID]*Subject // what the cluster holds, for sweeps
	defs     map[string]ControlDefinition
}

func newHarness(t *testing.T, opts policy.Options) *harness {
	inv := policy.NewInventory()
	h := &harness{
		t:        t,
		ctx:      context.Background(),
		engine:   policy.NewEngine(inv, opts),
		clock:    start,
		subjects: map[types.UID]*Subject{},
		defs:     map[string]ControlDefinition{},
	}
	h.ev = NewEvaluator(inv, clusterNS, func() time.Time { return h.clock })
	return h
}

func (h *harness) tick() time.Time {
	h.clock = h.clock.Add(time.Minute)
	return h.clock
}

func (h *harness) compile(src string) *policy.Policy {
	h.t.Helper()
	p, err := h.engine.Compile(h.ctx, src)
	if err != nil {
		h.t.Fatalf("compile: %v", err)
	}
	return p
}

// setControl registers the control and reports whether it needs a sweep now.
func (h *harness) setControl(def ControlDefinition) bool {
	h.t.Helper()
	if err := h.ev.SetControl(def); err != nil {
		h.t.Fatalf("SetControl(%s): %v", def.Name, err)
	}
	// As the control reconciler does: the kinds it reads are loaded into data.inventory.
	if err := h.ev.LoadInventory(h.ctx, GroupKinds(def.Inventory), h.list); err != nil {
		h.t.Fatalf("LoadInventory(%s): %v", def.Name, err)
	}
	h.defs[def.Name] = def
	return h.ev.NeedsSweep(def.Name)
}

// list is what a watch's store holds of the given kinds.
func (h *harness) list(gks []schema.GroupKind) []*Subject {
	var out []*Subject
	for _, s := range h.subjects {
		if slices.Contains(gks, s.GroupKind()) {
			out = append(out, s)
		}
	}
	return out
}

func (h *harness) upsert(s *Subject) []string {
	h.t.Helper()
	h.subjects[s.Key()] = s
	affected, err := h.ev.Upsert(h.ctx, s)
	if err != nil {
		h.t.Fatalf("Upsert(%s %s/%s): %v", s.GVK.Kind, s.Namespace, s.Name, err)
	}
	return affected
}

func (h *harness) delete(s *Subject) []string {
	h.t.Helper()
	delete(h.subjects, s.Key())
	affected, err := h.ev.Delete(h.ctx, s)
	if err != nil {
		h.t.Fatalf("Delete(%s %s/%s): %v", s.GVK.Kind, s.Namespace, s.Name, err)
	}
	return affected
}

// sweep evaluates a control against every subject of its target kinds, as the operator does.
func (h *harness) sweep(control string) {
	h.t.Helper()
	var subjects []*Subject
	for _, gk := range GroupKinds(h.defs[control].Targets.Kinds) {
		for _, s := range h.subjects {
			if s.GroupKind() == gk {
				subjects = append(subjects, s)
			}
		}
	}
	if err := h.ev.Sweep(h.ctx, control, subjects); err != nil {
		h.t.Fatalf("Sweep(%s): %v", control, err)
	}
}

// failures renders Failures(control, ns) as "Kind ns/name: msg; msg".
func (h *harness) failures(control, ns string) []string {
	res, _ := h.ev.Failures(control, ns)
	var out []string
	for _, r := range res {
		var msgs []string
		for _, v := range r.Violations {
			msgs = append(msgs, v.Message)
		}
		out = append(out, fmt.Sprintf("%s %s: %s", r.Subject.Kind, qualifiedName(r.Subject), strings.Join(msgs, "; ")))
	}
	return out
}

func object(t *testing.T, v map[string]any) ast.Value {
	t.Helper()
	val, err := ast.InterfaceToValue(v)
	if err != nil {
		t.Fatalf("converting %v: %v", v, err)
	}
	return val
}

func deploy(t *testing.T, ns, name string, privileged ...string) *Subject {
	t.Helper()
	return labelledDeploy(t, ns, name, nil, privileged...)
}

func labelledDeploy(t *testing.T, ns, name string, labels map[string]string, privileged ...string) *Subject {
	t.Helper()
	containers := []any{map[string]any{"name": "app"}}
	for _, c := range privileged {
		containers = append(containers, map[string]any{"name": c, "securityContext": map[string]any{"privileged": true}})
	}
	return &Subject{
		ObjectMeta: meta(ns, name, labels),
		GVK:        deploymentGVK,
		Value: object(t, map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": name, "namespace": ns, "labels": anyMap(labels)},
			"spec":     map[string]any{"template": map[string]any{"spec": map[string]any{"containers": containers}}},
		}),
	}
}

func namespace(t *testing.T, name string, labels map[string]string) *Subject {
	t.Helper()
	return &Subject{
		ObjectMeta: meta("", name, labels),
		GVK:        namespaceGVK,
		Value: object(t, map[string]any{
			"apiVersion": "v1", "kind": "Namespace",
			"metadata": map[string]any{"name": name, "labels": anyMap(labels)},
		}),
	}
}

func networkPolicy(t *testing.T, ns, name string) *Subject {
	t.Helper()
	return &Subject{
		ObjectMeta: meta(ns, name, nil),
		GVK:        networkPolicyGVK,
		Value:      object(t, map[string]any{"metadata": map[string]any{"name": name, "namespace": ns}}),
	}
}

func configMap(t *testing.T, ns, name string) *Subject {
	t.Helper()
	return &Subject{
		ObjectMeta: meta(ns, name, nil),
		GVK:        configMapGVK,
		Value:      object(t, map[string]any{"metadata": map[string]any{"name": name, "namespace": ns}}),
	}
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// scenario is one control (or more) over an initial cluster, swept, then changed.
type scenario struct {
	name      string
	policy    string
	targets   ismsv1.Targets
	inventory []ismsv1.KindSelector
}

func TestEvaluator(t *testing.T) {
	privileged := scenario{name: "privileged", policy: privilegedPolicy, targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment")}}
	owner := scenario{name: "owner", policy: ownerPolicy, targets: ismsv1.Targets{Kinds: kinds("", "Namespace")}}
	netpol := scenario{
		name: "netpol", policy: netpolPolicy,
		targets:   ismsv1.Targets{Kinds: kinds("", "Namespace")},
		inventory: []ismsv1.KindSelector{{APIGroups: []string{"networking.k8s.io"}, Kinds: []string{"NetworkPolicy"}}},
	}
	prodOnly := scenario{
		name: "prod-privileged", policy: privilegedPolicy,
		targets: ismsv1.Targets{
			Kinds:             kinds("apps", "Deployment"),
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
		},
	}

	// The cluster every case starts from.
	cluster := func(t *testing.T) []*Subject {
		return []*Subject{
			namespace(t, "ns-a", map[string]string{"env": "prod", "owner": "team-a"}),
			namespace(t, "ns-b", map[string]string{"env": "dev"}),
			deploy(t, "ns-a", "web", "sidecar"),
			deploy(t, "ns-a", "api"),
			deploy(t, "ns-b", "db", "init", "backup"),
			networkPolicy(t, "ns-b", "default-deny"),
		}
	}

	type want struct {
		evaluated         int
		failing           int
		failingNamespaces []string
		// failures by the namespace their Finding lives in
		failures   map[string][]string
		needsSweep bool
	}
	tests := map[string]struct {
		control scenario
		// change is applied after the initial sweep; it returns the affected controls.
		change       func(t *testing.T, h *harness) []string
		wantAffected []string
		// reconfirmed are the namespaces where the change itself confirmed a failure.
		reconfirmed []string
		// after is checked after the change; afterResweep, when set, after one more sweep.
		after        want
		afterResweep *want
	}{
		"sweep files failures by namespace, sorted, with messages": {
			control: privileged,
			after: want{
				evaluated:         3,
				failing:           2,
				failingNamespaces: []string{"ns-a", "ns-b"},
				failures: map[string][]string{
					"ns-a":    {`Deployment ns-a/web: container "sidecar" is privileged`},
					"ns-b":    {`Deployment ns-b/db: container "backup" is privileged; container "init" is privileged`},
					clusterNS: nil,
				},
			},
		},
		"failures within a namespace are sorted by name": {
			control: privileged,
			change: func(t *testing.T, h *harness) []string {
				return h.upsert(deploy(t, "ns-a", "aaa", "x"))
			},
			wantAffected: []string{"privileged"},
			reconfirmed:  []string{"ns-a"},
			after: want{
				evaluated:         4,
				failing:           3,
				failingNamespaces: []string{"ns-a", "ns-b"},
				failures: map[string][]string{
					"ns-a": {`Deployment ns-a/aaa: container "x" is privileged`, `Deployment ns-a/web: container "sidecar" is privileged`},
				},
			},
		},
		"upsert of a fixed deployment removes its failure": {
			control: privileged,
			change: func(t *testing.T, h *harness) []string {
				return h.upsert(deploy(t, "ns-a", "web"))
			},
			wantAffected: []string{"privileged"},
			after: want{
				evaluated:         3,
				failing:           1,
				failingNamespaces: []string{"ns-b"},
				failures:          map[string][]string{"ns-a": nil, "ns-b": {`Deployment ns-b/db: container "backup" is privileged; container "init" is privileged`}},
			},
		},
		"upsert of a deployment that still fails the same way affects no control, but is seen again": {
			control: privileged,
			change: func(t *testing.T, h *harness) []string {
				return h.upsert(deploy(t, "ns-a", "web", "sidecar"))
			},
			reconfirmed: []string{"ns-a"},
			after: want{
				evaluated:         3,
				failing:           2,
				failingNamespaces: []string{"ns-a", "ns-b"},
			},
		},
		"upsert of a deployment that still passes changes nothing": {
			control: privileged,
			change: func(t *testing.T, h *harness) []string {
				return h.upsert(deploy(t, "ns-a", "api"))
			},
			after: want{evaluated: 3, failing: 2, failingNamespaces: []string{"ns-a", "ns-b"}},
		},
		"upsert of an untargeted kind affects no control": {
			control: privileged,
			change: func(t *testing.T, h *harness) []string {
				return h.upsert(configMap(t, "ns-a", "settings"))
			},
			after: want{evaluated: 3, failing: 2, failingNamespaces: []string{"ns-a", "ns-b"}},
		},
		"delete of a failing subject removes it": {
			control: privileged,
			change: func(t *testing.T, h *harness) []string {
				return h.delete(deploy(t, "ns-b", "db", "init", "backup"))
			},
			wantAffected: []string{"privileged"},
			after: want{
				evaluated:         2,
				failing:           1,
				failingNamespaces: []string{"ns-a"},
				failures:          map[string][]string{"ns-b": nil},
			},
		},
		"delete of a passing subject is a change in what is evaluated": {
			control: privileged,
			change: func(t *testing.T, h *harness) []string {
				return h.delete(deploy(t, "ns-a", "api"))
			},
			wantAffected: []string{"privileged"},
			after:        want{evaluated: 2, failing: 2, failingNamespaces: []string{"ns-a", "ns-b"}},
		},
		"cluster-scoped failing subject is filed under the cluster namespace": {
			control: owner,
			after: want{
				evaluated:         2,
				failing:           1,
				failingNamespaces: []string{clusterNS},
				failures: map[string][]string{
					clusterNS: {"Namespace ns-b: namespace has no owner label"},
					"ns-b":    nil,
				},
			},
		},
		"cluster-scoped subject fixed by upsert": {
			control: owner,
			change: func(t *testing.T, h *harness) []string {
				return h.upsert(namespace(t, "ns-b", map[string]string{"env": "dev", "owner": "team-b"}))
			},
			wantAffected: []string{"owner"},
			after:        want{evaluated: 2, failures: map[string][]string{clusterNS: nil}},
		},
		"inventory join: a new NetworkPolicy marks the control for a sweep": {
			control: netpol,
			change: func(t *testing.T, h *harness) []string {
				return h.upsert(networkPolicy(t, "ns-a", "default-deny"))
			},
			wantAffected: []string{"netpol"},
			// Results stand until the sweep.
			after: want{
				evaluated:         2,
				failing:           1,
				failingNamespaces: []string{clusterNS},
				failures:          map[string][]string{clusterNS: {"Namespace ns-a: namespace has no NetworkPolicy"}},
				needsSweep:        true,
			},
			afterResweep: &want{evaluated: 2, failures: map[string][]string{clusterNS: nil}},
		},
		"inventory join: a deleted NetworkPolicy marks the control for a sweep": {
			control: netpol,
			change: func(t *testing.T, h *harness) []string {
				return h.delete(networkPolicy(t, "ns-b", "default-deny"))
			},
			wantAffected: []string{"netpol"},
			after:        want{evaluated: 2, failing: 1, failingNamespaces: []string{clusterNS}, needsSweep: true},
			afterResweep: &want{
				evaluated:         2,
				failing:           2,
				failingNamespaces: []string{clusterNS},
				failures: map[string][]string{clusterNS: {
					"Namespace ns-a: namespace has no NetworkPolicy",
					"Namespace ns-b: namespace has no NetworkPolicy",
				}},
			},
		},
		"namespaceSelector: only prod namespaces are evaluated": {
			control: prodOnly,
			after: want{
				evaluated:         2,
				failing:           1,
				failingNamespaces: []string{"ns-a"},
				failures:          map[string][]string{"ns-b": nil},
			},
		},
		"namespaceSelector: relabelling a namespace marks the control for a sweep": {
			control: prodOnly,
			change: func(t *testing.T, h *harness) []string {
				return h.upsert(namespace(t, "ns-b", map[string]string{"env": "prod"}))
			},
			wantAffected: []string{"prod-privileged"},
			after:        want{evaluated: 2, failing: 1, failingNamespaces: []string{"ns-a"}, needsSweep: true},
			afterResweep: &want{
				evaluated:         3,
				failing:           2,
				failingNamespaces: []string{"ns-a", "ns-b"},
				failures:          map[string][]string{"ns-b": {`Deployment ns-b/db: container "backup" is privileged; container "init" is privileged`}},
			},
		},
		"namespaceSelector: a namespace upserted with the same labels changes nothing": {
			control: prodOnly,
			change: func(t *testing.T, h *harness) []string {
				return h.upsert(namespace(t, "ns-b", map[string]string{"env": "dev"}))
			},
			after: want{evaluated: 2, failing: 1, failingNamespaces: []string{"ns-a"}},
		},
		"namespaceSelector: a subject in an unselected namespace is not evaluated on upsert": {
			control: prodOnly,
			change: func(t *testing.T, h *harness) []string {
				return h.upsert(deploy(t, "ns-b", "cache", "x"))
			},
			after: want{evaluated: 2, failing: 1, failingNamespaces: []string{"ns-a"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, policy.Options{})
			def := ControlDefinition{
				Name: tc.control.name, Generation: 1, Targets: tc.control.targets,
				Inventory: tc.control.inventory, Policy: h.compile(tc.control.policy),
			}
			if !h.setControl(def) {
				t.Fatal("SetControl of a new control did not ask for a sweep")
			}
			for _, s := range cluster(t) {
				h.upsert(s)
			}
			if !h.ev.NeedsSweep(def.Name) {
				t.Fatal("NeedsSweep = false before the first sweep")
			}
			sweptAt := h.clock
			h.sweep(def.Name)
			if h.ev.NeedsSweep(def.Name) {
				t.Fatal("NeedsSweep = true right after a sweep")
			}

			changedAt := h.tick()
			if tc.change != nil {
				affected := tc.change(t, h)
				if !reflect.DeepEqual(affected, tc.wantAffected) {
					t.Errorf("affected = %q, want %q", affected, tc.wantAffected)
				}
			}
			check := func(stage string, w want) {
				t.Helper()
				sum := h.ev.Summarize(def.Name)
				if !sum.Known || !sum.Swept || sum.Generation != 1 || sum.PolicyDigest != def.Policy.Digest {
					t.Errorf("%s: summary header = %+v", stage, sum)
				}
				if sum.Evaluated != w.evaluated || sum.Failing != w.failing || sum.Errored != 0 || sum.FirstError != "" {
					t.Errorf("%s: evaluated/failing/errored = %d/%d/%d (%q), want %d/%d/0",
						stage, sum.Evaluated, sum.Failing, sum.Errored, sum.FirstError, w.evaluated, w.failing)
				}
				if !reflect.DeepEqual(sum.FailingNamespaces, w.failingNamespaces) {
					t.Errorf("%s: failing namespaces = %q, want %q", stage, sum.FailingNamespaces, w.failingNamespaces)
				}
				for ns, wantFailures := range w.failures {
					if got := h.failures(def.Name, ns); !reflect.DeepEqual(got, wantFailures) {
						t.Errorf("%s: failures in %s =\n%q\nwant\n%q", stage, ns, got, wantFailures)
					}
				}
				if got := h.ev.NeedsSweep(def.Name); got != w.needsSweep {
					t.Errorf("%s: NeedsSweep = %v, want %v", stage, got, w.needsSweep)
				}
			}
			check("after change", tc.after)

			// A failure the change re-confirmed is observed then; the others when they were swept.
			for _, ns := range tc.after.failingNamespaces {
				_, observed := h.ev.Failures(def.Name, ns)
				wantObserved := sweptAt
				if slices.Contains(tc.reconfirmed, ns) {
					wantObserved = changedAt
				}
				if !observed.Equal(wantObserved) {
					t.Errorf("failure in %s observed at %s, want %s", ns, observed, wantObserved)
				}
			}

			if tc.afterResweep != nil {
				resweptAt := h.tick()
				h.sweep(def.Name)
				check("after resweep", *tc.afterResweep)
				if sum := h.ev.Summarize(def.Name); !sum.LastSweep.Equal(resweptAt) {
					t.Errorf("lastSweep = %s, want %s", sum.LastSweep, resweptAt)
				}
			}
		})
	}
}

func TestEvaluatorErrors(t *testing.T) {
	tests := map[string]struct {
		policy    string
		opts      policy.Options
		subject   func(t *testing.T) *Subject
		wantError string // in FirstError
	}{
		"runtime conflict": {
			policy: conflictPolicy,
			subject: func(t *testing.T) *Subject {
				return labelledDeploy(t, "ns-a", "odd", map[string]string{"mode": "x"})
			},
			wantError: "Deployment ns-a/odd: evaluating policy isms.conflict:",
		},
		"deadline": {
			policy:    policytest.Runaway,
			opts:      policy.Options{Timeout: time.Millisecond},
			subject:   func(t *testing.T) *Subject { return deploy(t, "ns-a", "odd") },
			wantError: "Deployment ns-a/odd: " + policy.ErrDeadline.Error(),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, tc.opts)
			def := ControlDefinition{Name: "ctl", Generation: 1, Targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment")}, Policy: h.compile(tc.policy)}
			h.setControl(def)
			odd := tc.subject(t)
			h.upsert(odd)
			h.sweep("ctl")

			sum := h.ev.Summarize("ctl")
			if sum.Evaluated != 1 || sum.Errored != 1 || sum.Failing != 0 || len(sum.FailingNamespaces) != 0 {
				t.Errorf("evaluated/errored/failing = %d/%d/%d, namespaces %q; want 1/1/0, none",
					sum.Evaluated, sum.Errored, sum.Failing, sum.FailingNamespaces)
			}
			if !strings.HasPrefix(sum.FirstError, tc.wantError) {
				t.Errorf("FirstError = %q, want it to start with %q", sum.FirstError, tc.wantError)
			}

			// The same error again is no change; the subject going away is.
			if affected := h.upsert(odd); len(affected) != 0 {
				t.Errorf("re-upsert with the same error: affected = %q, want none", affected)
			}
			if affected := h.delete(odd); !reflect.DeepEqual(affected, []string{"ctl"}) {
				t.Errorf("delete of an errored subject: affected = %q, want [ctl]", affected)
			}
			if sum := h.ev.Summarize("ctl"); sum.Errored != 0 || sum.FirstError != "" || sum.Evaluated != 0 {
				t.Errorf("after delete: errored %d (%q), evaluated %d; want 0", sum.Errored, sum.FirstError, sum.Evaluated)
			}
		})
	}
}

func TestEvaluatorErrorThenFixed(t *testing.T) {
	h := newHarness(t, policy.Options{})
	h.setControl(ControlDefinition{Name: "ctl", Generation: 1, Targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment")}, Policy: h.compile(conflictPolicy)})
	odd := labelledDeploy(t, "ns-a", "odd", map[string]string{"mode": "x"})
	h.upsert(odd)
	h.sweep("ctl")
	if sum := h.ev.Summarize("ctl"); sum.Errored != 1 {
		t.Fatalf("errored = %d, want 1", sum.Errored)
	}
	if affected := h.upsert(deploy(t, "ns-a", "odd")); !reflect.DeepEqual(affected, []string{"ctl"}) {
		t.Errorf("fixing an errored subject: affected = %q, want [ctl]", affected)
	}
	if sum := h.ev.Summarize("ctl"); sum.Errored != 0 || sum.FirstError != "" || sum.Evaluated != 1 {
		t.Errorf("after the fix: errored %d (%q), evaluated %d; want 0, 1", sum.Errored, sum.FirstError, sum.Evaluated)
	}
}

func TestSetControl(t *testing.T) {
	const otherPolicy = `package isms.other

violation contains {"msg": "always"} if true`
	type step struct {
		generation int64
		policy     string
		swept      bool // sweep after SetControl
		want       bool // NeedsSweep after SetControl
	}
	tests := map[string]struct {
		steps []step
	}{
		"a new control needs a sweep": {
			steps: []step{{generation: 1, policy: privilegedPolicy, want: true}},
		},
		"an unswept control still needs one": {
			steps: []step{
				{generation: 1, policy: privilegedPolicy, want: true},
				{generation: 1, policy: privilegedPolicy, want: true},
			},
		},
		"same generation and policy after a sweep needs none": {
			steps: []step{
				{generation: 1, policy: privilegedPolicy, swept: true, want: true},
				{generation: 1, policy: privilegedPolicy, want: false},
			},
		},
		"new generation needs a sweep": {
			steps: []step{
				{generation: 1, policy: privilegedPolicy, swept: true, want: true},
				{generation: 2, policy: privilegedPolicy, want: true},
			},
		},
		"new policy, same generation, needs a sweep": {
			steps: []step{
				{generation: 1, policy: privilegedPolicy, swept: true, want: true},
				{generation: 1, policy: otherPolicy, want: true},
			},
		},
		"a pending sweep is not forgotten by an unchanged update": {
			steps: []step{
				{generation: 1, policy: privilegedPolicy, swept: true, want: true},
				{generation: 2, policy: privilegedPolicy, want: true},
				{generation: 2, policy: privilegedPolicy, want: true},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, policy.Options{})
			h.upsert(deploy(t, "ns-a", "web", "sidecar"))
			for i, s := range tc.steps {
				def := ControlDefinition{Name: "ctl", Generation: s.generation, Targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment")}, Policy: h.compile(s.policy)}
				h.setControl(def)
				if got := h.ev.NeedsSweep("ctl"); got != s.want {
					t.Errorf("step %d: NeedsSweep = %v, want %v", i, got, s.want)
				}
				if sum := h.ev.Summarize("ctl"); sum.Generation != s.generation || sum.PolicyDigest != policy.Digest(s.policy) {
					t.Errorf("step %d: summary generation %d digest %s, want %d %s", i, sum.Generation, sum.PolicyDigest, s.generation, policy.Digest(s.policy))
				}
				if s.swept {
					h.sweep("ctl")
				}
			}
		})
	}
}

func TestSetControlKeepsResultsUntilTheSweep(t *testing.T) {
	h := newHarness(t, policy.Options{})
	h.upsert(deploy(t, "ns-a", "web", "sidecar"))
	def := ControlDefinition{Name: "ctl", Generation: 1, Targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment")}, Policy: h.compile(privilegedPolicy)}
	h.setControl(def)
	h.sweep("ctl")

	def.Generation, def.Targets.Namespaces = 2, []string{"elsewhere"}
	if !h.setControl(def) {
		t.Fatal("a new scope did not ask for a sweep")
	}
	if sum := h.ev.Summarize("ctl"); sum.Failing != 1 {
		t.Errorf("before the sweep: failing = %d, want 1 (results kept)", sum.Failing)
	}
	h.sweep("ctl")
	if sum := h.ev.Summarize("ctl"); sum.Failing != 0 || sum.Evaluated != 0 || len(sum.FailingNamespaces) != 0 {
		t.Errorf("after the sweep: failing %d evaluated %d namespaces %q, want none", sum.Failing, sum.Evaluated, sum.FailingNamespaces)
	}
	if _, observed := h.ev.Failures("ctl", "ns-a"); !observed.IsZero() {
		t.Errorf("observed time of a namespace that passes = %s, want zero", observed)
	}
}

func TestSetControlInvalidTargets(t *testing.T) {
	h := newHarness(t, policy.Options{})
	err := h.ev.SetControl(ControlDefinition{
		Name: "ctl", Generation: 1, Policy: h.compile(privilegedPolicy),
		Targets: ismsv1.Targets{
			Kinds:         kinds("apps", "Deployment"),
			LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus"}}},
		},
	})
	if err == nil {
		t.Fatal("SetControl accepted an invalid selector")
	}
	if sum := h.ev.Summarize("ctl"); sum.Known {
		t.Error("a control with invalid targets was registered")
	}
}

func TestRemoveControl(t *testing.T) {
	h := newHarness(t, policy.Options{})
	h.upsert(deploy(t, "ns-a", "web", "sidecar"))
	for _, name := range []string{"kept", "removed"} {
		h.setControl(ControlDefinition{Name: name, Generation: 1, Targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment")}, Policy: h.compile(privilegedPolicy)})
		h.sweep(name)
	}
	h.ev.RemoveControl("removed")

	if sum := h.ev.Summarize("removed"); !reflect.DeepEqual(sum, Summary{}) {
		t.Errorf("Summarize of a removed control = %+v, want the zero Summary", sum)
	}
	if res, _ := h.ev.Failures("removed", "ns-a"); res != nil {
		t.Errorf("Failures of a removed control = %v", res)
	}
	if h.ev.NeedsSweep("removed") {
		t.Error("NeedsSweep of a removed control = true")
	}
	if err := h.ev.Sweep(h.ctx, "removed", nil); err == nil {
		t.Error("Sweep of a removed control did not fail")
	}
	if got := h.ev.ControlsTargeting(deploymentGVK.GroupKind()); !reflect.DeepEqual(got, []string{"kept"}) {
		t.Errorf("ControlsTargeting = %q, want [kept]", got)
	}
	if affected := h.upsert(deploy(t, "ns-a", "web")); !reflect.DeepEqual(affected, []string{"kept"}) {
		t.Errorf("affected = %q, want [kept]", affected)
	}
	if sum := h.ev.Summarize("kept"); !sum.Known || sum.Failing != 0 {
		t.Errorf("kept control: %+v", sum)
	}
	checkSlots(t, h.ev)
	h.ev.RemoveControl("kept")
	if n := h.ev.slots.live(); n != 0 {
		t.Errorf("%d subjects keep a slot with no control left", n)
	}
}

func TestControlsTargeting(t *testing.T) {
	h := newHarness(t, policy.Options{})
	h.setControl(ControlDefinition{Name: "b-deploy", Targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment")}, Policy: h.compile(privilegedPolicy)})
	h.setControl(ControlDefinition{Name: "a-deploy", Targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment")}, Policy: h.compile(privilegedPolicy)})
	h.setControl(ControlDefinition{
		Name: "netpol", Targets: ismsv1.Targets{Kinds: kinds("", "Namespace")}, Policy: h.compile(netpolPolicy),
		Inventory: []ismsv1.KindSelector{{APIGroups: []string{"networking.k8s.io"}, Kinds: []string{"NetworkPolicy"}}},
	})
	tests := map[string]struct {
		gk   schema.GroupKind
		want []string
	}{
		"subject kind, sorted":  {gk: deploymentGVK.GroupKind(), want: []string{"a-deploy", "b-deploy"}},
		"inventory kind":        {gk: networkPolicyGVK.GroupKind(), want: []string{"netpol"}},
		"namespace":             {gk: NamespaceGroupKind, want: []string{"netpol"}},
		"other group same kind": {gk: schema.GroupKind{Group: "extensions", Kind: "Deployment"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := h.ev.ControlsTargeting(tc.gk); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ControlsTargeting(%v) = %q, want %q", tc.gk, got, tc.want)
			}
		})
	}
}

func TestSubjectsWithoutUID(t *testing.T) {
	// Objects built offline have no uid: they must still be told apart.
	noUID := func(s *Subject) *Subject { s.UID = ""; return s }
	tests := map[string]struct {
		subjects    []*Subject
		wantFailing int
		wantNS      []string
	}{
		"two deployments in one namespace": {
			subjects:    []*Subject{noUID(deploy(t, "ns-a", "web", "x")), noUID(deploy(t, "ns-a", "api", "y"))},
			wantFailing: 2,
			wantNS:      []string{"ns-a"},
		},
		"same name in two namespaces": {
			subjects:    []*Subject{noUID(deploy(t, "ns-a", "web", "x")), noUID(deploy(t, "ns-b", "web", "y"))},
			wantFailing: 2,
			wantNS:      []string{"ns-a", "ns-b"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, policy.Options{})
			h.setControl(ControlDefinition{Name: "ctl", Generation: 1, Targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment")}, Policy: h.compile(privilegedPolicy)})
			for _, s := range tc.subjects {
				h.upsert(s)
			}
			h.sweep("ctl")
			sum := h.ev.Summarize("ctl")
			if sum.Evaluated != len(tc.subjects) || sum.Failing != tc.wantFailing || !reflect.DeepEqual(sum.FailingNamespaces, tc.wantNS) {
				t.Errorf("evaluated %d failing %d namespaces %q; want %d %d %q",
					sum.Evaluated, sum.Failing, sum.FailingNamespaces, len(tc.subjects), tc.wantFailing, tc.wantNS)
			}
			if affected := h.delete(tc.subjects[0]); !reflect.DeepEqual(affected, []string{"ctl"}) {
				t.Errorf("delete: affected = %q, want [ctl]", affected)
			}
			if sum := h.ev.Summarize("ctl"); sum.Failing != tc.wantFailing-1 || sum.Evaluated != len(tc.subjects)-1 {
				t.Errorf("after delete: evaluated %d failing %d; want %d %d", sum.Evaluated, sum.Failing, len(tc.subjects)-1, tc.wantFailing-1)
			}
		})
	}
}

// An event that arrives while a sweep evaluates keeps its result: it saw the newer object.
func TestEventDuringSweepWins(t *testing.T) {
	ctx := context.Background()
	inv := policy.NewInventory()
	p, err := policy.NewEngine(inv, policy.Options{}).Compile(ctx, `package sweep.race

violation contains {"msg": "privileged"} if input.review.object.privileged`)
	if err != nil {
		t.Fatal(err)
	}
	gvk := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	subject := func(name string, privileged bool) *Subject {
		v, _ := ast.InterfaceToValue(map[string]any{"privileged": privileged})
		return &Subject{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name)}, GVK: gvk, Value: v}
	}
	e := NewEvaluator(inv, "isms-system", nil)
	if err := e.SetControl(ControlDefinition{Name: "c", Generation: 1, Policy: p, Targets: ismsv1.Targets{
		Kinds: []ismsv1.KindSelector{{APIGroups: []string{"apps"}, Kinds: []string{"Deployment"}}},
	}}); err != nil {
		t.Fatal(err)
	}
	// The sweep reads "a" as privileged and "b" as fine; meanwhile events fix "a", break "b",
	// add a privileged "c" and delete "d".
	stale := []*Subject{subject("a", true), subject("b", false), subject("d", true)}
	e.afterSweepSnapshot = func() {
		for _, s := range []*Subject{subject("a", false), subject("b", true), subject("c", true)} {
			if _, err := e.Upsert(ctx, s); err != nil {
				t.Error(err)
			}
		}
		if _, err := e.Delete(ctx, subject("d", true)); err != nil {
			t.Error(err)
		}
	}
	if err := e.Sweep(ctx, "c", stale); err != nil {
		t.Fatal(err)
	}
	failures, _ := e.Failures("c", "ns")
	var failing []string
	for _, f := range failures {
		failing = append(failing, f.Subject.Name)
	}
	if strings.Join(failing, ",") != "b,c" {
		t.Errorf("failing after the sweep = %v, want [b c]: the events' results are newer", failing)
	}
	if sum := e.Summarize("c"); sum.Evaluated != 3 || !sum.Swept {
		t.Errorf("evaluated = %d (swept %v), want 3 subjects: a, b, c", sum.Evaluated, sum.Swept)
	}
}

// A sweep whose control changed meanwhile does not overwrite the results with stale ones.
func TestSweepOfAChangedControlIsDiscarded(t *testing.T) {
	ctx := context.Background()
	inv := policy.NewInventory()
	engine := policy.NewEngine(inv, policy.Options{})
	failAll, _ := engine.Compile(ctx, "package p1\n\nviolation contains {\"msg\": \"x\"} if true")
	passAll, _ := engine.Compile(ctx, "package p2\n\nviolation contains {\"msg\": \"x\"} if false")
	targets := ismsv1.Targets{Kinds: []ismsv1.KindSelector{{APIGroups: []string{"apps"}, Kinds: []string{"Deployment"}}}}
	e := NewEvaluator(inv, "isms-system", nil)
	if err := e.SetControl(ControlDefinition{Name: "c", Generation: 1, Policy: failAll, Targets: targets}); err != nil {
		t.Fatal(err)
	}
	v, _ := ast.InterfaceToValue(map[string]any{})
	subjects := []*Subject{{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "ns", UID: "uid-a"}, GVK: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, Value: v}}
	e.afterSweepSnapshot = func() {
		if err := e.SetControl(ControlDefinition{Name: "c", Generation: 2, Policy: passAll, Targets: targets}); err != nil {
			t.Error(err)
		}
	}
	if err := e.Sweep(ctx, "c", subjects); err != nil {
		t.Fatal(err)
	}
	if sum := e.Summarize("c"); sum.Failing != 0 || sum.Swept {
		t.Errorf("after a sweep of generation 1 finished under generation 2: failing %d, swept %v; want 0 and not swept", sum.Failing, sum.Swept)
	}
	if !e.NeedsSweep("c") {
		t.Error("the control must still need a sweep")
	}
}

// A sweep lists its subjects only once it has marked its controls as sweeping: an event
// handled while the watch's store is being listed (here, from inside the list) is newer than
// what the list returns, and its result stands.
func TestSweepListsAfterItsSnapshot(t *testing.T) {
	ctx := context.Background()
	inv := policy.NewInventory()
	p, err := policy.NewEngine(inv, policy.Options{}).Compile(ctx, "package p\n\nviolation contains {\"msg\": \"x\"} if input.review.object.privileged")
	if err != nil {
		t.Fatal(err)
	}
	gvk := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	subject := func(privileged bool) *Subject {
		v, _ := ast.InterfaceToValue(map[string]any{"privileged": privileged})
		return &Subject{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "ns", UID: "uid-a"}, GVK: gvk, Value: v}
	}
	e := NewEvaluator(inv, "isms-system", nil)
	if err := e.SetControl(ControlDefinition{Name: "c", Generation: 1, Policy: p, Targets: ismsv1.Targets{
		Kinds: []ismsv1.KindSelector{{APIGroups: []string{"apps"}, Kinds: []string{"Deployment"}}},
	}}); err != nil {
		t.Fatal(err)
	}
	stale := subject(true)
	if err := e.Sweep(ctx, "c", []*Subject{stale}); err != nil { // events now evaluate "c"
		t.Fatal(err)
	}
	list := func() []*Subject {
		if _, err := e.Upsert(ctx, subject(false)); err != nil { // the fix lands mid-list
			t.Error(err)
		}
		return []*Subject{stale}
	}
	if _, err := e.SweepControls(ctx, []string{"c"}, list); err != nil {
		t.Fatal(err)
	}
	if sum := e.Summarize("c"); sum.Failing != 0 {
		t.Errorf("failing = %d after the event fixed the object during the list, want 0", sum.Failing)
	}
}

// An update of an object that keeps failing in the same way does not wake the controls that
// target it, however long ago its Finding was written: lastSeen moves at sweeps.
func TestUnchangedFailureAffectsNoControl(t *testing.T) {
	ctx := context.Background()
	inv := policy.NewInventory()
	p, err := policy.NewEngine(inv, policy.Options{}).Compile(ctx, `package unchanged

violation contains {"msg": sprintf("image %s", [input.review.object.image])} if input.review.object.privileged`)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	e := NewEvaluator(inv, "isms-system", func() time.Time { return now })
	if err := e.SetControl(ControlDefinition{Name: "c", Generation: 1, Policy: p, Targets: ismsv1.Targets{
		Kinds: []ismsv1.KindSelector{{APIGroups: []string{"apps"}, Kinds: []string{"Deployment"}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := e.Sweep(ctx, "c", nil); err != nil { // events evaluate only swept controls
		t.Fatal(err)
	}
	subject := func(privileged bool, image string) *Subject {
		v, _ := ast.InterfaceToValue(map[string]any{"privileged": privileged, "image": image})
		return &Subject{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "ns", UID: "uid-a"},
			GVK: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, Value: v}
	}
	steps := []struct {
		what    string
		advance time.Duration
		subject *Subject
		want    bool
	}{
		{"starts failing", 0, subject(true, "x:1"), true},
		{"fails the same way a second later", time.Second, subject(true, "x:1"), false},
		{"fails with another message", time.Second, subject(true, "x:2"), true},
		{"fails the same way after lastSeen would be due", 10 * finding.LastSeenResolution, subject(true, "x:2"), false},
		{"passes", time.Second, subject(false, "x:2"), true},
		{"passes again", time.Second, subject(false, "x:2"), false},
	}
	for _, step := range steps {
		now = now.Add(step.advance)
		affected, err := e.Upsert(ctx, step.subject)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(affected) == 1; got != step.want {
			t.Errorf("%s: affected = %v, want the control affected: %v", step.what, affected, step.want)
		}
	}
}

// Events skip a control that waits for its first sweep (that sweep lists the object anyway),
// and every change of a swept control's results marks the namespace of its Finding dirty, once.
func TestEventsSkipUnsweptControlsAndMarkNamespacesDirty(t *testing.T) {
	ctx := context.Background()
	inv := policy.NewInventory()
	p, err := policy.NewEngine(inv, policy.Options{}).Compile(ctx, `package dirty

violation contains {"msg": "privileged"} if input.review.object.privileged`)
	if err != nil {
		t.Fatal(err)
	}
	e := NewEvaluator(inv, "isms-system", nil)
	if err := e.SetControl(ControlDefinition{Name: "c", Generation: 1, Policy: p, Targets: ismsv1.Targets{
		Kinds: []ismsv1.KindSelector{{APIGroups: []string{"apps"}, Kinds: []string{"Deployment"}}},
	}}); err != nil {
		t.Fatal(err)
	}
	subject := func(ns, name string, privileged bool) *Subject {
		v, _ := ast.InterfaceToValue(map[string]any{"privileged": privileged})
		return &Subject{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID(ns + "/" + name), Labels: map[string]string{"team": ns}},
			GVK: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, Value: v}
	}
	upsert := func(s *Subject) []string {
		t.Helper()
		affected, err := e.Upsert(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		return affected
	}

	if got := upsert(subject("a", "x", true)); len(got) != 0 {
		t.Errorf("an event before the first sweep affected %v, want nothing", got)
	}
	if sum := e.Summarize("c"); sum.Evaluated != 0 {
		t.Errorf("an event before the first sweep evaluated %d subjects, want 0", sum.Evaluated)
	}
	if err := e.Sweep(ctx, "c", []*Subject{subject("a", "x", true), subject("b", "y", false)}); err != nil {
		t.Fatal(err)
	}
	if dirty, all := e.TakeDirty("c"); !all || !slices.Equal(dirty, []string{"a"}) {
		t.Errorf("after a sweep: dirty %v all %v, want [a] and all", dirty, all)
	}
	if dirty, all := e.TakeDirty("c"); all || len(dirty) != 0 {
		t.Errorf("taken twice: dirty %v all %v, want nothing", dirty, all)
	}

	upsert(subject("b", "y", true)) // starts failing
	upsert(subject("a", "x", true)) // fails as before: not dirty
	if dirty, _ := e.TakeDirty("c"); !slices.Equal(dirty, []string{"b"}) {
		t.Errorf("after b failed: dirty %v, want [b]", dirty)
	}
	upsert(subject("a", "x", false)) // passes: its Finding resolves
	if _, err := e.Delete(ctx, subject("b", "y", true)); err != nil {
		t.Fatal(err)
	}
	if dirty, _ := e.TakeDirty("c"); !slices.Equal(dirty, []string{"a", "b"}) {
		t.Errorf("after a passed and b was deleted: dirty %v, want [a b]", dirty)
	}

	if !e.MarkDirty("c", "z") || e.MarkDirty("unknown", "z") {
		t.Error("MarkDirty must report whether the control is known")
	}
	if dirty, _ := e.TakeDirty("c"); !slices.Equal(dirty, []string{"z"}) {
		t.Errorf("after MarkDirty: dirty %v, want [z]", dirty)
	}

	upsert(subject("a", "x", true)) // fails again
	if !e.MarkAllDirty("c") || e.MarkAllDirty("unknown") {
		t.Error("MarkAllDirty must report whether the control is known")
	}
	if dirty, all := e.TakeDirty("c"); !all || !slices.Equal(dirty, []string{"a"}) {
		t.Errorf("after MarkAllDirty: dirty %v all %v, want [a] and all", dirty, all)
	}
	if res, _ := e.Failures("c", "a"); len(res) != 1 || res[0].Subject.Labels["team"] != "a" {
		t.Errorf("failures of a = %+v, want x with its labels", res)
	}
}

// One sweep of several controls evaluates each subject against the controls that match it, and
// gives each control the same results as a sweep of its own; an unknown control is skipped.
func TestSweepControlsMatchesSeparateSweeps(t *testing.T) {
	build := func() *harness {
		h := newHarness(t, policy.Options{})
		h.setControl(ControlDefinition{Name: "privileged", Generation: 1, Policy: h.compile(privilegedPolicy),
			Targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment"), ExcludedNamespaces: []string{"kube-system"}}})
		h.setControl(ControlDefinition{Name: "owner", Generation: 1, Policy: h.compile(ownerPolicy),
			Targets: ismsv1.Targets{Kinds: kinds("", "Namespace")}})
		for _, s := range []*Subject{
			namespace(t, "a", map[string]string{"owner": "team-a"}),
			namespace(t, "b", nil),
			deploy(t, "a", "web"),
			deploy(t, "a", "agent", "sidecar"),
			deploy(t, "b", "db", "main"),
			deploy(t, "kube-system", "proxy", "main"),
		} {
			h.subjects[s.Key()] = s
		}
		return h
	}
	all := func(h *harness) []*Subject { return slices.Collect(maps.Values(h.subjects)) }

	together := build()
	swept, err := together.ev.SweepControls(together.ctx, []string{"privileged", "owner", "gone"}, func() []*Subject { return all(together) })
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"owner", "privileged"}; !slices.Equal(slices.Sorted(slices.Values(swept)), want) {
		t.Errorf("swept %v, want %v", swept, want)
	}
	separate := build()
	separate.sweep("privileged")
	separate.sweep("owner")

	for _, control := range []string{"privileged", "owner"} {
		got, want := together.ev.Summarize(control), separate.ev.Summarize(control)
		got.LastEvaluated, got.LastSweep, want.LastEvaluated, want.LastSweep = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: one sweep gives %+v, separate sweeps %+v", control, got, want)
		}
		for _, ns := range []string{"a", "b", "kube-system", clusterNS} {
			if got, want := together.failures(control, ns), separate.failures(control, ns); !slices.Equal(got, want) {
				t.Errorf("%s in %s: one sweep fails %v, separate sweeps %v", control, ns, got, want)
			}
		}
	}
	if got := together.ev.Summarize("privileged"); got.Evaluated != 3 || got.Failing != 2 {
		t.Errorf("privileged: evaluated %d failing %d, want 3 and 2 (kube-system excluded)", got.Evaluated, got.Failing)
	}
	if got := together.failures("owner", clusterNS); len(got) != 1 || !strings.Contains(got[0], "Namespace b") {
		t.Errorf("owner failures %v, want namespace b only", got)
	}
}

// A watch may deliver an object's event after a sweep has evaluated that very object (the
// initial list of a watch): the event evaluates it again only if it is a new instance.
func TestEventForAnObjectTheSweepEvaluatedIsSkipped(t *testing.T) {
	h := newHarness(t, policy.Options{})
	h.setControl(ControlDefinition{Name: "privileged", Generation: 1, Policy: h.compile(privilegedPolicy),
		Targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment")}})
	web := deploy(t, "a", "web", "sidecar")
	h.subjects[web.Key()] = web
	h.sweep("privileged")
	swept := h.ev.Summarize("privileged").LastEvaluated

	h.tick()
	h.upsert(web)
	if got := h.ev.Summarize("privileged").LastEvaluated; !got.Equal(swept) {
		t.Errorf("the object the sweep evaluated was evaluated again at %v", got)
	}
	h.upsert(web.DeepCopyObject().(*Subject))
	if got := h.ev.Summarize("privileged").LastEvaluated; !got.Equal(h.clock) {
		t.Errorf("a new instance of the object was not evaluated: last evaluated %v, want %v", got, h.clock)
	}
	if got := h.failures("privileged", "a"); len(got) != 1 {
		t.Errorf("failures %v, want web", got)
	}
}

// A kind enters data.inventory when a control first names it under spec.inventory: what the
// watch already holds is loaded then, and events keep it current afterwards. Kinds no control
// reads are not kept there.
func TestInventoryHoldsTheKindsControlsRead(t *testing.T) {
	h := newHarness(t, policy.Options{})
	// Objects the watches held before any control read them.
	for _, s := range []*Subject{
		namespace(t, "ns-a", nil), namespace(t, "ns-b", nil), namespace(t, "ns-c", nil),
		networkPolicy(t, "ns-b", "default-deny"),
	} {
		h.upsert(s)
	}
	// What a policy sees.
	inInventory := func(path ...string) bool {
		t.Helper()
		quoted, _ := json.Marshal(path)
		probe := h.compile("package probe\n\nviolation contains {\"msg\": \"present\"} if object.get(data.inventory, " + string(quoted) + ", null) != null\n")
		res, err := probe.Evaluate(h.ctx, policy.Input{Object: ast.NewObject()})
		if err != nil {
			t.Fatal(err)
		}
		return len(res.Violations) > 0
	}
	if inInventory("namespace", "ns-b", "networking.k8s.io/v1", "NetworkPolicy", "default-deny") {
		t.Fatal("a NetworkPolicy is in data.inventory before any control reads NetworkPolicies")
	}

	def := ControlDefinition{
		Name: "netpol", Generation: 1, Targets: ismsv1.Targets{Kinds: kinds("", "Namespace")},
		Inventory: []ismsv1.KindSelector{{APIGroups: []string{"networking.k8s.io"}, Kinds: []string{"NetworkPolicy"}}},
		Policy:    h.compile(netpolPolicy),
	}
	h.setControl(def)
	h.sweep(def.Name)
	if got, want := h.failures(def.Name, clusterNS), []string{
		"Namespace ns-a: namespace has no NetworkPolicy", "Namespace ns-c: namespace has no NetworkPolicy",
	}; !slices.Equal(got, want) {
		t.Errorf("failures = %q, want %q (the NetworkPolicy listed before the control was not loaded)", got, want)
	}
	if inInventory("cluster", "v1", "Namespace", "ns-a") {
		t.Error("a Namespace is in data.inventory, though no control reads Namespaces from it")
	}

	// Afterwards, events keep the kind current.
	h.upsert(networkPolicy(t, "ns-c", "default-deny"))
	h.delete(networkPolicy(t, "ns-b", "default-deny"))
	h.sweep(def.Name)
	if got, want := h.failures(def.Name, clusterNS), []string{
		"Namespace ns-a: namespace has no NetworkPolicy", "Namespace ns-b: namespace has no NetworkPolicy",
	}; !slices.Equal(got, want) {
		t.Errorf("after events: failures = %q, want %q", got, want)
	}
}

func TestNonPassingListsFailingOfEveryNamespaceAndErrored(t *testing.T) {
	const privilegedOrConflict = `package isms.both

mode = "a" if input.review.object.metadata.labels.mode
mode = "b" if input.review.object.metadata.labels.mode

violation contains {"msg": mode} if mode

violation contains {"msg": "privileged"} if {
	some c in input.review.object.spec.template.spec.containers
	c.securityContext.privileged
}`
	h := newHarness(t, policy.Options{})
	h.setControl(ControlDefinition{Name: "ctl", Generation: 1, Targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment")}, Policy: h.compile(privilegedOrConflict)})
	for _, s := range []*Subject{
		deploy(t, "ns-a", "bad-a", "root"),
		deploy(t, "ns-b", "bad-b", "root"),
		labelledDeploy(t, "ns-b", "odd", map[string]string{"mode": "x"}),
		deploy(t, "ns-a", "good"),
	} {
		h.upsert(s)
	}
	h.sweep("ctl")
	failing, errored := h.ev.NonPassing("ctl")
	var names []string
	for _, r := range failing {
		names = append(names, r.Subject.Namespace+"/"+r.Subject.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"ns-a/bad-a", "ns-b/bad-b"}) {
		t.Errorf("failing = %q, want ns-a/bad-a and ns-b/bad-b", names)
	}
	if len(errored) != 1 || errored[0].Subject.Name != "odd" || errored[0].Err == "" {
		t.Errorf("errored = %+v, want odd with its error", errored)
	}
	if f, e := h.ev.NonPassing("unknown"); f != nil || e != nil {
		t.Errorf("unknown control: %v, %v; want nothing", f, e)
	}
}

// TestProgressCountsEventsAndSweeps: the liveness heartbeat grows with every event and with
// every subject a sweep evaluates.
func TestProgressCountsEventsAndSweeps(t *testing.T) {
	h := newHarness(t, policy.Options{})
	a, b := deploy(t, "ns-a", "a"), deploy(t, "ns-a", "b", "privileged")
	h.upsert(a)
	h.upsert(b)
	if got := h.ev.Progress(); got != 2 {
		t.Fatalf("after 2 events, Progress() = %d, want 2", got)
	}
	h.setControl(ControlDefinition{Name: "ctl", Generation: 1, Targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment")}, Policy: h.compile(privilegedPolicy)})
	h.sweep("ctl")
	if got := h.ev.Progress(); got != 4 {
		t.Fatalf("after a sweep of 2 subjects, Progress() = %d, want 4", got)
	}
	h.delete(a)
	if got := h.ev.Progress(); got != 5 {
		t.Errorf("after a deletion, Progress() = %d, want 5", got)
	}
}
